package org.mtlora.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.MtLoraModel;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.train.BatchSource;
import org.mtlora.heads.AdapterFolder;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.heads.TrainerTest;
import org.mtlora.swin.SwinConfig;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Runs the README's short path end to end on a tiny backbone with a "pretrained" checkpoint in official names. */
class FineTuningExampleTest {
  @TempDir Path dir;

  @Test
  void shortPathTrainsSavesReloadsAndPredictsTheSame() throws Exception {
    SwinConfig swin = SwinConfig.builder().imgSize(32).patchSize(4).embedDim(8).depths(2, 1).numHeads(1, 2)
        .windowSize(4).build();
    Path pretrained = Pretrained.write(swin, dir.resolve("swin_official.safetensors"), 42);
    MultiTaskModel shape = new MultiTaskModel(MultiTaskConfig.pascal(swin, AdapterConfig.mtlora(16, 4)));
    Map<String, INDArray> batch = TrainerTest.batch(shape, 1);
    BatchSource data = step -> batch;
    Path run = dir.resolve("run");

    Map<String, INDArray> predicted = FineTuningExample.fineTune(swin, pretrained, data, data, 4, run);

    assertTrue(Files.size(run.resolve("loss.png")) > 1000);
    assertEquals(5, Files.readAllLines(run.resolve("log.csv")).size());
    assertTrue(Files.isRegularFile(run.resolve("adapters").resolve(AdapterFolder.CONFIG)));
    assertEquals(List.of("semseg", "normals", "sal", "human_parts"), List.copyOf(predicted.keySet()));
    assertEquals(List.of(2L, 21L, 32L, 32L), List.of(predicted.get("semseg").shape()[0],
        predicted.get("semseg").shape()[1], predicted.get("semseg").shape()[2], predicted.get("semseg").shape()[3]));
    // the reloaded model is the trained one: a second reload predicts bit for bit the same
    MtLoraModel again = MtLoraModel.fromAdapters(run.resolve("adapters"), pretrained);
    Map<String, INDArray> second = again.predict(batch.get("input"));
    predicted.forEach((task, v) -> assertEquals(v, second.get(task), task));
    // and training changed it: the untrained model predicts something else
    Map<String, INDArray> untrained = MtLoraModel.create(shape.config(), pretrained).predict(batch.get("input"));
    assertTrue(predicted.keySet().stream().anyMatch(t -> !predicted.get(t).equalsWithEps(untrained.get(t), 1e-6)));
  }
}
