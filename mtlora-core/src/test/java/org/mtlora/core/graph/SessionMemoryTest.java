package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.InferenceSession;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class SessionMemoryTest {

  /** relu(x·W + 1) summed over each row: a few ops whose intermediate arrays the session releases. */
  private static SameDiff graph() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 3);
    SDVariable w = sd.constant("w", Nd4j.createFromArray(new float[][] {{1, -2}, {0.5f, 1}, {-1, 3}}));
    sd.nn().relu(x.mmul(w).add(1.0), 0).sum(1).rename("y");
    return sd;
  }

  @Test
  void boundedSessionComputesTheSameValuesAndIsDroppedByRelease() {
    INDArray x = Nd4j.createFromArray(new float[][] {{1, 2, 3}, {-1, 0, 2}});
    // by hand: x·W = [[-1, 9], [-3, 8]]; +1 → [[0, 10], [-2, 9]]; relu → [[0, 10], [0, 9]]; row sums 10, 9
    INDArray expected = Nd4j.createFromArray(10f, 9f);
    for (long bound : new long[] {0, 1 << 20}) {
      SameDiff sd = graph();
      SessionMemory.boundCache(sd, bound);
      InferenceSession session = sd.getSessions().get(Thread.currentThread().getId());
      BufferCache cache = assertInstanceOf(BufferCache.class, session.getMmgr());
      assertEquals(expected, sd.output(Map.of("x", x), "y").get("y"));
      assertTrue(cache.cachedBytes() <= bound, "cache holds " + cache.cachedBytes());
      assertTrue(bound == 0 || cache.cachedBytes() > 0, "the intermediate arrays were released into the cache");
      SessionMemory.release(sd);
      assertTrue(sd.getSessions().isEmpty());
      assertEquals(0, cache.cachedBytes(), "the kept buffers are freed with the session");
    }
  }

  @Test
  void negativeBoundIsRejected() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> SessionMemory.boundCache(graph(), -1));
    assertTrue(e.getMessage().contains("maxCacheBytes"), e.getMessage());
  }
}
