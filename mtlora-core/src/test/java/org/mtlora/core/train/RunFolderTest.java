package org.mtlora.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunFolderTest {
  @TempDir Path tmp;

  private static final String RUN = "{\"model\": {\"rank\": 16}, \"seed\": 0}";

  private Path withCheckpoint(Path dir) throws IOException {
    Files.createDirectories(dir.resolve("checkpoints"));
    Files.writeString(dir.resolve("checkpoints/checkpoint-00000004.safetensors"), "x");
    return dir;
  }

  @Test
  void writesTheRunDescriptionAndHoldsTheFolderAlone() throws Exception {
    Path dir = tmp.resolve("run");
    try (RunFolder f = RunFolder.open(dir, RUN, RunFolder.Existing.REFUSE)) {
      assertEquals(RUN, Files.readString(dir.resolve(RunFolder.RUN_FILE)));
      assertEquals(String.valueOf(ProcessHandle.current().pid()), Files.readString(dir.resolve(RunFolder.LOCK)).trim());
      IOException e = assertThrows(IOException.class, () -> RunFolder.open(dir, RUN, RunFolder.Existing.RESUME));
      assertTrue(e.getMessage().contains("run folder " + dir + " is in use by process "
          + ProcessHandle.current().pid()), e.getMessage());
    }
    RunFolder.open(dir, RUN, RunFolder.Existing.RESUME).close(); // released: free again
  }

  @Test
  void aFreshRunRefusesAFolderHoldingCheckpoints() throws Exception {
    Path dir = withCheckpoint(tmp.resolve("run"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RunFolder.open(dir, RUN, RunFolder.Existing.REFUSE));
    assertTrue(e.getMessage().contains("already holds checkpoints of a run (newest: checkpoint-00000004"),
        e.getMessage());
    assertTrue(Files.exists(dir.resolve("checkpoints/checkpoint-00000004.safetensors")), "nothing deleted");
  }

  @Test
  void resumingRequiresTheSameRunDescription() throws Exception {
    Path dir = tmp.resolve("run");
    RunFolder.open(dir, RUN, RunFolder.Existing.REFUSE).close();
    withCheckpoint(dir);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RunFolder.open(dir, "{\"model\": {\"rank\": 8}, \"seed\": 0}", RunFolder.Existing.RESUME));
    assertTrue(e.getMessage().contains("holds a run of another configuration (run.json vs this run at model.rank: "
        + "16 vs 8)"), e.getMessage());
    assertEquals(RUN, Files.readString(dir.resolve(RunFolder.RUN_FILE)), "run.json untouched");
    try (RunFolder f = RunFolder.open(dir, RUN, RunFolder.Existing.RESUME)) {
      assertEquals(dir.resolve("checkpoints/checkpoint-00000004.safetensors"), f.latestCheckpoint().orElseThrow());
    }
  }

  @Test
  void replacingDeletesTheEarlierRunAndStalePartialFiles() throws Exception {
    Path dir = withCheckpoint(tmp.resolve("run"));
    Files.writeString(dir.resolve("log.csv"), "step,total_loss\n0,1\n");
    Files.writeString(dir.resolve("checkpoints/.checkpoint-00000006.safetensors.77.tmp"), "partial");
    try (RunFolder f = RunFolder.open(dir, RUN, RunFolder.Existing.REPLACE)) {
      assertTrue(f.latestCheckpoint().isEmpty());
      assertFalse(Files.exists(dir.resolve("log.csv")));
      try (var s = Files.list(dir.resolve("checkpoints"))) {
        assertEquals(List.of(), s.toList());
      }
    }
  }

  @Test
  void anUnwritableFolderIsReportedWithItsCause() throws Exception {
    Path file = Files.writeString(tmp.resolve("file"), "x");
    IOException e = assertThrows(IOException.class,
        () -> RunFolder.open(file.resolve("run"), RUN, RunFolder.Existing.REFUSE));
    assertTrue(e.getMessage().startsWith("run folder " + file.resolve("run") + " cannot be written: "),
        e.getMessage());
    e = assertThrows(IOException.class, () -> RunFolder.open(file, RUN, RunFolder.Existing.REFUSE));
    assertEquals("run folder " + file + " is a file, not a folder", e.getMessage());
  }

  /** A run resumed at step k keeps the log's rows of steps before k only: one row per step, always. */
  @Test
  void theLogIsCutBackToTheStepARunStartsFrom() throws Exception {
    Path log = tmp.resolve("log.csv");
    Files.writeString(log, "step,total_loss,lr\n0,1,0.1\n1,1,0.1\n2,1,0.1\n3,1,0.1\n4,1,0.1\n");
    CsvLog csv = new CsvLog(log);
    csv.onStart(2, 6);
    csv.onStep(new StepResult(2, 6, com.google.common.collect.ImmutableMap.of(), 0.5, 0.1, 1.0, 0.01));
    csv.onEnd();
    List<String> lines = Files.readAllLines(log);
    assertEquals(List.of("step,total_loss,lr", "0,1,0.1", "1,1,0.1"), lines.subList(0, 3));
    assertEquals(4, lines.size(), lines.toString());
    assertTrue(lines.get(3).startsWith("2,0.5"), lines.toString());
    new CsvLog(log).onStart(0, 6);
    assertFalse(Files.exists(log), "a run from step 0 starts a new log");
  }
}
