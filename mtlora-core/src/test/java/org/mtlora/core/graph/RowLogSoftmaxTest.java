package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * {@link RowLogSoftmax} against the log-softmax and its gradient in float64, against libnd4j's ops, and its use by the
 * session for a loss's {@code log_softmax} and {@code log_softmax_bp}.
 */
class RowLogSoftmaxTest {
  /** Half an ulp of 1 in float: the relative error of one rounding. */
  private static final double U = Math.ulp(1f) / 2;

  private static INDArray random(long rows, long width, double scale, int seed) {
    Nd4j.getRandom().setSeed(seed);
    return Nd4j.randn(DataType.FLOAT, rows, width).muli(scale);
  }

  /** Row {@code r}'s maximum and {@code ln Σ exp(x − max)} in float64. */
  private static double[] maxAndLogSum(INDArray x, long r) {
    double max = Double.NEGATIVE_INFINITY;
    for (long k = 0; k < x.size(1); k++) {
      max = Math.max(max, x.getDouble(r, k));
    }
    double sum = 0;
    for (long k = 0; k < x.size(1); k++) {
      sum += Math.exp(x.getDouble(r, k) - max);
    }
    return new double[] {max, Math.log(sum)};
  }

  /**
   * {@code y} within a few roundings of {@code (x − m) − ln s} in float64: the difference {@code x − m}, the sum's
   * terms (each within 2 ulp, {@link VectorExp}) and its {@code width} roundings, {@code ln}, the final difference.
   */
  private static void assertForward(INDArray x, INDArray y, String what) {
    long width = x.size(1);
    for (long r = 0; r < x.size(0); r++) {
      double[] ml = maxAndLogSum(x, r);
      for (long k = 0; k < width; k++) {
        double shifted = x.getDouble(r, k) - ml[0];
        double expected = shifted - ml[1];
        double tolerance = 2 * U * Math.abs(shifted) + (width + 6) * U + 2 * U * Math.abs(expected);
        assertEquals(expected, y.getDouble(r, k), tolerance, what + ", row " + r + ", column " + k);
      }
    }
  }

  /**
   * {@code dx_k = dy_k − p_k Σ dy} within the roundings of {@code p_k} (the exponentials, the sum, the division), of
   * the float sum {@code Σ dy} ({@code width} terms), the product and the difference.
   */
  private static void assertBackward(INDArray x, INDArray dy, INDArray dx, String what) {
    long width = x.size(1);
    for (long r = 0; r < x.size(0); r++) {
      double[] ml = maxAndLogSum(x, r);
      double gradientSum = 0;
      double absoluteSum = 0;
      for (long k = 0; k < width; k++) {
        gradientSum += dy.getDouble(r, k);
        absoluteSum += Math.abs(dy.getDouble(r, k));
      }
      for (long k = 0; k < width; k++) {
        double p = Math.exp(x.getDouble(r, k) - ml[0] - ml[1]);
        double expected = dy.getDouble(r, k) - p * gradientSum;
        double tolerance = (width + 8) * U * p * absoluteSum + 2 * U * (Math.abs(dy.getDouble(r, k))
            + Math.abs(expected)) + 1e-30;
        assertEquals(expected, dx.getDouble(r, k), tolerance, what + ", row " + r + ", column " + k);
      }
    }
  }

  @Test
  void forwardAndBackwardAreTheFloat64ValuesWithinTheirRoundings() {
    // widths around the lane count and the chunk (8192 floats: 390 rows of 21), rows that leave a partial chunk
    for (int[] shape : new int[][] {{8192, 2}, {2341, 7}, {1000, 21}, {555, 33}, {3, 8192}}) {
      INDArray x = random(shape[0], shape[1], 4, shape[0] + shape[1]);
      INDArray dy = random(shape[0], shape[1], 1, shape[1]);
      INDArray y = Nd4j.create(DataType.FLOAT, shape[0], shape[1]);
      INDArray dx = Nd4j.create(DataType.FLOAT, shape[0], shape[1]);
      String what = shape[0] + " x " + shape[1];
      assertTrue(RowLogSoftmax.tryForward(x, List.of(), y), what);
      assertTrue(RowLogSoftmax.tryBackward(x, dy, List.of(1L), dx), what);
      assertForward(x, y, what);
      assertBackward(x, dy, dx, what);
    }
  }

