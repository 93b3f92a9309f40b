package org.mtlora.core.graph;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The exponential of float arrays on the JDK's vector API ({@code jdk.incubator.vector}): libnd4j computes a float
 * {@code exp} one element at a time with glibc's {@code expf} (5.5 ms for the 4.8M elements of a stage-0 GELU
 * derivative at 448, 2 threads), and a training graph takes one per GELU, for {@code exp(−x²/2)} in its derivative
 * (docs/performance.md, lever row "Vectorised erfc and exp"). Only {@link VectorKernels} touches this class, and only
 * when the module is present.
 *
 * <pre>
 *   x capped to [−104, 89]      (beyond: 0 and +∞ in float32)
 *   k = round(x / ln 2),   r = (x − k·ln2ᴴ) − k·ln2ᴸ,  |r| ≤ ln 2 / 2
 *   eˣ = eʳ · 2^⌊k/2⌋ · 2^(k−⌊k/2⌋)
 * </pre>
 *
 * with {@code ln 2} in two parts (Cody and Waite; {@code k · ln2ᴴ} is exact), {@code eʳ} by its Taylor polynomial of
 * degree 7 (error 5e-9), {@code k} from the bits of {@code x / ln 2 + 1.5·2²³}, and {@code 2ᵏ} in two factors built
 * from exponent bits, so that results below float32's normal range round once, and overflow gives +∞. Measured
 * against float64 {@code exp}: at most 2 ulp ({@code VectorExpTest}); NaN stays NaN.
 */
final class VectorExp {
  static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  static final float INV_LN2 = (float) (1.0 / Math.log(2.0));
  /** ln 2's leading 12 bits: {@code k · LN2_HI} is exact for the {@code k} that occur. */
  static final float LN2_HI = 0.693145751953125f;
  static final float LN2_LO = (float) (Math.log(2.0) - 0.693145751953125);
  /** 1.5 · 2²³: adding and subtracting it rounds a float of magnitude below 2²² to an integer. */
  static final float ROUNDER = 12582912f;
  static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
  private static final float X_MIN = -104f;
  private static final float X_MAX = 89f;

  private VectorExp() {}

  /** Vector lanes of this machine's preferred float species (16 with AVX-512, 8 with AVX2). */
  static int lanes() {
    return SPECIES.length();
  }

  /**
   * {@code dst[i] = exp(src[i])} for {@code i < n}; the arrays' length must be a multiple of the lane count at least
   * {@code n} rounded up to it. One loop body without helper methods, as in {@link VectorErfc#erfc}.
   */
  static void exp(float[] src, float[] dst, int n) {
    VectorSpecies<Float> s = SPECIES;
    for (int i = 0; i < n; i += s.length()) {
      FloatVector x = FloatVector.fromArray(s, src, i).max(X_MIN).min(X_MAX);
      FloatVector rounded = x.fma(FloatVector.broadcast(s, INV_LN2), FloatVector.broadcast(s, ROUNDER));
      FloatVector kf = rounded.sub(ROUNDER);
      IntVector k = (IntVector) rounded.reinterpretAsInts().sub(ROUNDER_BITS);
      FloatVector r = kf.fma(FloatVector.broadcast(s, -LN2_HI), x).add(kf.mul(-LN2_LO));
      FloatVector expR = FloatVector.broadcast(s, 1f / 5040f)
          .fma(r, FloatVector.broadcast(s, 1f / 720f))
          .fma(r, FloatVector.broadcast(s, 1f / 120f))
          .fma(r, FloatVector.broadcast(s, 1f / 24f))
          .fma(r, FloatVector.broadcast(s, 1f / 6f))
          .fma(r, FloatVector.broadcast(s, 0.5f))
          .fma(r, FloatVector.broadcast(s, 1f))
          .fma(r, FloatVector.broadcast(s, 1f));
      IntVector kHalf = k.lanewise(VectorOperators.ASHR, 1);
      FloatVector scale1 = kHalf.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
      FloatVector scale2 = k.sub(kHalf).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
      expR.mul(scale1).mul(scale2).intoArray(dst, i);
    }
  }
}
