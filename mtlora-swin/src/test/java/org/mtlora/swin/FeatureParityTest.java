package org.mtlora.swin;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.mtlora.core.io.LoadReport;
import org.mtlora.core.io.Npy;
import org.mtlora.core.io.SafeTensorsReader;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.SessionMemory;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.testing.Fixtures;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/** Every backbone tensor of the reference's train-mode forward, from the fixture's weights and input. */
class FeatureParityTest {
  @Test
  void everyBackboneFeatureMatchesTheReference() throws Exception {
    Path tiny = Fixtures.tiny();
    ReferenceConfig cfg = ReferenceConfig.read(tiny.resolve("config.json"));
    SwinBackbone backbone = new SwinBackbone(cfg.swin(), cfg.lora());
    ParameterRegistry reg = new ParameterRegistry();
    backbone.declare(reg);
    reg.initialise(0);
    LoadReport report = SwinCheckpoints.loadBackbone(tiny.resolve("weights.safetensors"), reg, false);
    assertTrue(report.missing().isEmpty(), report.describe());
    assertTrue(report.shapeMismatches().isEmpty(), report.describe());
    for (String u : report.unexpected()) {
      assertTrue(u.startsWith("decoders.") || u.startsWith("downsampler."), "unexpected backbone key " + u);
    }
    reg.applyPolicy(cfg.lora().reductionAdapterEnabled() ? FreezePolicy.MTLORA_PLUS : FreezePolicy.MTLORA);

    // The trainable set equals the reference's (weights-index.json) for every backbone parameter.
    JsonNode index = new ObjectMapper().readTree(tiny.resolve("weights-index.json").toFile());
    Set<String> expectedTrainable = new TreeSet<>();
    Set<String> expectedParams = new TreeSet<>();
    for (JsonNode e : index) {
      String name = e.get("name").asText();
      if (name.startsWith("backbone.") && e.get("kind").asText().equals("parameter")) {
        expectedParams.add(name);
        if (e.get("trainable").asBoolean()) {
          expectedTrainable.add(name);
        }
      }
    }
    assertEquals(expectedParams, new TreeSet<>(reg.names(s -> true)));
    assertEquals(expectedTrainable, new TreeSet<>(reg.trainableNames()));

    SameDiff sd = SameDiff.create();
    GraphContext ctx = GraphContext.training(sd, reg, DataType.FLOAT);
    int img = cfg.swin().imgSize();
    SDVariable input = sd.placeHolder("input", DataType.FLOAT, -1, cfg.swin().inChans(), img, img);
    SwinBackbone.Features f = backbone.apply(ctx, input);
    INDArray x = Npy.read(tiny.resolve("input.npy"));

    List<String> names = new ArrayList<>();
    f.intermediates().values().forEach(v -> names.add(v.name()));
    SessionMemory.ensureSession(sd); // a training graph: its layer norms run in the library's session only
    Map<String, INDArray> out = sd.output(Map.of("input", x), names);
    List<String> failures = new ArrayList<>();
    int compared = 0;
    try (SafeTensorsReader ref = SafeTensorsReader.open(tiny.resolve("features.safetensors"))) {
      for (String key : ref.tensors().keySet()) {
        if (!key.startsWith("backbone.") && !key.startsWith("stage")) {
          continue; // decoder-side tensors belong to the multi-task model
        }
        SDVariable v = f.intermediates().get(key);
        assertTrue(v != null, "the backbone does not produce " + key);
        INDArray expected = ref.read(key);
        INDArray actual = out.get(v.name()).reshape(expected.shape());
        double err = Transforms.abs(actual.sub(expected)).maxNumber().doubleValue();
        double tol = 1e-4 + 1e-4 * Transforms.abs(expected).maxNumber().doubleValue();
        System.out.printf("[parity] %-40s max|diff| %.3e  tol %.3e%n", key, err, tol);
        if (!(err <= tol)) {
          failures.add(key + " max|diff| " + err + " > " + tol);
        }
        compared++;
      }
    }
    assertEquals(List.of(), failures);
    assertTrue(compared >= 25, "compared " + compared + " backbone tensors");
  }
}
