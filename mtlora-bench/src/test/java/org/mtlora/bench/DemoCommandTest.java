package org.mtlora.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

    // pictures of the predictions before and after fine-tuning, which differ
    for (String when : new String[] {"before", "after"}) {
      try (var files = Files.list(run.resolve("pictures").resolve(when))) {
        assertEquals(3 * 7, files.count(), "3 images x (figure, 4 tasks, 2 overlays) " + when);
      }
    }
    String id;
    try (var files = Files.list(run.resolve("pictures/after"))) {
      id = files.map(f -> f.getFileName().toString()).filter(f -> f.endsWith("_figure.png")).sorted().findFirst()
          .orElseThrow().replace("_figure.png", "");
    }
    assertFalse(java.util.Arrays.equals(Files.readAllBytes(run.resolve("pictures/before/" + id + "_semseg.png")),
        Files.readAllBytes(run.resolve("pictures/after/" + id + "_semseg.png"))));

    // export the merged model, then predict a JPEG from the adapter folder and from the exported file
    Path weights = run.resolve("pretrained-backbone.safetensors");
    Path model = dir.resolve("model.sd");
    assertEquals(0, MtloraCommand.commandLine().execute("export", "--adapters", run.resolve("adapters").toString(),
        "--backbone-weights", weights.toString(), "--out", model.toString()));
    Path jpeg = dir.resolve("data/JPEGImages/" + id + ".jpg");
    for (String[] source : new String[][] {{"--model", model.toString()},
        {"--adapters", run.resolve("adapters").toString(), "--backbone-weights", weights.toString()}}) {
      Path predicted = dir.resolve("predicted-" + source[0].substring(2));
      List<String> args = new java.util.ArrayList<>(List.of("predict", "--image", jpeg.toString(), "--out",
          predicted.toString()));
      args.addAll(List.of(source));
      assertEquals(0, MtloraCommand.commandLine().execute(args.toArray(String[]::new)), args.toString());
      for (String f : new String[] {"_figure.png", "_semseg.png", "_semseg_overlay.png", "_sal.png", "_normals.png",
          "_human_parts.png"}) {
        assertTrue(javax.imageio.ImageIO.read(predicted.resolve(id + f).toFile()).getWidth() >= 64, f);
      }
    }
  }
}
