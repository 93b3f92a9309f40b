package org.mtlora.core.graph;

import com.google.common.base.Preconditions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The element-wise keep decisions of a dropout mask ({@link RandomMasks}): element {@code j} of a mask drawn from
 * {@code new SplittableRandom(seed)} is kept where that generator's {@code (j+1)}-th {@code nextDouble()} is below the
 * keep probability.
 *
 * <p>{@code SplittableRandom}'s stream is SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
 * generators", 2014): its {@code k}-th value is {@code mix64(seed + k·γ)} with γ = {@code 0x9e3779b97f4a7c15} and
 * {@code nextDouble()} is that value's top 53 bits times 2⁻⁵³. So decision {@code k} needs no earlier value, and where
 * the CPU multiplies vectors of eight longs (AVX-512) eight are computed at once ({@link BernoulliLanes}); elsewhere
 * one at a time, as the generator does. Both give the generator's own decisions ({@code BernoulliDrawsTest} compares
 * them with {@code SplittableRandom}); drawing a Swin-T 448 step's ~40 M mask elements one at a time took ~85 ms on 2
 * cores.
 */
final class BernoulliDraws {
  /** SplitMix64's increment (the golden ratio's 64-bit fraction), that of {@code new SplittableRandom(seed)}. */
  static final long GAMMA = 0x9e3779b97f4a7c15L;
  static final long MIX1 = 0xbf58476d1ce4e5b9L;
  static final long MIX2 = 0x94d049bb133111ebL;
  /**
   * Whether {@link BernoulliLanes} computes eight decisions at a time: with the vector kernels on (this class must load
   * without the vector API's module, so that class is only touched then), vectors of eight longs in hardware and a
   * little-endian CPU.
   */
  private static final boolean VECTOR = VectorKernels.enabled() && BernoulliLanes.available()
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
      done = BernoulliLanes.fillPairs(seed, first, threshold, kept, pairs, n / 2) * 2;
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

  /** SplitMix64's output function (Stafford's "Mix13"). */
  private static long mix64(long z) {
    z = (z ^ (z >>> 30)) * MIX1;
    z = (z ^ (z >>> 27)) * MIX2;
    return z ^ (z >>> 31);
  }

  /** Compiles the vector loop where it runs (see {@link BernoulliLanes#warmUp}). */
  static void warmUp(long maxNanos) {
    if (VECTOR) {
      BernoulliLanes.warmUp(maxNanos);
    }
  }
}
