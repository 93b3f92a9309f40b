package org.mtlora.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine;

class BenchCommandTest {
  /** --gelu-scale k multiplies exactly the MLPs' first pretrained layers by k: weight and bias of each block. */
  @Test
  void geluScaleMultipliesOnlyTheFirstMlpLayers() {
    MultiTaskModel model =
        new MultiTaskModel(MultiTaskConfig.pascal(DemoCommand.backbone(), AdapterConfig.mtlora(4, 2)));
    ParameterRegistry before = model.newRegistry(0);
    ParameterRegistry after = model.newRegistry(0);
    assertEquals(8, BenchCommand.scaleMlpInputs(after, 3.0)); // 2 + 2 blocks, weight and bias each
    Map<String, INDArray> expected = new HashMap<>();
    before.specs().forEach(s -> expected.put(s.name(), before.get(s.name())));
    int scaled = 0;
    for (var s : after.specs()) {
      boolean fc1 = s.name().endsWith("mlp.fc1.linear.weight") || s.name().endsWith("mlp.fc1.linear.bias");
      INDArray want = fc1 ? expected.get(s.name()).mul(3.0) : expected.get(s.name());
      assertEquals(want, after.get(s.name()), s.name());
      scaled += fc1 ? 1 : 0;
    }
    assertEquals(8, scaled);
    assertEquals(8, BenchCommand.scaleMlpInputs(before, 1.0)); // counted, left as they are
    before.specs().forEach(s -> assertEquals(expected.get(s.name()), before.get(s.name()), s.name()));
  }

  @Test
  void geluScaleMustBePositiveAndFinite() {
    for (String bad : new String[] {"0", "-2", "NaN", "Infinity"}) {
      CommandLine cl = MtloraCommand.commandLine();
      StringWriter err = new StringWriter();
      cl.setOut(new PrintWriter(new StringWriter()));
      cl.setErr(new PrintWriter(err));
      assertEquals(1, cl.execute("bench", "--gelu-scale", bad), bad);
      assertTrue(err.toString().contains("--gelu-scale must be a finite number > 0, found "), err.toString());
    }
  }
}
