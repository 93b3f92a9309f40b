package org.mtlora.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.data.SyntheticPascal;

/**
 * {@code train} (Swin-T at 224, stage-wise activation checkpointing, its default) then {@code eval} with the adapters
 * it wrote, on a generated PASCAL-Context-layout set, as a user runs them.
 */
class TrainEvalCommandTest {
  @TempDir Path dir;

  private Path backboneWeights() throws Exception {
    return TestWeights.swinTiny(dir.resolve("swin_t.safetensors"), 3);
  }

  private static int run(StringWriter out, StringWriter err, String... args) {
    var cl = MtloraCommand.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    return cl.execute(args);
  }

  @Test
  void trainThenEvalOnAGeneratedSet() throws Exception {
    Path data = dir.resolve("data");
    SyntheticPascal.generate(data, 4, 2, 96, 1);
    Path weights = backboneWeights();
    Path runDir = dir.resolve("run");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = run(out, err, "train", "--pascal", data.toString(), "--backbone-weights", weights.toString(),
        "--img-size", "224", "--batch", "2", "--epochs", "1", "--warmup-epochs", "0", "--run-dir",
        runDir.toString());
    assertEquals(0, status, out + "\n" + err);
    assertTrue(out.toString().contains("training 2 steps"), out.toString());
    assertEquals(3, Files.readAllLines(runDir.resolve("log.csv")).size(), "header + one row per step");
    JsonNode metrics = new ObjectMapper().readTree(runDir.resolve("metrics.json").toFile());
    assertTrue(metrics.has("semseg.mIoU") && metrics.has("normals.mean_angle"), metrics.toString());

    // the adapter folder describes the model: eval needs no model option (here --img-size 224 is not repeated)
    StringWriter evalOut = new StringWriter();
    status = run(evalOut, err, "eval", "--pascal", data.toString(), "--backbone-weights", weights.toString(),
        "--batch", "2", "--adapters", runDir.resolve("adapters").toString());
    assertEquals(0, status, evalOut + "\n" + err);
    // eval of the saved adapters reproduces train's final evaluation (same weights, buffers and data)
    for (String key : List.of("semseg.mIoU", "sal.maxF", "normals.mean_angle")) {
      assertTrue(evalOut.toString().contains(String.format(java.util.Locale.ROOT, "%.2f",
          metrics.get(key).asDouble())), key + " " + metrics.get(key) + " in\n" + evalOut);
    }
    // a model option next to a folder is refused: the folder decides the model
    StringWriter refusedErr = new StringWriter();
    status = run(new StringWriter(), refusedErr, "eval", "--pascal", data.toString(), "--backbone-weights",
        weights.toString(), "--img-size", "224", "--adapters", runDir.resolve("adapters").toString());
    assertEquals(1, status);
    assertTrue(refusedErr.toString().contains("--img-size: the model comes from the adapter folder"),
        refusedErr.toString());
  }

  @Test
  void anUnknownCheckpointingModeIsOneClearLine() throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = run(out, err, "train", "--pascal", dir.toString(), "--backbone-weights",
        dir.resolve("none.safetensors").toString(), "--activation-checkpointing", "layer");
    assertNotEquals(0, status);
    assertTrue(err.toString().contains("unknown activation checkpointing 'layer'"), err.toString());
  }
}
