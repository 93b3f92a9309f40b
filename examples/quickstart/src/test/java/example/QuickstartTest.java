package example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.data.SyntheticPascal;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.swin.SwinCheckpoints;
import org.mtlora.swin.SwinConfig;

/** Runs the quickstart on a generated PASCAL-format data set, a tiny backbone and random "pretrained" weights. */
class QuickstartTest {
  @TempDir Path dir;

  @Test
  void fineTunesEvaluatesSavesAndReloads() throws Exception {
    SwinConfig swin = SwinConfig.builder().imgSize(32).patchSize(4).embedDim(8).depths(2, 1).numHeads(1, 2)
        .windowSize(4).build();
    Path data = dir.resolve("pascal");
    SyntheticPascal.generate(data, 4, 2, 48, 1);
    ParameterRegistry plain = new MultiTaskModel(MultiTaskConfig.pascal(swin, AdapterConfig.fullFineTuning()))
        .newRegistry(7);
    Path weights = dir.resolve("swin.safetensors");
    SwinCheckpoints.savePretrained(weights, plain);

    Map<String, Double> metrics = Quickstart.run(swin, data, weights, dir.resolve("out"), 3, 2);

    assertTrue(metrics.containsKey("semseg.mIoU") && metrics.containsKey("normals.mean_angle"), metrics.toString());
    assertTrue(Files.isRegularFile(dir.resolve("out/adapters/adapter_config.json")));
    assertEquals(4, Files.readAllLines(dir.resolve("out/run/log.csv")).size(), "header and three steps");
  }
}
