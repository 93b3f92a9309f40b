package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class VectorExpTest {
  /** The kernel's bound against float64 exp. */
  private static final double MAX_ULP = 2.0;

  static float[] exp(float... x) {
    int lanes = VectorExp.lanes();
    int padded = (x.length + lanes - 1) / lanes * lanes;
    float[] src = Arrays.copyOf(x, padded);
    float[] dst = new float[padded];
    VectorExp.exp(src, dst, x.length);
    return Arrays.copyOf(dst, x.length);
  }

  /** Error of {@code got} in units of the last place of {@code exact} rounded to float (normal range at least). */
  private static double ulpError(float got, double exact) {
    double ulp = Math.ulp(Math.max((float) exact, Float.MIN_NORMAL));
    return Math.abs(got - exact) / ulp;
  }

  @Test
  void withinTwoUlpOfFloat64FromUnderflowToOverflow() {
    int n = 400_001; // [-103, 88.7], past both ends of float32's normal range
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = -103f + 191.7f * i / (n - 1);
    }
    float[] got = exp(x);
    double worst = 0;
    float worstAt = 0;
    for (int i = 0; i < n; i++) {
      double e = ulpError(got[i], StrictMath.exp(x[i])); // Java's fdlibm: an independent float64 reference
      if (e > worst) {
        worst = e;
        worstAt = x[i];
      }
    }
    assertTrue(worst <= MAX_ULP, "worst " + worst + " ulp at x = " + worstAt);
  }

  @Test
  void handValuesAndLimits() {
    float[] got = exp(0f, 1f, -1f, -0.5f * 9f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 89f,
        88.72f, -104f, -87.33f);
    assertEquals(1f, got[0], "exp(0)");
    assertEquals(2.7182817f, got[1], Math.ulp(2.7182817f), "e");
    assertEquals(0.36787945f, got[2], Math.ulp(0.36787945f), "1/e");
    assertEquals(0.011108996538242306, got[3], 2 * Math.ulp(0.011108996f), "exp(-4.5), the GELU derivative at x = 3");
    assertTrue(Float.isNaN(got[4]), "NaN stays NaN");
    assertEquals(Float.POSITIVE_INFINITY, got[5], "exp(+inf)");
    assertEquals(0f, got[6], "exp(-inf)");
    assertEquals(Float.POSITIVE_INFINITY, got[7], "exp(89) overflows");
    assertEquals((float) Math.exp(88.72f), got[8], 2 * Math.ulp((float) Math.exp(88.72f)), "near float32's largest");
    assertEquals(0f, got[9], "exp(-104) underflows");
    assertEquals((float) Math.exp(-87.33f), got[10], 2 * Math.ulp(Float.MIN_NORMAL), "at the edge of the normal range");
  }
}