  @Test
  void theKernelComputesWhatLibnd4jsOpsCompute() {
    // libnd4j's log_softmax_bp takes the op's input x, not its output, and gives dy − softmax(x) · Σ dy
    INDArray x = random(1200, 21, 3, 4);
    INDArray dy = random(1200, 21, 1e-3, 5);
    INDArray y = Nd4j.create(DataType.FLOAT, 1200, 21);
    INDArray dx = Nd4j.create(DataType.FLOAT, 1200, 21);
    assertTrue(RowLogSoftmax.tryForward(x, List.of(-1L), y));
    assertTrue(RowLogSoftmax.tryBackward(x, dy, List.of(), dx));
    INDArray libY = Nd4j.create(DataType.FLOAT, 1200, 21);
    INDArray libDx = Nd4j.create(DataType.FLOAT, 1200, 21);
    Nd4j.exec(DynamicCustomOp.builder("log_softmax").addInputs(x).addOutputs(libY).build());
    Nd4j.exec(DynamicCustomOp.builder("log_softmax_bp").addInputs(x, dy).addOutputs(libDx).build());
    assertTrue(y.sub(libY).amaxNumber().doubleValue() < 1e-5, "log-softmax");
    assertTrue(dx.sub(libDx).amaxNumber().doubleValue() < 1e-9, "gradient (|dx| up to about 5e-3)");
  }

  @Test
  void scoresFarBelowTheirRowsMaximumGiveFiniteValuesAndNaNStaysInItsRow() {
    INDArray x = random(1000, 21, 2, 9);
    x.putScalar(0, 3, 300f); // every other score of row 0 is about 300 below it: exp underflows to 0
    x.putScalar(1, 5, Float.NaN);
    INDArray dy = random(1000, 21, 1, 10);
    INDArray y = Nd4j.create(DataType.FLOAT, 1000, 21);
    INDArray dx = Nd4j.create(DataType.FLOAT, 1000, 21);
    assertTrue(RowLogSoftmax.tryForward(x, List.of(), y));
    assertTrue(RowLogSoftmax.tryBackward(x, dy, List.of(), dx));
    INDArray rest = x.get(NDArrayIndex.interval(2, 1000)).dup();
    assertForward(x.get(NDArrayIndex.interval(0, 1)).dup(), y.get(NDArrayIndex.interval(0, 1)).dup(), "row 0");
    assertEquals(x.getDouble(0, 0) - 300.0, y.getDouble(0, 0), 1e-4, "finite where ln(e / s) is −∞");
    assertEquals(0.0, y.getDouble(0, 3), 0.0);
    for (int k = 0; k < 21; k++) {
      assertTrue(Float.isNaN(y.getFloat(1, k)) && Float.isNaN(dx.getFloat(1, k)), "row 1 is NaN, column " + k);
    }
    assertForward(rest, y.get(NDArrayIndex.interval(2, 1000)).dup(), "the other rows");
    assertBackward(rest, dy.get(NDArrayIndex.interval(2, 1000)).dup(), dx.get(NDArrayIndex.interval(2, 1000)).dup(),
        "the other rows");
  }

  @Test
  void eachRowIsComputedAloneWhateverTheChunksAndThreads() {
    INDArray x = random(5000, 21, 3, 12);
    INDArray dy = random(5000, 21, 1, 13);
    INDArray y = Nd4j.create(DataType.FLOAT, 5000, 21);
    INDArray dx = Nd4j.create(DataType.FLOAT, 5000, 21);
    assertTrue(RowLogSoftmax.tryForward(x, List.of(), y));
    assertTrue(RowLogSoftmax.tryBackward(x, dy, List.of(), dx));
    for (int r : new int[] {0, 389, 390, 2500, 4999}) { // the first rows of chunks, their last, the array's last
      float[] oneY = new float[21];
      float[] oneDx = new float[21];
      RowLogSoftmax.forward(java.nio.FloatBuffer.wrap(x.getRow(r).toFloatVector()), java.nio.FloatBuffer.wrap(oneY),
          1, 21);
      RowLogSoftmax.backward(java.nio.FloatBuffer.wrap(x.getRow(r).toFloatVector()),
          java.nio.FloatBuffer.wrap(dy.getRow(r).toFloatVector()), java.nio.FloatBuffer.wrap(oneDx), 1, 21);
      assertArrayEquals(oneY, y.getRow(r).toFloatVector(), 0f, "row " + r);
      assertArrayEquals(oneDx, dx.getRow(r).toFloatVector(), 0f, "row " + r);
    }
  }

