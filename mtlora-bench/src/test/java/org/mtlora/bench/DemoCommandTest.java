package org.mtlora.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A short demo run: every step of the workflow runs and the run folder holds its files. */
class DemoCommandTest {
  @TempDir Path dir;

  @Test
  void shortDemoWritesTheRunFolderAndImproves() throws Exception {
    StringWriter out = new StringWriter();
    var cl = MtloraCommand.commandLine();
    cl.setOut(new PrintWriter(out));
    Path run = dir.resolve("run");
    int status = cl.execute("demo", "--data", dir.resolve("data").toString(), "--run-dir", run.toString(),
        "--pretrain-steps", "10", "--steps", "12");
    assertEquals(0, status, out.toString());
    for (String f : new String[] {"log.csv", "loss.png", "adapters/adapter_model.safetensors",
        "adapters/adapter_config.json", "metrics.json", "pretrained-backbone.safetensors"}) {
      assertTrue(Files.size(run.resolve(f)) > 0, f);
    }
    assertTrue(Files.exists(dir.resolve("data/human_parts")), "the data set has the PASCAL layout");
    JsonNode m = new ObjectMapper().readTree(run.resolve("metrics.json").toFile());
    // Even a short fine-tuning beats untrained decoders on saliency and normals.
    assertTrue(m.at("/after/sal.mIoU").asDouble() > m.at("/before/sal.mIoU").asDouble(), m.toString());
    assertTrue(m.at("/after/normals.mean_angle").asDouble() < m.at("/before/normals.mean_angle").asDouble(),
        m.toString());
    assertTrue(out.toString().contains("metric (val)"), out.toString());

    // the demo's adapter folder is evaluated with no model option and gives the demo's final metrics
    StringWriter evalOut = new StringWriter();
    var eval = MtloraCommand.commandLine();
    eval.setOut(new PrintWriter(evalOut));
    status = eval.execute("eval", "--adapters", run.resolve("adapters").toString(), "--backbone-weights",
        run.resolve("pretrained-backbone.safetensors").toString(), "--pascal", dir.resolve("data").toString(),
        "--batch", "4");
    assertEquals(0, status, evalOut.toString());
    for (String key : new String[] {"semseg.mIoU", "sal.mIoU", "normals.mean_angle"}) {
      String expected = String.format(java.util.Locale.ROOT, "%.2f", m.at("/after/" + key).asDouble());
      assertTrue(evalOut.toString().contains(expected), key + " " + expected + " in\n" + evalOut);
    }
  }
}
