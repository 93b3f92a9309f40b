package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Random;
import org.apache.commons.math3.special.Erf;
import org.junit.jupiter.api.Test;

/**
 * {@link VectorGelu} against the ops it replaces computed one after the other in scalar float arithmetic, with the
 * session's {@code erfc} and {@code exp} kernels: the same bits for every element, at lengths around the lane count,
 * the chunk and the parallel threshold, and at the extremes (both tails, zeros of both signs, subnormals, infinities,
 * NaN).
 */
class VectorGeluTest {
  private static final VectorGelu.Constants C =
      new VectorGelu.Constants((float) (-1 / Math.sqrt(2)), 0.5f, -0.5f, (float) Math.sqrt(2 / Math.PI));
  private static final float[] EXTREMES = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, 1e-39f, -1e-39f,
      Float.MIN_NORMAL, -20f, -9.5f, -5f, 5f, 9.5f, 20f, 1e20f, -1e20f, Float.MAX_VALUE, -Float.MAX_VALUE,
      Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN};

  private static float[] input(int length, long seed) {
    Random random = new Random(seed);
    float[] x = new float[length];
    for (int i = 0; i < length; i++) {
      x[i] = i < EXTREMES.length ? EXTREMES[i] : (float) (3 * random.nextGaussian());
    }
    return x;
  }

  private static FloatBuffer direct(float[] values, int capacity) {
    FloatBuffer b = ByteBuffer.allocateDirect(4 * capacity).order(ByteOrder.nativeOrder()).asFloatBuffer();
    b.put(0, values);
    return b;
  }

  @Test
  void forwardHasTheBitsOfItsTenOps() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
    for (int length : new int[] {1, 7, EXTREMES.length, 8191, 8197, 4 * 8192 + 3, 70_001}) {
      float[] x = input(length, length);
      float[] a = new float[length];
      float[] s = new float[length];
      for (int i = 0; i < length; i++) {
        a[i] = x[i] * C.alpha();
        s[i] = x[i] * x[i] * C.gamma();
      }
      float[] e = VectorErfcTest.erfc(a);
      float[] g = VectorExpTest.exp(s);
      FloatBuffer in = direct(x, length);
      FloatBuffer y = direct(new float[] {}, length + 1);
      FloatBuffer d = direct(new float[] {}, length + 1);
      FloatBuffer yOnly = direct(new float[] {}, length + 1);
      y.put(length, 42f);
      d.put(length, 42f);
      VectorGelu.forward(in, y, d, C, length);
      VectorGelu.forward(in, yOnly, null, C, length);
      for (int i = 0; i < length; i++) {
        float expectedY = x[i] * e[i] * C.beta();
        float expectedD = e[i] + x[i] * g[i] * C.kappa();
        String at = "length " + length + ", x = " + x[i];
        assertEquals(expectedY, y.get(i), "y, " + at);
        assertEquals(expectedY, yOnly.get(i), "y without D, " + at);
        assertEquals(expectedD, d.get(i), "D, " + at);
      }
      assertEquals(42f, y.get(length), "nothing written past the length");
      assertEquals(42f, d.get(length), "nothing written past the length");
    }
  }

  @Test
  void forwardIsTheExactGeluAndItsDerivative() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
    float[] x = new float[2001];
    for (int i = 0; i < x.length; i++) {
      x[i] = -10f + i * 0.01f;
    }
    FloatBuffer y = direct(new float[] {}, x.length);
    FloatBuffer d = direct(new float[] {}, x.length);
    VectorGelu.forward(direct(x, x.length), y, d, C, x.length);
    for (int i = 0; i < x.length; i++) {
      double v = x[i];
      double cdf = 0.5 * Erf.erfc(-v / Math.sqrt(2));
      double pdf = Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
      // D is twice the derivative Φ(x) + x·φ(x): the backward's ½ scales it
      assertEquals(v * cdf, y.get(i), 1e-6 * Math.max(1, Math.abs(v)), "GELU at " + v);
      assertEquals(2 * (cdf + v * pdf), d.get(i), 2e-6, "2·GELU'(x) at " + v);
    }
  }

  @Test
  void backwardHasTheBitsOfItsThreeOpsInPlaceOrNot() {
    for (int length : new int[] {1, 7, 8191, 8197, 4 * 8192 + 3, 70_001}) {
      float[] dy = input(length, 3 * length);
      float[] dd = input(length, 5 * length + 1);
      for (Float plus : new Float[] {null, 0f, -0f, 0.25f}) {
        ByteBuffer dyBytes = bytes(dy, length + 1);
        ByteBuffer dBytes = bytes(dd, length + 1);
        ByteBuffer dx = bytes(new float[] {}, length + 1);
        dx.putFloat(4 * length, 42f);
        VectorGelu.backward(dyBytes, dBytes, dx, 0.5f, plus, length);
        VectorGelu.backward(dyBytes, dBytes, dyBytes, 0.5f, plus, length); // in place over dy
        for (int i = 0; i < length; i++) {
          float r = dy[i] * 0.5f * dd[i];
          float expected = plus == null ? r : r + plus;
          String at = "length " + length + ", plus " + plus + ", dy = " + dy[i] + ", D = " + dd[i];
          assertEquals(expected, dx.getFloat(4 * i), at);
          assertEquals(expected, dyBytes.getFloat(4 * i), "in place, " + at);
        }
        assertEquals(42f, dx.getFloat(4 * length), "nothing written past the length");
      }
    }
  }

  private static ByteBuffer bytes(float[] values, int capacity) {
    ByteBuffer b = ByteBuffer.allocateDirect(4 * capacity).order(ByteOrder.nativeOrder());
    b.asFloatBuffer().put(0, values);
    return b;
  }
}
