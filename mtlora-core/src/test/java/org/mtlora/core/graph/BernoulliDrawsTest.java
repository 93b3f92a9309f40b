package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The keep decisions, eight at a time and one at a time, are {@code SplittableRandom}'s own. */
class BernoulliDrawsTest {
  /** Decisions {@code first + 1 ..} of {@code new SplittableRandom(seed)}, by the generator itself. */
  private static float[] expected(long seed, int first, double keep, float kept, int n) {
    SplittableRandom rng = new SplittableRandom(seed);
    for (int k = 0; k < first; k++) {
      rng.nextDouble();
    }
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = rng.nextDouble() < keep ? kept : 0f;
    }
    return out;
  }

  @Test
  void bothLoopsGiveTheGeneratorsDecisions() {
    long[] seeds = {0L, 42L, -7L, 0x9e3779b97f4a7c15L, Long.MIN_VALUE};
    double[] keeps = {0.95, 0.5, 0.1, 1.0, 0.7};
    int[] firsts = {0, 1, 13, 1000};
    int[] lengths = {0, 1, 7, 15, 16, 17, 64, 1003}; // tails shorter than, equal to and longer than eight pairs
    for (long seed : seeds) {
      for (double keep : keeps) {
        long threshold = BernoulliDraws.threshold(keep);
        for (int first : firsts) {
          for (int n : lengths) {
            float kept = (float) (1 / keep);
            float[] want = expected(seed, first, keep, kept, n);
            String at = "seed " + seed + ", keep " + keep + ", first " + first + ", n " + n;
            float[] scalar = new float[n];
            BernoulliDraws.fillScalar(seed, first, threshold, kept, scalar, n);
            assertArrayEquals(want, scalar, at);
            // eight pairs at a time: the pairs' low and high halves, then the rest one at a time
            long[] pairs = new long[n / 2];
            int m = BernoulliLanes.fillPairs(seed, first, threshold, kept, pairs, n / 2);
            assertEquals(n / 2 - (n / 2) % 8, m, at);
            for (int p = 0; p < m; p++) {
              assertEquals(want[2 * p], Float.intBitsToFloat((int) pairs[p]), at + ", pair " + p);
              assertEquals(want[2 * p + 1], Float.intBitsToFloat((int) (pairs[p] >>> 32)), at + ", pair " + p);
            }
            // into a native buffer as the masks are (the vector loop where this CPU has it)
            ByteBuffer dst = ByteBuffer.allocateDirect(4 * n).order(ByteOrder.nativeOrder());
            BernoulliDraws.fill(seed, first, threshold, kept, dst, n, new long[n / 2]);
            float[] filled = new float[n];
            dst.asFloatBuffer().get(filled);
            assertArrayEquals(want, filled, at);
          }
        }
      }
    }
  }

  /** The threshold sits exactly at the probability: 53-bit values just below it keep, the value at it drops. */
  @Test
  void thresholdIsTheFirstDroppedValue() {
    for (double keep : new double[] {0.95, 0.5, 1 / 3.0, 1.0, Math.nextUp(0.0)}) {
      long t = BernoulliDraws.threshold(keep);
      assertEquals(true, (t - 1) * 0x1p-53 < keep, "keep " + keep);
      assertEquals(false, t * 0x1p-53 < keep, "keep " + keep);
    }
    assertEquals(1L << 52, BernoulliDraws.threshold(0.5));
  }
}