  @Test
  void whatTheKernelDoesNotTakeIsLeftUntouched() {
    INDArray x = random(1000, 21, 1, 1);
    INDArray out = Nd4j.create(DataType.FLOAT, 1000, 21).assign(7);
    assertFalse(RowLogSoftmax.tryForward(x, List.of(0L), out), "over the first axis");
    assertFalse(RowLogSoftmax.tryForward(x.dup('f'), List.of(), out), "F order");
    assertFalse(RowLogSoftmax.tryForward(x.castTo(DataType.DOUBLE), List.of(), out), "float64");
    assertFalse(RowLogSoftmax.tryForward(random(100, 21, 1, 2), List.of(), Nd4j.create(DataType.FLOAT, 100, 21)),
        "below the minimum");
    assertFalse(RowLogSoftmax.tryForward(x.get(NDArrayIndex.interval(0, 990), NDArrayIndex.all()), List.of(),
        Nd4j.create(DataType.FLOAT, 990, 21)), "a view");
    assertFalse(RowLogSoftmax.tryForward(random(21000, 1, 1, 3), List.of(), out.reshape(21000, 1)), "rows of 1");
    assertFalse(RowLogSoftmax.tryForward(random(2, 10000, 1, 3), List.of(), Nd4j.create(DataType.FLOAT, 2, 10000)),
        "rows wider than a chunk");
    assertFalse(RowLogSoftmax.tryForward(x.reshape(21000), List.of(), out.reshape(21000)), "rank 1");
    assertFalse(RowLogSoftmax.tryBackward(x, x.castTo(DataType.DOUBLE), List.of(), out), "a float64 gradient");
    assertEquals(7f, out.minNumber().floatValue());
    assertEquals(7f, out.maxNumber().floatValue());
  }

  @Test
  void sessionsRunALossesLogSoftmaxAndItsGradientOnTheKernel() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
    SameDiff sd = SameDiff.create();
    INDArray scores = random(1000, 21, 3, 20);
    scores.putScalar(0, 0, 250f); // where libnd4j's log_softmax gives −∞
    INDArray weights = random(1000, 21, 1, 21);
    SDVariable s = sd.var("s", scores.dup());
    SDVariable logp = sd.identity("logp", sd.nn.logSoftmax(s));
    sd.setLossVariables(logp.mul(sd.constant(weights)).sum().rename("loss"));
    Gradients.prepare(sd);
    String gradient = s.getGradient().name();
    Map<String, INDArray> out =
        new ForwardRunner(sd.getFunction("grad")).output(Map.of(), List.of("logp", gradient), 1 << 20);

    INDArray y = Nd4j.create(DataType.FLOAT, 1000, 21);
    INDArray dx = Nd4j.create(DataType.FLOAT, 1000, 21);
    assertTrue(RowLogSoftmax.tryForward(scores, List.of(), y));
    assertTrue(RowLogSoftmax.tryBackward(scores, weights, List.of(), dx));
    assertArrayEquals(y.data().asFloat(), out.get("logp").data().asFloat(), 0f, "the kernel's bits");
    assertArrayEquals(dx.data().asFloat(), out.get(gradient).data().asFloat(), 0f, "the kernel's bits");
    assertForward(scores, out.get("logp"), "through the session");
    assertBackward(scores, weights, out.get(gradient), "through the session");
    INDArray lib = Nd4j.create(DataType.FLOAT, 1000, 21);
    Nd4j.exec(DynamicCustomOp.builder("log_softmax").addInputs(scores).addOutputs(lib).build());
    assertEquals(Double.NEGATIVE_INFINITY, lib.getDouble(0, 1), "libnd4j's op: ln(0) where exp underflows");
  }
}
