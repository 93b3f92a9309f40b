package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erfc;
import org.nd4j.linalg.factory.Nd4j;

class VectorErfcTest {
  /** The kernel's bound against float64 erfc (docs/performance.md: measured worst 3.8 ulp). */
  private static final double MAX_ULP = 4.5;

  /** {@code erfc(z)} rounded to float, and the error of {@code got} in units of that float's last place. */
  private static double ulpError(float got, double exact) {
    float rounded = (float) exact;
    double ulp = Math.ulp(Math.max(Math.abs(rounded), Float.MIN_NORMAL));
    return Math.abs(got - exact) / ulp;
  }

  static float[] erfc(float... z) {
    int lanes = VectorExp.lanes();
    int padded = (z.length + lanes - 1) / lanes * lanes;
    float[] src = java.util.Arrays.copyOf(z, padded);
    float[] dst = new float[padded];
    VectorErfc.erfc(src, dst, z.length);
    return java.util.Arrays.copyOf(dst, z.length);
  }

  @Test
  void tableValues() {
    // erfc to 17 digits (Python's math.erfc)
    float[] z = {0f, 0.5f, -0.5f, 1f, -1f, 2.5f, -2.5f, 3f, 6f, 9f};
    double[] exact = {1.0, 0.4795001221869535, 1.5204998778130465, 0.15729920705028513, 1.842700792949715,
        4.069520174449589e-4, 1.999593047982555, 2.2090496998585438e-05, 2.1519736712498916e-17,
        4.13703174651381e-37};
    float[] got = erfc(z);
    for (int i = 0; i < z.length; i++) {
      assertTrue(ulpError(got[i], exact[i]) <= MAX_ULP, "erfc(" + z[i] + ") = " + got[i] + ", exact " + exact[i]);
    }
  }

  @Test
  void withinFourUlpOfFloat64OnADenseGrid() {
    int n = 240_001; // [-12, 12] in steps of 1e-4
    float[] z = new float[n];
    for (int i = 0; i < n; i++) {
      z[i] = -12f + 24f * i / (n - 1);
    }
    float[] got = erfc(z);
    // libm's double erfc through ND4J: an independent float64 reference
    INDArray exact = Nd4j.getExecutioner().exec(new Erfc(Nd4j.createFromArray(z).castTo(DataType.DOUBLE)));
    double worst = 0;
    float worstAt = 0;
    for (int i = 0; i < n; i++) {
      double e = ulpError(got[i], exact.getDouble(i));
      if (e > worst) {
        worst = e;
        worstAt = z[i];
      }
    }
    assertTrue(worst <= MAX_ULP, "worst " + worst + " ulp at z = " + worstAt);
  }

  @Test
  void specialValues() {
    float[] got = erfc(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, 10f, 30f, -30f, 1e-30f);
    assertTrue(Float.isNaN(got[0]), "NaN stays NaN");
    assertEquals(0f, got[1], "erfc(+inf)");
    assertEquals(2f, got[2], "erfc(-inf)");
    assertEquals(1f, got[3], "erfc(-0)");
    assertEquals(2.088487583762545e-45, got[4], Float.MIN_VALUE * 2, "erfc(10), below the normal range");
    assertEquals(0f, got[5], "erfc(30)");
    assertEquals(2f, got[6], "erfc(-30)");
    assertEquals(1f, got[7], "erfc(1e-30)");
  }
}
