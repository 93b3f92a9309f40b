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
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.core.io.Npy;
import org.mtlora.core.testing.Fixtures;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Parity with the reference fixture {@code ../shared/fixtures/mtlora-tiny} at its own tolerances. */
class FixtureParityTest {
  @TempDir Path tmp;

  private static FixtureParity.Result run(Path dir, DataType type, StringWriter log) throws Exception {
    return new FixtureParity(dir, Tolerances.read(dir), new PrintWriter(log), type).run();
  }

  private static FixtureParity.Result float32;
  private static final StringWriter FLOAT32_LOG = new StringWriter();

  /** The float32 comparison, run once for the tests that read it. */
  private static synchronized FixtureParity.Result float32() throws Exception {
    if (float32 == null) {
      float32 = run(Fixtures.tiny(), DataType.FLOAT, FLOAT32_LOG);
    }
    return float32;
  }

  /**
   * Float32, the precision the library trains in: outputs, eval-mode heads, every feature, the losses, the
   * batch-norm buffers and the gradients of all 256 trainable tensors, each within the fixture's tolerance.
   */
  @Test
  void float32EverythingMatchesIncludingGradients() throws Exception {
    FixtureParity.Result r = float32();
    StringWriter log = FLOAT32_LOG;
    assertEquals(List.of(), r.problems(), log.toString());
    Map<String, Long> perCategory = r.rows().stream()
        .collect(Collectors.groupingBy(FixtureParity.Row::category, TreeMap::new, Collectors.counting()));
    assertEquals(Map.of("outputs", 4L, "eval_heads", 4L, "features", 65L, "losses", 5L, "bn_buffers", 12L,
        "grads", 256L), perCategory, "every tensor of the fixture is compared");
    List<String> failed = r.rows().stream().filter(x -> !x.pass()).map(FixtureParity.Row::toString).toList();
    assertEquals(List.of(), failed, log.toString());
    assertTrue(r.pass() && log.toString().trim().endsWith("parity: PASS"), log.toString());
  }

  /**
   * The losses sum over up to 270,771 terms; accumulated in float64 they land within 1e-6 relative of the reference
   * (its own float32 error is at most 1.2e-7 relative), ten times inside the fixture's tolerance. A float32
   * accumulator was 5.9e-6 off on the normals loss.
   */
  @Test
  void float32LossesAreAccurateSums() throws Exception {
    FixtureParity.Result r = float32();
    StringWriter log = FLOAT32_LOG;
    JsonNode ref = new ObjectMapper().readTree(Fixtures.tiny().resolve("losses.json").toFile());
    for (FixtureParity.Row row : r.rows()) {
      if (row.category().equals("losses")) {
        String task = row.name().substring("loss/".length());
        double value = task.equals("total") ? ref.get("total").asDouble() : ref.get("per_task").get(task).asDouble();
        assertTrue(row.maxAbsError() <= 1e-6 * Math.abs(value), row + " of " + value + "\n" + log);
      }
    }
  }

  /** Float64: everything, gradients of all 256 trainable tensors included, at the fixture's tolerances. */
  @Test
  void float64EverythingMatchesIncludingGradients() throws Exception {
    StringWriter log = new StringWriter();
    FixtureParity.Result r = run(Fixtures.tiny(), DataType.DOUBLE, log);
    assertEquals(256, r.rows().stream().filter(x -> x.category().equals("grads")).count());
    assertTrue(r.pass(), log.toString());
    assertTrue(log.toString().trim().endsWith("parity: PASS"), log.toString());
  }

  /** A corrupted tensor is reported as FAIL, by name, and the verdict counts it. */
  @Test
  void corruptedTensorFails() throws Exception {
    Path src = Fixtures.tiny();
    Path dir = Files.createDirectory(tmp.resolve("corrupt"));
    for (String f : List.of("config.json", "weights.safetensors", "input.npy", "tolerances.json",
        "target_semseg.npy", "target_human_parts.npy", "target_sal.npy", "target_normals.npy", "out_semseg.npy",
        "out_sal.npy")) {
      Files.copy(src.resolve(f), dir.resolve(f));
    }
    INDArray sal = Npy.read(dir.resolve("out_sal.npy"));
    sal.putScalar(new long[] {1, 0, 100, 100}, sal.getFloat(1, 0, 100, 100) + 0.01f);
    Files.delete(dir.resolve("out_sal.npy"));
    Nd4j.writeAsNumpy(sal.castTo(DataType.FLOAT), dir.resolve("out_sal.npy").toFile());
    StringWriter log = new StringWriter();
    FixtureParity.Result r = run(dir, DataType.FLOAT, log);
    assertFalse(r.pass());
    assertEquals(1, r.failures(), log.toString());
    assertTrue(r.rows().stream().anyMatch(x -> x.name().equals("out_sal") && !x.pass()), log.toString());
    assertTrue(r.rows().stream().anyMatch(x -> x.name().equals("out_semseg") && x.pass()), log.toString());
    assertTrue(log.toString().trim().endsWith("parity: FAIL (1 of 2 tensors out of tolerance)"), log.toString());
  }
}
