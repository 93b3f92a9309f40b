package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.mtlora.core.nn.Gelu;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erfc;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Replayed training runs compute each GELU, and its backward, in one pass ({@link TrainingGelu}) with the bits of the
 * session that runs the ops one by one.
 */
class TrainingGeluTest {
  @AfterEach
  void defaults() {
    System.clearProperty(ForwardRunner.REPLAY_PROPERTY);
    System.clearProperty(VectorKernels.FUSIONS_PROPERTY);
  }

  /** A training graph: loss = mean((GELU(x·w1)·w2)²), with a second GELU on the output to chain two backwards. */
  private static SameDiff mlp() {
    SameDiff sd = SameDiff.create();
    Nd4j.getRandom().setSeed(11);
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 8);
    SDVariable w1 = sd.var("w1", Nd4j.randn(DataType.FLOAT, 8, 300).muli(0.8));
    SDVariable w2 = sd.var("w2", Nd4j.randn(DataType.FLOAT, 300, 6).muli(0.2));
    SDVariable out = sd.identity("out", Gelu.apply(sd, Gelu.apply(sd, x.mmul(w1)).mmul(w2)));
    sd.setLossVariables(out.mul(out).mean().rename("loss"));
    Gradients.prepare(sd);
    return sd;
  }

  private static INDArray input(int seed) {
    Nd4j.getRandom().setSeed(seed);
    return Nd4j.randn(DataType.FLOAT, 40, 8).muli(2); // 12,000 elements of the hidden layer: two chunks and a part
  }

  /** The values of {@code names}, through the graph's session (this project's, op by op) with replaying off. */
  private static Map<String, INDArray> throughSession(SameDiff graph, INDArray x, List<String> names) {
    System.setProperty(ForwardRunner.REPLAY_PROPERTY, "false");
    try {
      return new ForwardRunner(graph).output(Map.of("x", x), names, 1 << 20);
    } finally {
      System.clearProperty(ForwardRunner.REPLAY_PROPERTY);
    }
  }

  private static Map<String, INDArray> run(ForwardRunner runner, INDArray x, List<String> names) {
    try (Arena arena = new Arena()) {
      return copies(runner.outputInArena(Map.of("x", x), names, 1 << 20, arena));
    }
  }

  private static Map<String, INDArray> copies(Map<String, INDArray> values) {
    Map<String, INDArray> out = new HashMap<>();
    values.forEach((name, value) -> out.put(name, value.dup()));
    return out;
  }

  private static List<String> lossAndGradients(SameDiff sd) {
    return List.of("loss", sd.getVariable("w1").getGradient().name(), sd.getVariable("w2").getGradient().name());
  }

  private static void assertSameBits(Map<String, INDArray> expected, Map<String, INDArray> actual) {
    assertEquals(expected.keySet(), actual.keySet());
    expected.forEach((name, e) -> assertArrayEquals(e.data().asFloat(), actual.get(name).data().asFloat(), 0f, name));
  }

  @Test
  void replayedGradientRunsHaveTheSessionsBitsWithFourGroups() {
    assumeTrue(VectorKernels.fusions(), "kernels off here: " + VectorKernels.describe());
    SameDiff sd = mlp();
    SameDiff grad = sd.getFunction("grad");
    grad.setEnableCache(true);
    List<String> names = lossAndGradients(sd);
    ForwardRunner runner = new ForwardRunner(grad);
    Map<String, INDArray> recorded = run(runner, input(1), names);
    assertTrue(runner.replays());
    assertEquals(4, runner.fusedGroups(), "each GELU's forward and derivative, and its backward");
    assertSameBits(throughSession(grad, input(1), names), recorded);
    for (int seed : new int[] {2, 1}) {
      Map<String, INDArray> expected = throughSession(grad, input(seed), names);
      assertSameBits(expected, run(runner, input(seed), names));
    }
    assertEquals(2, runner.replayedRuns());

    // and the loss is the graph's: against float64 arithmetic with Commons Math's erfc
    double expected = expectedLoss(sd, input(1));
    assertTrue(expected > 0);
    assertEquals(expected, recorded.get("loss").getDouble(0), 1e-5 * expected);
  }

  /** The loss from the weights in float64 and Commons Math's erfc, independent of the graph's ops. */
  private static double expectedLoss(SameDiff sd, INDArray x) {
    INDArray w1 = sd.getArrForVarName("w1").castTo(DataType.DOUBLE);
    INDArray w2 = sd.getArrForVarName("w2").castTo(DataType.DOUBLE);
    INDArray h = gelu(x.castTo(DataType.DOUBLE).mmul(w1));
    INDArray out = gelu(h.mmul(w2));
    return out.mul(out).meanNumber().doubleValue();
  }

  private static INDArray gelu(INDArray v) {
    INDArray out = v.dup();
    for (long i = 0; i < v.length(); i++) {
      double z = v.getDouble(i);
      out.putScalar(i, 0.5 * z * org.apache.commons.math3.special.Erf.erfc(-z / Math.sqrt(2)));
    }
    return out;
  }

  @Test
  void aForwardOfATrainingGraphWritesTheGeluAlone() {
    assumeTrue(VectorKernels.fusions(), "kernels off here: " + VectorKernels.describe());
    SameDiff sd = mlp();
    ForwardRunner runner = new ForwardRunner(sd);
    List<String> names = List.of("out");
    run(runner, input(1), names);
    assertEquals(2, runner.fusedGroups(), "two forwards, no derivative: no backward reads one");
    for (int seed : new int[] {3, 4}) {
      assertSameBits(throughSession(sd, input(seed), names), run(runner, input(seed), names));
    }
  }

  @Test
  void aRequestedIntermediateOrFusionsOffKeepTheOps() {
    assumeTrue(VectorKernels.fusions(), "kernels off here: " + VectorKernels.describe());
    SameDiff sd = mlp();
    SameDiff grad = sd.getFunction("grad");
    grad.setEnableCache(true);
    List<String> erfcs = new ArrayList<>();
    for (SameDiffOp op : grad.getOps().values()) {
      if (op.getOp() instanceof Erfc) {
        erfcs.add(op.getOutputsOfOp().get(0));
      }
    }
    assertEquals(2, erfcs.size(), "one erfc per GELU");
    List<String> names = new ArrayList<>(lossAndGradients(sd));
    names.add(erfcs.get(0)); // the first GELU's erfc(−x/√2), also read by its product and its derivative
    ForwardRunner runner = new ForwardRunner(grad);
    run(runner, input(1), names);
    assertEquals(2, runner.fusedGroups(), "the other GELU's two groups alone");
    Map<String, INDArray> expected = throughSession(grad, input(2), names);
    assertSameBits(expected, run(runner, input(2), names));

    System.setProperty(VectorKernels.FUSIONS_PROPERTY, "false");
    ForwardRunner off = new ForwardRunner(grad);
    List<String> plain = lossAndGradients(sd);
    run(off, input(1), plain);
    assertEquals(0, off.fusedGroups());
    assertTrue(off.replays());
    System.clearProperty(VectorKernels.FUSIONS_PROPERTY);
    assertSameBits(throughSession(grad, input(2), plain), run(off, input(2), plain));
  }
}
