package org.mtlora.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.io.SafeTensorsReader;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.swin.SwinConfig;

/** Runs the documented example end to end on a tiny backbone with a "pretrained" checkpoint in official names. */
class BuildingBlocksExampleTest {
  @TempDir Path dir;

  @Test
  void exampleRunsAndWritesItsFiles() throws Exception {
    SwinConfig swin = SwinConfig.builder().imgSize(32).patchSize(4).embedDim(8).depths(2, 1).numHeads(1, 2)
        .windowSize(4).build();
    List<String> tasks = List.of("semseg", "human_parts", "sal", "normals");
    // A stand-in for the ImageNet checkpoint: a plain Swin's parameters under the official names.
    Path pretrained = Pretrained.write(swin, dir.resolve("swin_official.safetensors"), 42);

    MultiTaskModel model = new MultiTaskModel(MultiTaskConfig.pascal(swin, AdapterConfig.mtlora(16, 4), tasks));
    Path run = dir.resolve("run");
    Path adapters = BuildingBlocksExample.fineTune(swin, pretrained,
        BuildingBlocksExample.repeat(org.mtlora.heads.TrainerTest.batch(model, 1)), 4, run);

    assertTrue(Files.size(run.resolve("loss.png")) > 1000);
    assertEquals(5, Files.readAllLines(run.resolve("log.csv")).size());
    try (SafeTensorsReader r = SafeTensorsReader.open(adapters)) {
      ParameterRegistry reg = model.newRegistry(0);
      long buffers = reg.specs().stream().filter(ParamSpec::isBuffer).count();
      assertEquals(reg.trainableNames().size() + buffers, r.tensors().size());
      assertTrue(r.contains("backbone.layers.0.blocks.1.mlp.fc1.lora_tasks_A.semseg"));
    }
  }
}
