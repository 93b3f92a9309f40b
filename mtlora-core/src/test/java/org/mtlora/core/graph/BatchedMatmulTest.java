package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class BatchedMatmulTest {
  @Test
  void everyTransposeAndAwkwardSizeMatchesPlainLoops() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
    Random random = new Random(3);
    // sizes below, at and around one vector (8 or 16 lanes) and the window attention's 49 x 32
    int[][] sizes = {{1, 1, 1, 1}, {2, 5, 3, 17}, {3, 49, 32, 49}, {1, 49, 49, 32}, {4, 7, 16, 33}, {40, 9, 8, 16}};
    for (int[] s : sizes) {
      int batch = s[0];
      int m = s[1];
      int k = s[2];
      int n = s[3];
      float[] a = gaussian(random, batch * m * k);
      float[] b = gaussian(random, batch * k * n);
      for (boolean ta : new boolean[] {false, true}) {
        for (boolean tb : new boolean[] {false, true}) {
          FloatBuffer c = FloatBuffer.allocate(batch * m * n);
          BatchedMatmul.multiply(FloatBuffer.wrap(a), FloatBuffer.wrap(b), c, batch, m, k, n, ta, tb);
          double[] expected = product(a, b, batch, m, k, n, ta, tb);
          for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], c.get(i), 1e-5 * Math.sqrt(k) * 4,
                Arrays.toString(s) + " ta=" + ta + " tb=" + tb + " at " + i);
          }
        }
      }
    }
  }

  @Test
  void splittingOverThreadsGivesTheSameBits() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
    Random random = new Random(5);
    int batch = 300; // 300 * 49 * 32 * 49 multiply-adds: split over the pool
    float[] a = gaussian(random, batch * 49 * 32);
    float[] b = gaussian(random, batch * 49 * 32);
    FloatBuffer whole = FloatBuffer.allocate(batch * 49 * 49);
    BatchedMatmul.multiply(FloatBuffer.wrap(a), FloatBuffer.wrap(b), whole, batch, 49, 32, 49, false, true);
    FloatBuffer one = FloatBuffer.allocate(49 * 49);
    for (int e : new int[] {0, 149, 299}) { // one entry at a time: one thread
      BatchedMatmul.multiply(FloatBuffer.wrap(a, e * 49 * 32, 49 * 32).slice(),
          FloatBuffer.wrap(b, e * 49 * 32, 49 * 32).slice(), one, 1, 49, 32, 49, false, true);
      for (int i = 0; i < 49 * 49; i++) {
        assertEquals(Float.floatToIntBits(one.get(i)), Float.floatToIntBits(whole.get(e * 49 * 49 + i)), "entry " + e);
      }
    }
  }

  @Test
  void takesOnlyBatchesOfMatchingWholeFloatMatrices() {
    INDArray a = Nd4j.rand(DataType.FLOAT, 2, 3, 4, 5);
    INDArray b = Nd4j.rand(DataType.FLOAT, 2, 3, 5, 6);
    INDArray c = Nd4j.create(DataType.FLOAT, 2, 3, 4, 6);
    assertTrue(BatchedMatmul.accepts(a, b, c, false, false));
    assertFalse(BatchedMatmul.accepts(a, b, c, true, false), "op(A) would be 5 x 4");
    assertFalse(BatchedMatmul.accepts(a.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0)), b.get(
        org.nd4j.linalg.indexing.NDArrayIndex.point(0)), c.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0)), false,
        false), "views");
    assertFalse(BatchedMatmul.accepts(a.reshape(6, 4, 5), b, c, false, false), "different leading axes");
    assertFalse(BatchedMatmul.accepts(Nd4j.rand(DataType.FLOAT, 4, 5), Nd4j.rand(DataType.FLOAT, 5, 6),
        Nd4j.create(DataType.FLOAT, 4, 6), false, false), "rank 2 stays with libnd4j's BLAS");
    assertFalse(BatchedMatmul.accepts(a.castTo(DataType.DOUBLE), b.castTo(DataType.DOUBLE),
        c.castTo(DataType.DOUBLE), false, false), "float64");
    assertFalse(BatchedMatmul.accepts(a, b, Nd4j.create(DataType.FLOAT, 2, 3, 4, 7), false, false), "output shape");
    assertFalse(BatchedMatmul.accepts(Nd4j.rand(DataType.FLOAT, 2, 300, 300), Nd4j.rand(DataType.FLOAT, 2, 300, 4),
        Nd4j.create(DataType.FLOAT, 2, 300, 4), false, false), "matrices above the kernel's size");
    assertFalse(BatchedMatmul.accepts(Nd4j.create(DataType.FLOAT, 2, 3, 0), Nd4j.create(DataType.FLOAT, 2, 0, 4),
        Nd4j.create(DataType.FLOAT, 2, 3, 4), false, false), "an empty inner axis");
  }

  @Test
  void sessionsOfThisProjectRunTheAttentionProductsOnTheKernel() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
    SameDiff sd = SameDiff.create();
    SDVariable q = sd.placeHolder("q", DataType.FLOAT, -1, 3, 49, 32);
    SDVariable k = sd.placeHolder("k", DataType.FLOAT, -1, 3, 49, 32);
    SDVariable scores = sd.mmul("scores", q, k, false, true, false); // [B, 3, 49, 49]
    SDVariable mixed = sd.mmul("mixed", scores, k, false, false, false); // [B, 3, 49, 32]
    INDArray qv = Nd4j.randn(DataType.FLOAT, 4, 3, 49, 32);
    INDArray kv = Nd4j.randn(DataType.FLOAT, 4, 3, 49, 32);
    INDArray libnd4jScores = Nd4j.matmul(qv, kv, false, true, false);
    INDArray libnd4jMixed = Nd4j.matmul(libnd4jScores, kv);
    INDArray kernelScores = Nd4j.create(DataType.FLOAT, 4, 3, 49, 49);
    BatchedMatmul.multiply(qv, kv, kernelScores, false, true);
    INDArray kernelMixed = Nd4j.create(DataType.FLOAT, 4, 3, 49, 32);
    BatchedMatmul.multiply(kernelScores, kv, kernelMixed, false, false);
    assertFalse(Arrays.equals(kernelMixed.data().asFloat(), libnd4jMixed.data().asFloat()),
        "the two sum in different orders somewhere, so the test can tell them apart");

    SessionMemory.boundCache(sd, 1 << 20);
    try {
      Map<String, INDArray> out = sd.output(Map.of("q", qv, "k", kv), "scores", "mixed");
      assertArrayEquals(kernelScores.data().asFloat(), out.get("scores").data().asFloat(), "the kernel's bits");
      assertArrayEquals(kernelMixed.data().asFloat(), out.get("mixed").data().asFloat(), "the kernel's bits");
      assertTrue(out.get("mixed").equalsWithEps(libnd4jMixed, 1e-3), "and libnd4j's values to float rounding");
    } finally {
      SessionMemory.release(sd);
    }
  }

  @Test
  void sessionGradientsOfEveryTransposeMatchLibnd4jsMatmulBp() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
    int m = 7;
    int k = 5;
    int n = 19;
    for (boolean ta : new boolean[] {false, true}) {
      for (boolean tb : new boolean[] {false, true}) {
        String flags = "ta=" + ta + " tb=" + tb;
        INDArray a = Nd4j.randn(DataType.FLOAT, ta ? new long[] {2, 3, k, m} : new long[] {2, 3, m, k});
        INDArray b = Nd4j.randn(DataType.FLOAT, tb ? new long[] {2, 3, n, k} : new long[] {2, 3, k, n});
        INDArray weights = Nd4j.randn(DataType.FLOAT, 2, 3, m, n); // loss = Σ C ⊙ weights, so dC = weights
        SameDiff sd = SameDiff.create();
        SDVariable av = sd.var("a", a.dup());
        SDVariable bv = sd.var("b", b.dup());
        SDVariable c = sd.mmul(av, bv, ta, tb, false);
        c.mul(sd.constant("w", weights)).sum().rename("loss");
        sd.setLossVariables("loss");
        Gradients.prepare(sd);
        SessionMemory.boundCache(sd, 1 << 20);
        Map<String, INDArray> grads;
        try {
          grads = Gradients.calculate(sd, Map.of(), java.util.List.of(), java.util.List.of("a", "b")).getGradients();
        } finally {
          SessionMemory.release(sd);
        }
        // libnd4j's matmul_bp on the same arrays, and the float64 gradients by hand
        INDArray da = Nd4j.create(DataType.FLOAT, a.shape());
        INDArray db = Nd4j.create(DataType.FLOAT, b.shape());
        Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("matmul_bp").addInputs(a, b, weights)
            .addOutputs(da, db).addIntegerArguments(ta ? 1 : 0, tb ? 1 : 0, 0).build());
        INDArray a64 = ta ? a.castTo(DataType.DOUBLE).permute(0, 1, 3, 2) : a.castTo(DataType.DOUBLE); // op(A)
        INDArray b64 = tb ? b.castTo(DataType.DOUBLE).permute(0, 1, 3, 2) : b.castTo(DataType.DOUBLE); // op(B)
        INDArray w64 = weights.castTo(DataType.DOUBLE);
        INDArray dOpA = Nd4j.matmul(w64, b64.permute(0, 1, 3, 2).dup()); // dC · op(B)ᵀ
        INDArray dOpB = Nd4j.matmul(a64.permute(0, 1, 3, 2).dup(), w64); // op(A)ᵀ · dC
        INDArray expectedA = ta ? dOpA.permute(0, 1, 3, 2) : dOpA;
        INDArray expectedB = tb ? dOpB.permute(0, 1, 3, 2) : dOpB;
        assertTrue(grads.get("a").castTo(DataType.DOUBLE).equalsWithEps(expectedA, 1e-4), flags + ": dA by hand");
        assertTrue(grads.get("b").castTo(DataType.DOUBLE).equalsWithEps(expectedB, 1e-4), flags + ": dB by hand");
        // the session ran the kernel: its gradients are the kernel's products bit for bit
        INDArray kernelA = Nd4j.create(DataType.FLOAT, a.shape());
        INDArray kernelB = Nd4j.create(DataType.FLOAT, b.shape());
        if (ta) {
          BatchedMatmul.multiply(b, weights, kernelA, tb, true); // op(B) · dCᵀ
        } else {
          BatchedMatmul.multiply(weights, b, kernelA, false, !tb); // dC · op(B)ᵀ
        }
        if (tb) {
          BatchedMatmul.multiply(weights, a, kernelB, true, ta); // dCᵀ · op(A)
        } else {
          BatchedMatmul.multiply(a, weights, kernelB, !ta, false); // op(A)ᵀ · dC
        }
        assertArrayEquals(kernelA.data().asFloat(), grads.get("a").data().asFloat(), flags + ": the kernel's dA");
        assertArrayEquals(kernelB.data().asFloat(), grads.get("b").data().asFloat(), flags + ": the kernel's dB");
        assertTrue(grads.get("a").equalsWithEps(da, 1e-4), flags + ": dA as libnd4j's matmul_bp");
        assertTrue(grads.get("b").equalsWithEps(db, 1e-4), flags + ": dB as libnd4j's matmul_bp");
      }
    }
  }

  private static float[] gaussian(Random random, int length) {
    float[] v = new float[length];
    for (int i = 0; i < length; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return v;
  }

  /** The product in float64, indexing the stored matrices as the javadoc of {@code multiply} says. */
  private static double[] product(float[] a, float[] b, int batch, int m, int k, int n, boolean ta, boolean tb) {
    double[] c = new double[batch * m * n];
    for (int e = 0; e < batch; e++) {
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
          double sum = 0;
          for (int p = 0; p < k; p++) {
            double x = ta ? a[e * m * k + p * m + i] : a[e * m * k + i * k + p];
            double y = tb ? b[e * k * n + j * k + p] : b[e * k * n + p * n + j];
            sum += x * y;
          }
          c[e * m * n + i * n + j] = sum;
        }
      }
    }
    return c;
  }
}
