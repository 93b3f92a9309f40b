package org.mtlora.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.FitResult;
import org.mtlora.MtLoraModel;
import org.mtlora.TrainingConfig;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.train.BatchSource;
import org.mtlora.core.train.StepResult;
import org.mtlora.examples.Pretrained;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.swin.SwinConfig;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A task the library does not know ({@link DepthTask}, test tree only) trains, evaluates, saves and loads next to the
 * PASCAL-Context tasks through the public API: proof that nothing in main code depends on which tasks exist.
 */
class FifthTaskTest {
  @TempDir Path dir;

  @Test
  void aTaskDefinedOutsideTheLibraryTrainsEvaluatesSavesAndLoads() throws Exception {
    SwinConfig swin = SwinConfig.builder().imgSize(32).patchSize(4).embedDim(8).depths(2, 1).numHeads(1, 2)
        .windowSize(4).build();
    Path weights = Pretrained.write(swin, dir.resolve("w.safetensors"), 3);
    MultiTaskConfig config = MultiTaskConfig.builder(swin, AdapterConfig.mtlora(4, 2))
        .tasks(PascalTasks.all()).task(new DepthTask(), 0.5).build();
    MtLoraModel model = MtLoraModel.create(config, weights);
    assertTrue(model.trainableParameters().trainablePerTask().get("depth") > 0, "depth has its own adapters");
    assertTrue(model.parameters().contains("backbone.layers.0.blocks.1.mlp.fc1.lora_tasks_A.depth"));

    // every task, the new one included, supplies its own valid random target
    BatchSource data = step -> {
      SplittableRandom r = new SplittableRandom(step);
      Map<String, INDArray> b = new HashMap<>();
      b.put("input", Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 2, 3, 32, 32).subi(0.5));
      config.tasks().forEach(t -> b.put(t.targetName(), t.randomTarget(2, 32, r)));
      return b;
    };
    List<StepResult> steps = new ArrayList<>();
    FitResult fit = model.fit(data, TrainingConfig.builder(3).progress(false).listener(steps::add).build());
    assertEquals(3, fit.steps());
    for (StepResult s : steps) {
      assertTrue(Double.isFinite(s.taskLosses().get("depth")) && s.taskLosses().get("depth") > 0, s.toString());
    }

    Map<String, Double> metrics = model.evaluate(data, 2, Map.of("semseg", 50.0, "human_parts", 50.0, "sal", 50.0,
        "normals", 30.0, "depth", 1.0));
    double rmse = metrics.get("depth.rmse");
    assertTrue(rmse > 0 && Double.isFinite(rmse), metrics.toString());
    // Δm includes depth with its own sign (lower is better)
    double expected = 100.0 / 5 * ((metrics.get("semseg.mIoU") - 50) / 50 + (metrics.get("human_parts.mIoU") - 50) / 50
        + (metrics.get("sal.mIoU") - 50) / 50 - (metrics.get("normals.mean_angle") - 30) / 30 - (rmse - 1.0) / 1.0);
    assertEquals(expected, metrics.get("delta_m"), 1e-9);

    Path folder = dir.resolve("adapters");
    model.saveAdapters(folder);
    MtLoraModel back = MtLoraModel.fromAdapters(folder, weights, new DepthTask());
    assertEquals(config, back.config());
    INDArray x = data.batch(7).get("input");
    assertEquals(model.predict(x).get("depth"), back.predict(x).get("depth"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> MtLoraModel.fromAdapters(folder, weights));
    assertTrue(e.getMessage().contains("task 'depth' is not a PASCAL-Context task"), e.getMessage());
    assertFalse(e.getMessage().isEmpty());
  }
}
