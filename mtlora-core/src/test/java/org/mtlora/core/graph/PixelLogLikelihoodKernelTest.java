package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.FloatBuffer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * {@link PixelLogLikelihoodKernel} against what the loss computed before it, bit for bit: the scores permuted into
 * one row per pixel, {@link RowLogSoftmax} over the rows, the label's entry picked (forward) or scattered into zeros
 * and differentiated (backward); and against float64 by hand.
 */
class PixelLogLikelihoodKernelTest {
  private static final int IGNORE = 255;

  @BeforeEach
  void kernelsOn() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
  }

  private static INDArray scores(int seed, double scale, long... shape) {
    Nd4j.getRandom().setSeed(seed);
    return Nd4j.randn(DataType.FLOAT, shape).muli(scale);
  }

  /** Labels in {@code [0, K)}, with every seventh pixel 255, one K and one −1 (none select a class). */
  private static INDArray labels(long pixels, int classes) {
    int[] t = new int[(int) pixels];
    for (int i = 0; i < t.length; i++) {
      t[i] = i % 7 == 3 ? IGNORE : (i * 5 + i / 11) % classes;
    }
    t[1] = classes;
    t[2] = -1;
    return Nd4j.createFromArray(t);
  }

  /** {@code x [B, K, ...]} as {@code [B·pixels, K]} rows, a copy. */
  private static INDArray rows(INDArray x) {
    return x.reshape('c', x.size(0), x.size(1), -1).permute(0, 2, 1).dup('c').reshape('c', -1, x.size(1));
  }

  private static boolean selects(int label, long classes) {
    return label >= 0 && label < classes;
  }

  /** The composite on the JVM's kernels: RowLogSoftmax over the rows, then the pick. */
  private static float[][] composite(INDArray x, INDArray labels) {
    long k = x.size(1);
    INDArray rows = rows(x);
    int n = (int) rows.size(0);
    FloatBuffer logp = FloatBuffer.allocate(n * (int) k);
    RowLogSoftmax.forward(FloatBuffer.wrap(rows.data().asFloat()), logp, n, (int) k);
    float[] picked = new float[n];
    float[] valid = new float[n];
    for (int i = 0; i < n; i++) {
      int t = labels.getInt(i);
      picked[i] = selects(t, k) ? logp.get(i * (int) k + t) : 0f;
      valid[i] = selects(t, k) ? 1f : 0f;
    }
    return new float[][] {picked, valid};
  }

  /** The composite's backward: dpicked scattered into zero rows, RowLogSoftmax's backward, permuted back. */
  private static float[] compositeGradient(INDArray x, INDArray labels, INDArray dPicked) {
    int k = (int) x.size(1);
    INDArray rows = rows(x);
    int n = (int) rows.size(0);
    float[] dy = new float[n * k];
    for (int i = 0; i < n; i++) {
      int t = labels.getInt(i);
      if (selects(t, k)) {
        dy[i * k + t] = dPicked.getFloat(i);
      }
    }
    FloatBuffer dRows = FloatBuffer.allocate(n * k);
    RowLogSoftmax.backward(FloatBuffer.wrap(rows.data().asFloat()), FloatBuffer.wrap(dy), dRows, n, k);
    INDArray back = Nd4j.createFromArray(dRows.array()).reshape('c', x.size(0), -1, k).permute(0, 2, 1).dup('c');
    return back.data().asFloat();
  }

  private static INDArray[] forward(INDArray x, INDArray labels) {
    long pixels = labels.length();
    INDArray picked = Nd4j.valueArrayOf(new long[] {pixels}, 7f); // what an arena's buffer may hold
    INDArray valid = Nd4j.valueArrayOf(new long[] {pixels}, 7f);
    assertTrue(PixelLogLikelihoodKernel.tryForward(x, labels, picked, valid));
    return new INDArray[] {picked, valid};
  }

  private static INDArray backward(INDArray x, INDArray labels, INDArray dPicked) {
    INDArray dx = Nd4j.valueArrayOf(x.shape(), 7f);
    assertTrue(PixelLogLikelihoodKernel.tryBackward(x, labels, dPicked, dx));
    return dx;
  }

  @Test
  void forwardAndBackwardHaveTheRowCompositesBits() {
    // class counts of the tasks (21, 7), two, and the most one chunk takes; pixel counts leaving partial chunks
    long[][] shapes = {{2, 21, 30, 37}, {3, 7, 41, 29}, {1, 2, 100, 171}, {2, PixelLogLikelihoodKernel.maxClasses(), 5,
        7}, {1, 21, 4, 8, 31}};
    int seed = 1;
    for (long[] shape : shapes) {
      String what = java.util.Arrays.toString(shape);
      INDArray x = scores(seed++, 4, shape);
      INDArray labels = labels(x.length() / shape[1], (int) shape[1]);
      INDArray dPicked = scores(seed++, 1, labels.length());
      float[][] expected = composite(x, labels);
      INDArray[] out = forward(x, labels);
      assertArrayEquals(expected[0], out[0].data().asFloat(), 0f, what + ": picked");
      assertArrayEquals(expected[1], out[1].data().asFloat(), 0f, what + ": valid");
      assertArrayEquals(compositeGradient(x, labels, dPicked), backward(x, labels, dPicked).data().asFloat(), 0f,
          what + ": dx");
    }
  }

  @Test
  void forwardAndBackwardAgreeWithFloat64ByHand() {
    INDArray x = scores(11, 3, 2, 21, 25, 33);
    long k = x.size(1);
    long pixels = 25 * 33;
    INDArray labels = labels(2 * pixels, (int) k);
    INDArray dPicked = scores(12, 1, 2 * pixels);
    INDArray[] out = forward(x, labels);
    INDArray dx = backward(x, labels, dPicked);
    for (int b = 0; b < 2; b++) {
      for (int p = 0; p < pixels; p++) {
        int i = (int) (b * pixels + p);
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < k; c++) {
          max = Math.max(max, x.getDouble(b, c, p / 33, p % 33));
        }
        double sum = 0;
        for (int c = 0; c < k; c++) {
          sum += Math.exp(x.getDouble(b, c, p / 33, p % 33) - max);
        }
        int t = labels.getInt(i);
        boolean in = selects(t, k);
        double picked = in ? x.getDouble(b, t, p / 33, p % 33) - max - Math.log(sum) : 0;
        assertEquals(picked, out[0].getDouble(i), 1e-5 * (1 + Math.abs(picked)), "picked " + i);
        assertEquals(in ? 1.0 : 0.0, out[1].getDouble(i), 0.0, "valid " + i);
        for (int c = 0; c < k; c++) {
          double softmax = Math.exp(x.getDouble(b, c, p / 33, p % 33) - max) / sum;
          double expected = in ? dPicked.getDouble(i) * ((c == t ? 1 : 0) - softmax) : 0;
          assertEquals(expected, dx.getDouble(b, c, p / 33, p % 33), 1e-6, "dx " + b + "," + c + "," + p);
        }
      }
    }
  }

  @Test
  void aScoreFarAboveTheRestGivesFiniteLogLikelihoods() {
    INDArray x = scores(13, 1, 1, 21, 32, 32);
    x.putScalar(new long[] {0, 4, 0, 0}, 300f); // exp(x − m) of the other classes underflows to 0
    INDArray labels = Nd4j.zeros(DataType.INT, 1024); // pixel 0's label is class 0, ~300 below its maximum
    INDArray[] out = forward(x, labels);
    assertEquals(x.getDouble(0, 0, 0, 0) - 300, out[0].getDouble(0), 1e-4, "finite, (x_t − m) − ln 1");
    INDArray dx = backward(x, labels, Nd4j.ones(DataType.FLOAT, 1024));
    assertEquals(1.0, dx.getDouble(0, 0, 0, 0), 0.0, "1 − softmax, softmax 0");
    assertEquals(-1.0, dx.getDouble(0, 4, 0, 0), 0.0, "0 − softmax, softmax 1");
  }

  @Test
  void leavesWhatItDoesNotTakeUntouched() {
    INDArray x = scores(14, 1, 2, 21, 30, 30);
    INDArray labels = labels(1800, 21);
    INDArray picked = Nd4j.valueArrayOf(new long[] {1800}, 7f);
    INDArray valid = Nd4j.valueArrayOf(new long[] {1800}, 7f);
    assertFalse(PixelLogLikelihoodKernel.tryForward(x.castTo(DataType.DOUBLE), labels, picked, valid), "float64");
    assertFalse(PixelLogLikelihoodKernel.tryForward(x, labels.castTo(DataType.FLOAT), picked, valid), "float labels");
    assertFalse(PixelLogLikelihoodKernel.tryForward(x.dup('f'), labels, picked, valid), "F order");
    assertFalse(PixelLogLikelihoodKernel.tryForward(
        x.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 20), NDArrayIndex.all(), NDArrayIndex.all()), labels,
        picked, valid), "a view");
    assertFalse(PixelLogLikelihoodKernel.tryForward(x.reshape(2, 21 * 900), labels, picked, valid), "rank 2");
    assertFalse(PixelLogLikelihoodKernel.tryForward(scores(15, 1, 2, 21, 3, 3), labels(18, 21),
        Nd4j.valueArrayOf(new long[] {18}, 7f), Nd4j.valueArrayOf(new long[] {18}, 7f)), "small");
    assertFalse(PixelLogLikelihoodKernel.tryForward(x, labels(1799, 21), picked, valid), "a label short");
    assertFalse(PixelLogLikelihoodKernel.tryForward(scores(16, 1, 1, PixelLogLikelihoodKernel.maxClasses() + 1, 8,
        8), labels(64, 2), Nd4j.create(DataType.FLOAT, 64), Nd4j.create(DataType.FLOAT, 64)), "too many classes");
    INDArray dx = Nd4j.valueArrayOf(x.shape(), 7f);
    assertFalse(PixelLogLikelihoodKernel.tryBackward(x, labels, picked.castTo(DataType.DOUBLE), dx), "float64 dp");
    assertFalse(PixelLogLikelihoodKernel.tryBackward(x, labels, picked, dx.reshape(2, 21, 900)), "dx's shape");
    assertEquals(7.0, picked.minNumber().doubleValue(), 0.0);
    assertEquals(7.0, picked.maxNumber().doubleValue(), 0.0);
    assertEquals(7.0, valid.minNumber().doubleValue(), 0.0);
    assertEquals(7.0, dx.minNumber().doubleValue(), 0.0);
    assertEquals(7.0, dx.maxNumber().doubleValue(), 0.0);
  }
}
