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
    for (String f : new String[] {"log.csv", "loss.png", "adapters.safetensors", "adapters.json", "metrics.json",
        "pretrained-backbone.safetensors"}) {
      assertTrue(Files.size(run.resolve(f)) > 0, f);
    }
    assertTrue(Files.exists(dir.resolve("data/human_parts")), "the data set has the PASCAL layout");
    JsonNode m = new ObjectMapper().readTree(run.resolve("metrics.json").toFile());
    // Even a short fine-tuning beats untrained decoders on saliency and normals.
    assertTrue(m.at("/after/sal.mIoU").asDouble() > m.at("/before/sal.mIoU").asDouble(), m.toString());
    assertTrue(m.at("/after/normals.mean_angle").asDouble() < m.at("/before/normals.mean_angle").asDouble(),
        m.toString());
    assertTrue(out.toString().contains("metric (val)"), out.toString());
  }
}
