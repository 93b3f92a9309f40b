package org.mtlora.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.data.SyntheticPascal;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.swin.SwinCheckpoints;

/**
 * {@code train --spark-master local[2]} on a generated PASCAL-format set with the demo's small backbone, as a user
 * runs it: the same run folder as single-machine training, the exchange printed; options checked before any work.
 */
class SparkTrainCommandTest {
  @TempDir Path dir;

  private static int run(StringWriter out, StringWriter err, String... args) {
    var cl = MtloraCommand.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    return cl.execute(args);
  }

  private String[] train(Path data, Path weights, Path runDir, String... extra) {
    List<String> args = new ArrayList<>(List.of("train", "--pascal", data.toString(), "--backbone-weights",
        weights.toString(), "--backbone", "demo", "--shared-rank", "4", "--batch", "4", "--epochs", "1",
        "--warmup-epochs", "0", "--run-dir", runDir.toString()));
    args.addAll(List.of(extra));
    return args.toArray(String[]::new);
  }

  private static List<String> files(Path root) throws Exception {
    try (Stream<Path> s = Files.walk(root)) {
      return s.filter(Files::isRegularFile).map(p -> root.relativize(p).toString()).sorted().toList();
    }
  }

  @Test
  void trainsOnLocalSparkWorkersIntoTheSameRunFolderAsOneMachine() throws Exception {
    Path data = dir.resolve("data");
    SyntheticPascal.generate(data, 8, 2, 64, 1);
    Path weights = dir.resolve("backbone.safetensors");
    SwinCheckpoints.savePretrained(weights, new MultiTaskModel(MultiTaskConfig.pascal(DemoCommand.backbone(),
        AdapterConfig.fullFineTuning())).newRegistry(5));

    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    Path spark = dir.resolve("spark");
    int status = run(out, err, train(data, weights, spark, "--spark-master", "local[2]"));
    assertEquals(0, status, out + "\n" + err);
    assertTrue(out.toString().contains("training 2 steps (1 epochs of 2), batch 4 over 2 Spark workers (local[2,4])"),
        out.toString());
    assertTrue(out.toString().contains("exchanged per step:") && out.toString().contains("0 failed task(s)"),
        out.toString());
    assertEquals(3, Files.readAllLines(spark.resolve("log.csv")).size(), "header + one row per step");
    JsonNode metrics = new ObjectMapper().readTree(spark.resolve("metrics.json").toFile());
    assertTrue(metrics.has("semseg.mIoU") && metrics.has("normals.mean_angle"), metrics.toString());
    assertEquals(2, new ObjectMapper().readTree(spark.resolve("run.json").toFile()).get("data_parallel_workers")
        .asInt());

    Path single = dir.resolve("single");
    assertEquals(0, run(new StringWriter(), err, train(data, weights, single)), err.toString());
    assertEquals(files(single), files(spark), "the run folders hold different files");

    // a run of two workers does not resume on one machine: batch norm and masks would change mid-run
    StringWriter refused = new StringWriter();
    assertEquals(1, run(new StringWriter(), refused, train(data, weights, spark, "--resume", "auto")));
    assertTrue(refused.toString().contains("data_parallel_workers"), refused.toString());
  }

  @Test
  void sparkOptionsAreCheckedBeforeAnyWork() {
    Path none = dir.resolve("none");
    String[][] cases = {
        {"--spark-master", "local[2]", "--batch", "3"},
        {"--workers", "2"},
        {"--spark-master", "spark://host:7077"},
        {"--spark-master", "local[2]", "--workers", "0"},
    };
    String[] expected = {
        "--batch 3 does not split evenly over 2 Spark workers",
        "--workers needs --spark-master",
        "a cluster master needs --workers",
        "--workers must be >= 1",
    };
    for (int i = 0; i < cases.length; i++) {
      List<String> args = new ArrayList<>(List.of("train", "--pascal", dir.toString(), "--backbone-weights",
          dir.resolve("w.safetensors").toString(), "--run-dir", none.toString()));
      args.addAll(List.of(cases[i]));
      StringWriter err = new StringWriter();
      assertEquals(1, run(new StringWriter(), err, args.toArray(String[]::new)), String.join(" ", cases[i]));
      assertTrue(err.toString().contains(expected[i]), err.toString());
      assertTrue(!Files.exists(none), "a refused run created its folder");
    }
  }
}
