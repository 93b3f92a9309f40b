package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.commons.math3.special.Erf;
import org.junit.jupiter.api.Test;
import org.mtlora.core.nn.Gelu;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class GeluFusionTest {
  private static final float ALPHA = (float) (-1 / Math.sqrt(2));

  /** An evaluation graph: x → GELU → y → GELU → z, the second GELU's input also read by a product. */
  private static SameDiff twoGelus(DataType type) {
    SameDiff sd = SameDiff.create();
    sd.constant(GraphContext.INFERENCE_ONLY, Nd4j.scalar(type, 0));
    SDVariable x = sd.placeHolder("x", type, -1, 40);
    SDVariable y = sd.identity("y", Gelu.apply(sd, x));
    sd.identity("z", Gelu.apply(sd, y).mul(y));
    return sd;
  }

  private static INDArray input(DataType type) {
    Nd4j.getRandom().setSeed(5);
    return Nd4j.randn(type, 300, 40).muli(3); // from the negative tail to the linear part, across chunks
  }

  /** GELU in float64, from Commons Math's erfc. */
  private static double gelu(double x) {
    return 0.5 * x * Erf.erfc(-x / Math.sqrt(2));
  }

  @Test
  void findsTheEvaluationGelusFourOps() {
    GeluFusion chains = GeluFusion.of(twoGelus(DataType.FLOAT));
    assertEquals(2, chains.size());
    SameDiff sd = twoGelus(DataType.FLOAT);
    GeluFusion again = GeluFusion.of(sd);
    String yOp = sd.getVariables().get("y").getOutputOfOp(); // identity's op; its input is the first chain's product
    String product = sd.getOps().get(yOp).getInputsToOp().get(0);
    GeluFusion.Chain first = again.chainOf(sd.getVariables().get(product).getOutputOfOp());
    assertNotNull(first, "the first GELU's multiply ends a chain");
    assertEquals(ALPHA, first.alpha());
    assertEquals(0.5f, first.beta());
    assertEquals(0, first.xInput(), "x · (0.5 · erfc(−x/√2))");
    assertEquals(3, first.intermediates().size());
    for (String op : List.of(first.first(), first.erfc(), first.scale(), first.last())) {
      assertEquals(first, again.chainOf(op));
    }
    assertNull(again.chainOf(yOp));
  }

  @Test
  void findsNoChainInATrainingGraphOrWhereAnIntermediateIsReadTwice() {
    SameDiff training = SameDiff.create();
    SDVariable x = training.placeHolder("x", DataType.FLOAT, -1, 40);
    Gelu.apply(training, x);
    assertEquals(0, GeluFusion.of(training).size(), "training graphs have their own GELU ops");

    SameDiff shared = SameDiff.create();
    SDVariable u = shared.placeHolder("u", DataType.FLOAT, -1, 40);
    SDVariable erfc = shared.math.erfc(u.mul(ALPHA));
    SDVariable half = erfc.mul(0.5);
    u.mul(half);
    half.add(1.0); // a second reader of the scaled erfc
    assertEquals(0, GeluFusion.of(shared).size());

    SameDiff other = SameDiff.create();
    SDVariable v = other.placeHolder("v", DataType.FLOAT, -1, 40);
    SDVariable w = other.placeHolder("w", DataType.FLOAT, -1, 40);
    w.mul(other.math.erfc(v.mul(ALPHA)).mul(0.5)); // the product's other input is not erfc's
    assertEquals(0, GeluFusion.of(other).size());
  }

  @Test
  void theSessionComputesEachChainInOnePassWithTheBitsOfItsFourOps() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
    SameDiff sd = twoGelus(DataType.FLOAT);
    INDArray in = input(DataType.FLOAT);
    GeluFusion chains = GeluFusion.of(sd);
    List<String> intermediates = new ArrayList<>();
    for (String op : sd.getOps().keySet()) {
      GeluFusion.Chain chain = chains.chainOf(op);
      if (chain != null && op.equals(chain.first())) {
        intermediates.addAll(chain.intermediates());
      }
    }
    assertEquals(6, intermediates.size());

    INDArray fused = run(sd, in, 2, "z");
    // asking for an intermediate of each chain makes the session run that chain op by op
    List<String> askAll = new ArrayList<>(intermediates);
    askAll.add("z");
    INDArray opByOp = run(sd, in, 0, askAll.toArray(new String[0]));
    assertArrayEquals(opByOp.data().asFloat(), fused.data().asFloat(), "the same bits");

    for (int i = 0; i < in.length(); i++) {
      double y = gelu(in.getDouble(i));
      double z = gelu(y) * y;
      assertEquals(z, fused.getDouble(i), 1e-6 * Math.max(1, Math.abs(z)), "z at " + i);
    }
  }

  @Test
  void chainsWhoseInputTheKernelDoesNotTakeRunOpByOp() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
    SameDiff sd = twoGelus(DataType.DOUBLE);
    INDArray in = input(DataType.DOUBLE);
    INDArray z = run(sd, in, 0, "z");
    for (int i = 0; i < in.length(); i++) {
      double y = gelu(in.getDouble(i));
      assertEquals(gelu(y) * y, z.getDouble(i), 1e-12 * Math.max(1, Math.abs(y * y)), "float64 z at " + i);
    }
  }

  @Test
  void outputsTheKernelDoesNotTakeAreComputedWithLibnd4jsOps() {
    INDArray x = input(DataType.FLOAT);
    INDArray fOrder = Nd4j.create(DataType.FLOAT, new long[] {300, 40}, 'f');
    GeluFusion.erfcProduct(x, ALPHA, 0.5f, fOrder);
    INDArray cOrder = Nd4j.create(DataType.FLOAT, 300, 40);
    GeluFusion.erfcProduct(x, ALPHA, 0.5f, cOrder);
    for (int r = 0; r < 300; r++) {
      for (int c = 0; c < 40; c++) {
        double expected = gelu(x.getDouble(r, c));
        double tolerance = 1e-6 * Math.max(1, Math.abs(expected));
        assertEquals(expected, fOrder.getDouble(r, c), tolerance, "F order at " + r + ", " + c);
        assertEquals(expected, cOrder.getDouble(r, c), tolerance, "C order at " + r + ", " + c);
      }
    }
  }

  /** Runs {@code sd} in this project's session; checks how many chains it fused and returns {@code names[last]}. */
  private static INDArray run(SameDiff sd, INDArray in, int fused, String... names) {
    SessionMemory.boundCache(sd, 1 << 20);
    try {
      Map<String, INDArray> out = sd.output(Map.of("x", in), names);
      KernelSession session = (KernelSession) sd.getSessions().get(Thread.currentThread().getId());
      assertEquals(fused, session.fusedInLastRun(), "chains computed in one pass");
      return out.get(names[names.length - 1]).dup();
    } finally {
      SessionMemory.release(sd);
    }
  }
}
