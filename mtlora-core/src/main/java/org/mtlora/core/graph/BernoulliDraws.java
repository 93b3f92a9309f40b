package org.mtlora.core.graph;

import com.google.common.base.Preconditions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The element-wise keep decisions of a dropout mask ({@link RandomMasks}): element {@code j} of a mask drawn from
 * {@code new SplittableRandom(seed)} is kept where that generator's {@code (j+1)}-th {@code nextDouble()} is below the
 * keep probability.
 *
 * <p>{@code SplittableRandom}'s stream is SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
 * generators", 2014): its {@code k}-th value is {@code mix64(seed + k·γ)} with γ = {@code 0x9e3779b97f4a7c15} and
 * {@code nextDouble()} is that value's top 53 bits times 2⁻⁵³. So decision {@code k} needs no earlier value, and where
 * the CPU multiplies vectors of eight longs (AVX-512) eight are computed at once; elsewhere one at a time, as the
 * generator does. Both give the generator's own decisions ({@code BernoulliDrawsTest} compares them with {@code
 * SplittableRandom}); drawing a Swin-T 448 step's ~40 M mask elements one at a time took ~85 ms on 2 cores.
 */
final class BernoulliDraws {
  /** SplitMix64's increment (the golden ratio's 64-bit fraction), that of {@code new SplittableRandom(seed)}. */
  static final long GAMMA = 0x9e3779b97f4a7c15L;
  private static final long MIX1 = 0xbf58476d1ce4e5b9L;
  private static final long MIX2 = 0x94d049bb133111ebL;
  private static final VectorSpecies<Long> LONGS = LongVector.SPECIES_512;
  /**
   * Vectors of eight longs in hardware (without them, on AVX2, the vector API's 64-bit products are slower than
   * scalar code) and a little-endian CPU (pairs of floats written as longs).
   */
  private static final boolean VECTOR = VectorKernels.enabled() && LongVector.SPECIES_PREFERRED.length() >= 8
      && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

  private BernoulliDraws() {}

  /** The integer {@code T} with {@code u · 2⁻⁵³ < keepProb ⟺ u < T} for every 53-bit integer {@code u}. */
  static long threshold(double keepProb) {
    return (long) Math.ceil(keepProb * 0x1p53);
  }

  /**
   * Writes decisions {@code first + 1} to {@code first + n} of the stream of {@code seed} into elements {@code [0, n)}
   * of {@code dst}, a float buffer in native byte order: {@code kept} where the value's top 53 bits are below {@code
   * threshold} ({@link #threshold}), else 0. {@code pairs} is scratch space for {@code n / 2} longs.
   */
  static void fill(long seed, long first, long threshold, float kept, ByteBuffer dst, int n, long[] pairs) {
    Preconditions.checkArgument(dst.order() == ByteOrder.nativeOrder() && dst.capacity() >= 4L * n,
        "a native-order buffer of %s floats", n);
    int done = 0;
    if (VECTOR) {
      done = fillPairs(seed, first, threshold, kept, pairs, n / 2) * 2;
      dst.asLongBuffer().put(0, pairs, 0, done / 2);
    }
    float[] rest = new float[n - done]; // one at a time into a Java array, then one bulk copy (a put per element
    fillScalar(seed, first + done, threshold, kept, rest, rest.length); // into native memory costs more than the draw)
    dst.asFloatBuffer().put(done, rest);
  }

  /** Decisions {@code first + 1} to {@code first + n}, one at a time, into {@code dst[0, n)}. */
  static void fillScalar(long seed, long first, long threshold, float kept, float[] dst, int n) {
    long state = seed + first * GAMMA;
    for (int i = 0; i < n; i++) {
      state += GAMMA;
      dst[i] = (mix64(state) >>> 11) < threshold ? kept : 0f;
    }
  }

  /**
   * Decisions {@code first + 1} onwards in pairs, as the 64 bits of two floats in little-endian order (the decision
   * with the lower index in the low 32 bits), eight pairs at a time: writes {@code pairs[0, m)} for the largest {@code
   * m ≤ maxPairs} that is a multiple of eight and returns {@code m}.
   *
   * <p>Long vectors only: no mask and no vector of another shape, whose classes, once loaded, keep HotSpot from
   * compiling the float kernels' vector code ({@link VectorErfc}, {@link VectorExp} and the others were left boxing
   * 1.3 GB of vectors per Swin-T 448 step when this loop narrowed longs to an {@code IntVector} of 8 lanes).
   */
  static int fillPairs(long seed, long first, long threshold, float kept, long[] pairs, int maxPairs) {
    int lanes = LONGS.length();
    long[] offsets = new long[lanes];
    for (int j = 0; j < lanes; j++) {
      offsets[j] = (2L * j + 1) * GAMMA; // pair j's low decision: first + 2j + 1
    }
    long origin = seed + first * GAMMA;
    LongVector low = LongVector.fromArray(LONGS, offsets, 0).add(origin);
    LongVector high = low.add(GAMMA);
    long step = 2L * lanes * GAMMA;
    long keptLow = Integer.toUnsignedLong(Float.floatToRawIntBits(kept));
    long keptHigh = keptLow << 32;
    int m = maxPairs - maxPairs % lanes;
    for (int i = 0; i < m; i += lanes) {
      // u − T < 0 exactly where kept (both in [0, 2⁵³]): its sign spread over the lane selects kept's bits
      LongVector a = keepSign(low, threshold).and(keptLow);
      LongVector b = keepSign(high, threshold).and(keptHigh);
      a.or(b).intoArray(pairs, i);
      low = low.add(step);
      high = high.add(step);
    }
    return m;
  }

  /** −1 in the lanes whose state's value is kept, else 0. */
  private static LongVector keepSign(LongVector state, long threshold) {
    LongVector z = state;
    z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 30)).mul(MIX1);
    z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 27)).mul(MIX2);
    z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 31));
    return z.lanewise(VectorOperators.LSHR, 11).sub(threshold).lanewise(VectorOperators.ASHR, 63);
  }

  /** SplitMix64's output function (Stafford's "Mix13"). */
  private static long mix64(long z) {
    z = (z ^ (z >>> 30)) * MIX1;
    z = (z ^ (z >>> 27)) * MIX2;
    return z ^ (z >>> 31);
  }

  /**
   * Runs the vector loop until the JIT compiler has compiled it, at most {@code maxNanos}, as {@link
   * VectorKernels#warmUp} does for the other kernels (until compiled, the vector API runs 100 times slower and
   * allocates every vector). Returns the nanoseconds it took.
   */
  static long warmUp(long maxNanos) {
    long start = System.nanoTime();
    if (!VECTOR) {
      return 0;
    }
    long t = threshold(0.9);
    long[] pairs = new long[4096];
    int small = 2 * LONGS.length();
    for (int i = 0; i < 3_000 && System.nanoTime() - start < maxNanos; i++) {
      fillPairs(i, 0, t, 2f, pairs, small);
    }
    while (System.nanoTime() - start < maxNanos) {
      long t0 = System.nanoTime();
      fillPairs(1, 0, t, 2f, pairs, pairs.length);
      if (System.nanoTime() - t0 < 4L * pairs.length) { // compiled: about 0.2 ns per element, one at a time 2.7 ns
        break;
      }
    }
    return System.nanoTime() - start;
  }
}
