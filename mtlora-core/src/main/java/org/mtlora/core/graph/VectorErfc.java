package org.mtlora.core.graph;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The complementary error function of float arrays on the JDK's vector API ({@code jdk.incubator.vector}), for the
 * exact GELU: libnd4j computes its float {@code erfc} one element at a time with glibc's {@code erfcf}, 2-9 ns per
 * element depending on the argument, while PyTorch's GELU runs vectorised (docs/performance.md, lever row
 * "Vectorised erfc and exp"). Only {@link VectorKernels} touches this class, and only when the module is present:
 * loading it without {@code --add-modules jdk.incubator.vector} fails.
 *
 * <p>For {@code a = |z|}, capped at 10.5 (erfc(10.5) ≈ 7e-50 rounds to 0 in float32):
 *
 * <pre>
 *   t = 2 / (2 + a),   u = (2t − (1 + t₀)) / (1 − t₀) ∈ [−1, 1],  t₀ = 1/6
 *   erfc(a)  = t · exp(P(u) − a²)
 *   erfc(−a) = 2 − erfc(a)
 * </pre>
 *
 * with {@code P} of degree 10, the Chebyshev least-squares fit of {@code ln(erfc(a)/t) + a²} over {@code a ∈ [0, 10]}
 * (docs/tools/fit_erfc.py prints the coefficients; their largest error, 3.5e-8, is the relative error it adds to erfc;
 * from 10 to 10.5, where erfc is below float32's smallest value, {@code u} runs 1.6 % past −1). The exponential is
 * computed here rather than by the vector API's {@code EXP}, so that {@code a²} keeps its rounding error out of it:
 * {@code a² = hi + lo} exactly (one fused multiply-add), {@code k = round((P − hi) / ln 2)}, {@code r = (−hi − k·ln2ᴴ)
 * + (P − lo) − k·ln2ᴸ} with {@code ln 2} in two parts (Cody and Waite), then {@code eʳ · 2ᵏ} as in {@link VectorExp}
 * ({@code k} goes down to −161, below float32's normal range). Measured against float64 erfc: at most 4 ulp over {@code
 * [−12, 12]} ({@code VectorErfcTest}); NaN stays NaN, ±∞ give 0 and 2.
 */
final class VectorErfc {
  private static final VectorSpecies<Float> SPECIES = VectorExp.SPECIES;
  private static final float A_MAX = 10.5f;
  /** {@code u = t·U_SCALE + U_SHIFT} maps {@code t ∈ [1/6, 1]} to {@code [−1, 1]}. */
  private static final float U_SCALE = 2.4f;
  private static final float U_SHIFT = -1.4f;
  /** {@code P}'s coefficients, {@code u⁰} first (docs/tools/fit_erfc.py). */
  private static final float[] P = {
    -0.5585953593254089f, 0.5703070759773254f, 0.015745073556900024f, -0.02947033755481243f,
    -0.0010455518495291471f, 0.0037074766587466f, -0.0002759611525107175f, -0.000534320599399507f,
    0.0001298682182095945f, 5.486024747369811e-05f, -2.2855769202578813e-05f
  };
  private static final float INV_LN2 = VectorExp.INV_LN2;
  private static final float LN2_HI = VectorExp.LN2_HI;
  private static final float LN2_LO = VectorExp.LN2_LO;
  private static final float ROUNDER = VectorExp.ROUNDER;
  private static final int ROUNDER_BITS = VectorExp.ROUNDER_BITS;

  private VectorErfc() {}

  /**
   * {@code dst[i] = erfc(src[i])} for {@code i < n}; the arrays' length must be a multiple of the lane count at least
   * {@code n} rounded up to it (the lanes past {@code n} compute whatever {@code src} holds there). One loop body, the
   * constants broadcast where they are used and no helper method: that is the shape in which the JIT compiler keeps
   * every vector in registers (with the powers of two in a helper it was 3x slower).
   */
  static void erfc(float[] src, float[] dst, int n) {
    VectorSpecies<Float> s = SPECIES;
    for (int i = 0; i < n; i += s.length()) {
      FloatVector z = FloatVector.fromArray(s, src, i);
      FloatVector a = z.abs().min(A_MAX);
      FloatVector t = FloatVector.broadcast(s, 2f).div(a.add(2f));
      FloatVector u = t.fma(FloatVector.broadcast(s, U_SCALE), FloatVector.broadcast(s, U_SHIFT));
      FloatVector p = FloatVector.broadcast(s, P[10])
          .fma(u, FloatVector.broadcast(s, P[9]))
          .fma(u, FloatVector.broadcast(s, P[8]))
          .fma(u, FloatVector.broadcast(s, P[7]))
          .fma(u, FloatVector.broadcast(s, P[6]))
          .fma(u, FloatVector.broadcast(s, P[5]))
          .fma(u, FloatVector.broadcast(s, P[4]))
          .fma(u, FloatVector.broadcast(s, P[3]))
          .fma(u, FloatVector.broadcast(s, P[2]))
          .fma(u, FloatVector.broadcast(s, P[1]))
          .fma(u, FloatVector.broadcast(s, P[0]));
      FloatVector hi = a.mul(a);
      FloatVector lo = a.fma(a, hi.neg());
      // k = round((P − a²) / ln 2): as a float (kf), and from the same sum's bits as an int (k)
      FloatVector rounded = p.sub(hi).fma(FloatVector.broadcast(s, INV_LN2), FloatVector.broadcast(s, ROUNDER));
      FloatVector kf = rounded.sub(ROUNDER);
      IntVector k = (IntVector) rounded.reinterpretAsInts().sub(ROUNDER_BITS);
      FloatVector r = kf.fma(FloatVector.broadcast(s, -LN2_HI), hi.neg()).add(p.sub(lo)).add(kf.mul(-LN2_LO));
      FloatVector expR = FloatVector.broadcast(s, 1f / 5040f)
          .fma(r, FloatVector.broadcast(s, 1f / 720f))
          .fma(r, FloatVector.broadcast(s, 1f / 120f))
          .fma(r, FloatVector.broadcast(s, 1f / 24f))
          .fma(r, FloatVector.broadcast(s, 1f / 6f))
          .fma(r, FloatVector.broadcast(s, 0.5f))
          .fma(r, FloatVector.broadcast(s, 1f))
          .fma(r, FloatVector.broadcast(s, 1f));
      // 2^k as 2^⌊k/2⌋ · 2^(k−⌊k/2⌋), each from its exponent bits (k goes below float32's normal range)
      IntVector kHalf = k.lanewise(VectorOperators.ASHR, 1);
      FloatVector scale1 = kHalf.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
      FloatVector scale2 = k.sub(kHalf).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
      FloatVector upper = t.mul(expR).mul(scale1).mul(scale2);
      upper.blend(FloatVector.broadcast(s, 2f).sub(upper), z.lt(0f)).intoArray(dst, i);
    }
  }

  /**
   * {@code dst[i] = x[i] · (beta · erfc(alpha · x[i]))} for {@code i < n}, with each product rounded to float as
   * libnd4j's {@code mul_scalar}, {@code erfc}, {@code mul_scalar} and {@code multiply} round it, so the result has the
   * bits of those four ops run one after the other (with {@link #erfc} for the {@code erfc}): the exact GELU of an
   * evaluation graph ({@code alpha = −1/√2}, {@code beta = 0.5}) in one pass. Same array rules as {@link #erfc};
   * {@code x} and {@code dst} must be different arrays.
   */
  static void erfcProduct(float[] x, float[] dst, float alpha, float beta, int n) {
    VectorSpecies<Float> s = SPECIES;
    for (int i = 0; i < n; i += s.length()) {
      FloatVector.fromArray(s, x, i).mul(alpha).intoArray(dst, i);
    }
    erfc(dst, dst, n);
    for (int i = 0; i < n; i += s.length()) {
      FloatVector.fromArray(s, dst, i).mul(beta).mul(FloatVector.fromArray(s, x, i)).intoArray(dst, i);
    }
  }
}
