package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class BufferCacheTest {
  private static final long FLOATS_24 = 24 * 4;

  @Test
  void aReleasedBufferServesAnotherShapeOfTheSameLength() {
    BufferCache cache = new BufferCache(1 << 20);
    INDArray a = cache.allocate(false, DataType.FLOAT, 6, 4);
    long address = a.data().address();
    cache.release(a);
    assertEquals(FLOATS_24, cache.cachedBytes());

    INDArray b = cache.allocate(false, DataType.FLOAT, 2, 3, 4);
    assertEquals(address, b.data().address(), "same buffer");
    assertNotSame(a, b, "a new array object (SameDiff tracks arrays by identity)");
    assertArrayEquals(new long[] {2, 3, 4}, b.shape());
    assertFalse(b.isView());
    assertEquals(0, cache.cachedBytes());
    assertEquals(1, cache.hits());
    assertEquals(1, cache.misses());
    // a plain c-order array over the buffer: element (1, 2, 3) is the last of the 24
    b.assign(Nd4j.arange(24).castTo(DataType.FLOAT).reshape(2, 3, 4));
    assertEquals(23f, b.getFloat(1, 2, 3));
    assertEquals(13f, b.getFloat(1, 0, 1));
  }

  @Test
  void lengthsAndTypesDoNotMix() {
    BufferCache cache = new BufferCache(1 << 20);
    INDArray a = cache.allocate(false, DataType.FLOAT, 6, 4);
    long address = a.data().address();
    cache.release(a);
    assertNotEquals(address, cache.allocate(false, DataType.FLOAT, 5, 5).data().address(), "25 elements, not 24");
    assertNotEquals(address, cache.allocate(false, DataType.DOUBLE, 6, 4).data().address(), "doubles");
    assertEquals(address, cache.allocate(false, DataType.FLOAT, 24).data().address());
    assertEquals(1, cache.hits());
    assertEquals(3, cache.misses());
  }

  @Test
  void viewsAreNotKeptAndTheirBaseStaysValid() {
    BufferCache cache = new BufferCache(1 << 20);
    INDArray base = cache.allocate(false, DataType.FLOAT, 4, 6);
    base.assign(1f);
    INDArray view = base.get(NDArrayIndex.interval(0, 2), NDArrayIndex.all());
    assertTrue(view.isView());
    cache.release(view);
    assertEquals(0, cache.cachedBytes(), "a view's buffer belongs to its base");
    assertEquals(24f, base.sumNumber().floatValue());
    INDArray next = cache.allocate(false, DataType.FLOAT, 2, 6);
    assertNotEquals(base.data().address(), next.data().address());
  }

  @Test
  void theBoundClosesTheOldestBuffersFirst() {
    BufferCache cache = new BufferCache(2 * FLOATS_24);
    INDArray first = cache.allocate(false, DataType.FLOAT, 24);
    INDArray second = cache.allocate(false, DataType.FLOAT, 24);
    INDArray third = cache.allocate(false, DataType.FLOAT, 24);
    long secondAddress = second.data().address();
    long thirdAddress = third.data().address();
    cache.release(first);
    cache.release(second);
    cache.release(third); // over the bound: the first released is closed
    assertEquals(2 * FLOATS_24, cache.cachedBytes());
    assertTrue(first.wasClosed(), "oldest buffer closed");
    assertFalse(second.wasClosed());
    // most recently released first
    assertEquals(thirdAddress, cache.allocate(false, DataType.FLOAT, 4, 6).data().address());
    assertEquals(secondAddress, cache.allocate(false, DataType.FLOAT, 6, 4).data().address());
    cache.allocate(false, DataType.FLOAT, 24);
    assertEquals(2, cache.hits());
    assertEquals(4, cache.misses());
  }

  @Test
  void anArrayLargerThanTheBoundIsClosedAtOnce() {
    BufferCache cache = new BufferCache(FLOATS_24 - 1);
    INDArray a = cache.allocate(false, DataType.FLOAT, 24);
    cache.release(a);
    assertTrue(a.wasClosed());
    assertEquals(0, cache.cachedBytes());
  }

  @Test
  void closeFreesWhatIsKept() {
    BufferCache cache = new BufferCache(1 << 20);
    INDArray a = cache.allocate(false, DataType.FLOAT, 24);
    cache.release(a);
    cache.close();
    assertTrue(a.wasClosed());
    assertEquals(0, cache.cachedBytes());
  }

  @Test
  void releasingTwiceIsRejected() {
    BufferCache cache = new BufferCache(1 << 20);
    INDArray a = cache.allocate(false, DataType.FLOAT, 24);
    cache.release(a);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> cache.release(a));
    assertTrue(e.getMessage().contains("released twice"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new BufferCache(-1));
  }

  /**
   * A chain of same-length arrays of different shapes (the reshapes and window partitions of a Swin block): values by
   * hand, and the session reused buffers across the shapes.
   */
  @Test
  void aSessionReusesBuffersAcrossShapesAndComputesTheSameValues() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, 4, 6);
    SDVariable a = x.mul(2.0); // [4, 6]
    SDVariable b = sd.reshape(a, 2, 12).add(1.0); // [2, 12]
    SDVariable c = sd.reshape(b, 3, 8).mul(3.0); // [3, 8]
    SDVariable d = sd.reshape(c, 24).sub(3.0); // [24]
    sd.reshape(d, 4, 6).mul(0.5).rename("y");
    INDArray in = Nd4j.arange(24).castTo(DataType.FLOAT).reshape(4, 6);
    // y = ((2x + 1) * 3 - 3) / 2 = 3x
    INDArray expected = in.mul(3);
    SessionMemory.boundCache(sd, 1 << 20);
    BufferCache cache = assertInstanceOf(BufferCache.class,
        sd.getSessions().get(Thread.currentThread().getId()).getMmgr());
    for (int run = 0; run < 2; run++) {
      assertEquals(expected, sd.output(Map.of("x", in), "y").get("y"));
    }
    assertTrue(cache.hits() > 0, "hits " + cache.hits() + ", misses " + cache.misses());
    SessionMemory.release(sd);
  }
}
