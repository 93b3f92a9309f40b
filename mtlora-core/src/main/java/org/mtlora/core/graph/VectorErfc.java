package org.mtlora.core.graph;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The complementary error function of float arrays on the JDK's vector API ({@code jdk.incubator.vector}), for the
 * exact GELU: libnd4j computes its float {@code erfc} one element at a time with glibc's {@code erfcf}, 2-9 ns per
 * element depending on the argument, while PyTorch's GELU runs vectorised (docs/performance.md, lever row "A
 * vectorised erfc"). Only {@link ErfcKernel} touches this class, and only when the module is present: loading it
 * without {@code --add-modules jdk.incubator.vector} fails.
 *
 * <p>For {@code a = |z|}, capped at 10 (where erfc is below float32's smallest value):
 *
 * <pre>
 *   t = 2 / (2 + a),   u = (2t − (1 + t₀)) / (1 − t₀) ∈ [−1, 1],  t₀ = 1/6
 *   erfc(a)  = t · exp(P(u) − a²)
 *   erfc(−a) = 2 − erfc(a)
 * </pre>
 *
 * with {@code P} of degree 10, the Chebyshev least-squares fit of {@code ln(erfc(a)/t) + a²} over {@code a ∈ [0, 10]}
 * (docs/tools/fit_erfc.py prints the coefficients; their largest error, 3.5e-8, is the relative error it adds to
 * erfc). The exponential is computed here rather than by the vector API's {@code EXP}, so that {@code a²} keeps its
 * rounding error out of it: {@code a² = hi + lo} exactly (one fused multiply-add), {@code k = round((P − hi) / ln 2)},
 * {@code r = (−hi − k·ln2ᴴ) + (P − lo) − k·ln2ᴸ} with {@code ln 2} in two parts (Cody and Waite), {@code eʳ} by its
 * Taylor polynomial of degree 7 ({@code |r| ≤ ln 2 / 2}: error 5e-9), and {@code 2ᵏ} as two factors {@code 2^⌊k/2⌋ ·
 * 2^(k−⌊k/2⌋)}, since {@code k} goes down to −146, below float32's normal range. Measured against float64 erfc: at
 * most 4 ulp over {@code [−12, 12]} ({@code VectorErfcTest}); NaN stays NaN, ±∞ give 0 and 2.
 */
final class VectorErfc {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  /** Elements per chunk: copied from the array into a Java array, transformed, copied back. */
  private static final int CHUNK = 8192;
  /** Below this many elements one thread does the whole array. */
  private static final int PARALLEL_MIN = 4 * CHUNK;

  private static final float A_MAX = 10f;
  /** {@code u = t·U_SCALE + U_SHIFT} maps {@code t ∈ [1/6, 1]} to {@code [−1, 1]}. */
  private static final float U_SCALE = 2.4f;
  private static final float U_SHIFT = -1.4f;
  /** {@code P}'s coefficients, {@code u⁰} first (docs/tools/fit_erfc.py). */
  private static final float[] P = {
    -0.5585953593254089f, 0.5703070759773254f, 0.015745073556900024f, -0.02947033755481243f,
    -0.0010455518495291471f, 0.0037074766587466f, -0.0002759611525107175f, -0.000534320599399507f,
    0.0001298682182095945f, 5.486024747369811e-05f, -2.2855769202578813e-05f
  };
  private static final float INV_LN2 = (float) (1.0 / Math.log(2.0));
  /** ln 2's leading 12 bits: {@code k · LN2_HI} is exact for the {@code k} that occur. */
  private static final float LN2_HI = 0.693145751953125f;
  private static final float LN2_LO = (float) (Math.log(2.0) - 0.693145751953125);
  /** 1.5 · 2²³: adding and subtracting it rounds a float of magnitude below 2²² to an integer. */
  private static final float ROUNDER = 12582912f;
  private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);

  private VectorErfc() {}

  /** Vector lanes of this machine's preferred float species (16 with AVX-512, 8 with AVX2). */
  static int lanes() {
    return SPECIES.length();
  }

  /**
   * Runs the kernel on small inputs until the JIT compiler has compiled it, at most {@code maxNanos}. Until then it
   * runs interpreted or from the first compiler, 500-1000 times slower (a first 4.8M-element array took 1 s): thousands
   * of one-vector calls bring the loop past the optimising compiler's invocation threshold, then chunk-sized calls show
   * when the compiled code is in (under 20 ns per element). Returns the nanoseconds it took.
   */
  static long warmUp(long maxNanos) {
    long start = System.nanoTime();
    float[] src = new float[CHUNK];
    float[] dst = new float[CHUNK];
    for (int i = 0; i < CHUNK; i++) {
      src[i] = -12f + 24f * i / CHUNK;
    }
    int lanes = SPECIES.length();
    for (int i = 0; i < 6_000 && System.nanoTime() - start < maxNanos; i++) {
      erfc(src, dst, lanes);
    }
    while (System.nanoTime() - start < maxNanos) {
      long t0 = System.nanoTime();
      erfc(src, dst, CHUNK);
      if (System.nanoTime() - t0 < 20L * CHUNK) {
        break;
      }
      for (int i = 0; i < 200; i++) {
        erfc(src, dst, lanes);
      }
    }
    return System.nanoTime() - start;
  }

  /**
   * Writes {@code erfc(in[i])} to {@code out[i]} for {@code i < length}; both buffers hold at least {@code length}
   * floats from index 0 (they may be the same buffer). Arrays of {@value #PARALLEL_MIN} elements or more are split
   * over the common fork-join pool.
   */
  static void apply(FloatBuffer in, FloatBuffer out, int length) {
    int chunks = (length + CHUNK - 1) / CHUNK;
    int tasks = length < PARALLEL_MIN ? 1 : Math.min(chunks, Runtime.getRuntime().availableProcessors());
    if (tasks == 1) {
      chunkRange(in, out, length, 0, chunks);
      return;
    }
    IntStream.range(0, tasks)
        .parallel()
        .forEach(task -> chunkRange(in, out, length, chunks * task / tasks, chunks * (task + 1) / tasks));
  }

  /** Chunks {@code [first, end)}, through two Java arrays of this task's own. */
  private static void chunkRange(FloatBuffer in, FloatBuffer out, int length, int first, int end) {
    float[] src = new float[CHUNK];
    float[] dst = new float[CHUNK];
    for (int c = first; c < end; c++) {
      int offset = c * CHUNK;
      int n = Math.min(CHUNK, length - offset);
      in.get(offset, src, 0, n);
      erfc(src, dst, n);
      out.put(offset, dst, 0, n);
    }
  }

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
}
