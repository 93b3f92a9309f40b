package org.mtlora.core.graph;

import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link BernoulliDraws}' keep decisions eight at a time, in vectors of eight longs (the JDK's vector API; touched
 * only where {@link VectorKernels#enabled} says the API is there).
 */
final class BernoulliLanes {
  private static final VectorSpecies<Long> LONGS = LongVector.SPECIES_512;

  private BernoulliLanes() {}

  /** Whether this CPU multiplies vectors of eight longs (AVX-512; on AVX2 the vector API's are slower than scalar). */
  static boolean available() {
    return LongVector.SPECIES_PREFERRED.length() >= LONGS.length();
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
      offsets[j] = (2L * j + 1) * BernoulliDraws.GAMMA; // pair j's low decision: first + 2j + 1
    }
    long origin = seed + first * BernoulliDraws.GAMMA;
    LongVector low = LongVector.fromArray(LONGS, offsets, 0).add(origin);
    LongVector high = low.add(BernoulliDraws.GAMMA);
    long step = 2L * lanes * BernoulliDraws.GAMMA;
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
    z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 30)).mul(BernoulliDraws.MIX1);
    z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 27)).mul(BernoulliDraws.MIX2);
    z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 31));
    return z.lanewise(VectorOperators.LSHR, 11).sub(threshold).lanewise(VectorOperators.ASHR, 63);
  }

  /**
   * Runs the vector loop until the JIT compiler has compiled it, at most {@code maxNanos}, as {@link
   * VectorKernels#warmUp} does for the other kernels (until compiled, the vector API runs 100 times slower and
   * allocates every vector). Returns the nanoseconds it took.
   */
  static long warmUp(long maxNanos) {
    long start = System.nanoTime();
    long t = BernoulliDraws.threshold(0.9);
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
