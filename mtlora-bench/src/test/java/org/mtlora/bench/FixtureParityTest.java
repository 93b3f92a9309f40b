package org.mtlora.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
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

  /** Float32: outputs, eval-mode heads, every feature, the losses and the batch-norm buffers. */
  @Test
  void float32ForwardLossesAndBuffersMatch() throws Exception {
    StringWriter log = new StringWriter();
    FixtureParity.Result r = run(Fixtures.tiny(), DataType.FLOAT, log);
    assertEquals(List.of(), r.problems(), log.toString());
    Set<String> forward = Set.of("outputs", "eval_heads", "features", "losses", "bn_buffers");
    List<FixtureParity.Row> rows = r.rows().stream().filter(x -> forward.contains(x.category())).toList();
    assertEquals(4 + 4 + 65 + 5 + 12, rows.size(), "every forward tensor of the fixture is compared");
    List<String> failed = rows.stream().filter(x -> !x.pass()).map(FixtureParity.Row::toString).toList();
    assertEquals(List.of(), failed, log.toString());
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
