package org.mtlora.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.data.SyntheticPascal;

/**
 * The fault test: a training process ({@code ./mtlora demo}, small: 4 pre-training and 12 fine-tuning steps with a
 * checkpoint every 2) killed with {@code destroyForcibly} (SIGKILL) and resumed with {@code --resume auto} ends with
 * byte-identical adapters, the same metrics and the same per-step losses as an uninterrupted run. Kill points: at
 * random moments (seeded), and as soon as a partial checkpoint file exists (a kill during a checkpoint write).
 */
class KillResumeTest {
  @TempDir static Path base;
  static Path data;
  static Path reference;

  private static final int STEPS = 12;

  @BeforeAll
  static void uninterruptedRun() throws Exception {
    data = base.resolve("data");
    SyntheticPascal.generate(data, 48, 16, 96, 0);
    reference = base.resolve("reference");
    Process p = start(reference, false);
    assertEquals(0, waitFor(p, reference), log(reference));
  }

  /**
   * The demo as its own JVM, with the test's class path and the vector API that {@code ./mtlora} adds (so a resumed
   * run is checked with the GELU's erfc on the vector kernel), writing its output to {@code run}.log.
   */
  private static Process start(Path run, boolean resume) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-modules", "jdk.incubator.vector", "-Xmx2g", "-Dorg.bytedeco.javacpp.maxbytes=6G", "-Dorg.bytedeco.javacpp.maxphysicalbytes=8G",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"),
        MtloraCommand.class.getName(), "demo", "--data", data.toString(), "--run-dir", run.toString(),
        "--pretrain-steps", "4", "--steps", String.valueOf(STEPS), "--batch", "2", "--checkpoint-every", "2"));
    if (resume) {
      cmd.add("--resume");
      cmd.add("auto");
    }
    Files.createDirectories(run);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(run.resolveSibling(run.getFileName() + ".log").toFile()));
    pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
    return pb.start();
  }

  private static int waitFor(Process p, Path run) throws InterruptedException {
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("the demo did not end within 5 minutes:\n" + log(run));
    }
    return p.exitValue();
  }

  private static String log(Path run) {
    try {
      return Files.readString(run.resolveSibling(run.getFileName() + ".log"));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Test
  void killedAtRandomMomentsThenResumedEndsExactlyAsUninterrupted() throws Exception {
    Random random = new Random(20261201);
    for (int i = 0; i < 2; i++) {
      long delayMs = 4000 + random.nextInt(9000); // from start-up to the end of fine-tuning
      Path run = base.resolve("random-" + i);
      Process p = start(run, false);
      if (!p.waitFor(delayMs, TimeUnit.MILLISECONDS)) {
        p.destroyForcibly().waitFor();
      }
      resumeAndCompare(run, "killed after " + delayMs + " ms");
    }
  }

  @Test
  void killedDuringACheckpointWriteThenResumedEndsExactlyAsUninterrupted() throws Exception {
    Path run = base.resolve("during-write");
    Process p = start(run, false);
    Path checkpoints = run.resolve("checkpoints");
    boolean caught = false;
    while (p.isAlive() && !caught) {
      if (Files.isDirectory(checkpoints)) {
        try (Stream<Path> s = Files.list(checkpoints)) {
          caught = s.anyMatch(f -> f.getFileName().toString().endsWith(".tmp"));
        } catch (IOException e) {
          // the folder changed under us; look again
        }
      }
      if (caught) {
        p.destroyForcibly().waitFor();
      } else {
        Thread.sleep(1);
      }
    }
    resumeAndCompare(run, caught ? "killed while a checkpoint was being written" : "ran to the end (not caught)");
  }

  /** A second run on a folder another process trains in fails at once, naming the folder and that process. */
  @Test
  void aSecondWriterOfARunFolderIsRefused() throws Exception {
    Path run = base.resolve("held");
    Process p = start(run, false);
    try {
      Path lock = run.resolve(org.mtlora.core.train.RunFolder.LOCK);
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
      while (!(Files.exists(lock) && Files.readString(lock).trim().equals(String.valueOf(p.pid())))) {
        assertTrue(p.isAlive() && System.nanoTime() < deadline, "the demo never took its lock:\n" + log(run));
        Thread.sleep(20);
      }
      java.io.StringWriter out = new java.io.StringWriter();
      java.io.StringWriter err = new java.io.StringWriter();
      int status = BadInputTest.execute(out, err, "demo", "--data", data.toString(), "--run-dir", run.toString(),
          "--resume", "auto");
      assertEquals(1, status, out + "\n" + err);
      assertTrue(err.toString().contains("run folder " + run + " is in use by process " + p.pid()), err.toString());
    } finally {
      p.destroyForcibly().waitFor();
    }
  }

  private static void resumeAndCompare(Path run, String how) throws Exception {
    String left;
    try (Stream<Path> s = Files.isDirectory(run.resolve("checkpoints")) ? Files.list(run.resolve("checkpoints"))
        : Stream.empty()) {
      left = s.map(f -> f.getFileName().toString()).sorted().toList().toString();
    }
    System.out.println("[kill-resume] " + run.getFileName() + ": " + how + "; checkpoints left " + left);
    Process p = start(run, true);
    assertEquals(0, waitFor(p, run), how + "\n" + log(run));
    String context = how + "\n" + log(run);
    assertArrayEquals(Files.readAllBytes(reference.resolve("adapters/adapter_model.safetensors")),
        Files.readAllBytes(run.resolve("adapters/adapter_model.safetensors")), "adapters differ; " + context);
    ObjectMapper json = new ObjectMapper();
    JsonNode expected = json.readTree(reference.resolve("metrics.json").toFile());
    JsonNode actual = json.readTree(run.resolve("metrics.json").toFile());
    assertEquals(expected.get("before"), actual.get("before"), context);
    assertEquals(expected.get("after"), actual.get("after"), context);
    assertEquals(losses(reference), losses(run), "log.csv: one row per step, the same losses; " + context);
    try (Stream<Path> s = Files.list(run.resolve("checkpoints"))) {
      assertTrue(s.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")), "no partial file left; " + context);
    }
  }

  /** Every row of log.csv without its last column (the step's wall time). */
  private static List<String> losses(Path run) throws IOException {
    List<String> rows = new ArrayList<>();
    for (String line : Files.readAllLines(run.resolve("log.csv"))) {
      rows.add(line.substring(0, line.lastIndexOf(',')));
    }
    assertEquals(STEPS + 1, rows.size(), rows.toString());
    return rows;
  }
}
