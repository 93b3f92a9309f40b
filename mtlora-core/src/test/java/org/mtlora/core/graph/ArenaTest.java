package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ArenaTest {
  private static final long CHUNK = 4096;

  @Test
  void buffersAreAlignedDisjointAndHoldTheirValues() {
    Arena arena = new Arena(CHUNK);
    DataBuffer a = arena.allocate(DataType.FLOAT, 10); // 40 bytes, rounded up to 64
    DataBuffer b = arena.allocate(DataType.DOUBLE, 3);
    assertEquals(0, a.address() % 64);
    assertEquals(a.address() + 64, b.address(), "the next 64-byte boundary after a's 40 bytes");
    for (int i = 0; i < 10; i++) {
      a.put(i, i + 0.5f);
    }
    b.put(0, -1.0);
    b.put(2, 7.25);
    assertEquals(9.5f, a.getFloat(9));
    assertEquals(0.5f, a.getFloat(0), "b's writes stay out of a");
    assertEquals(7.25, b.getDouble(2));
    assertTrue(arena.holds(a));
    assertTrue(arena.holds(b));
    assertFalse(arena.holds(Nd4j.ones(DataType.FLOAT, 4).data()));
    assertFalse(arena.release(Nd4j.ones(DataType.FLOAT, 4).data()),
        "a buffer that is not the arena's is not taken back");
    assertEquals(CHUNK + 64, arena.reservedBytes(), "a chunk, and room to align its start");
  }

  @Test
  void onlyFloatsAndDoublesComeFromTheArena() {
    Arena arena = new Arena(CHUNK);
    assertNull(arena.allocate(DataType.INT, 4));
    assertNull(arena.allocate(DataType.BOOL, 4));
    assertEquals(0, arena.reservedBytes());
  }

  @Test
  void resetHandsTheSameMemoryOutAgainWithoutNewChunks() {
    Arena arena = new Arena(CHUNK);
    long first = arena.allocate(DataType.FLOAT, 100).address();
    arena.allocate(DataType.FLOAT, 950); // 3,800 bytes (3,840 aligned): not in the 3,648 after the first 448
    assertEquals(2 * (CHUNK + 64), arena.reservedBytes());
    arena.reset();
    assertEquals(first, arena.allocate(DataType.FLOAT, 100).address());
    arena.allocate(DataType.FLOAT, 950);
    assertEquals(2 * (CHUNK + 64), arena.reservedBytes(), "the chunks are reused");
  }

  @Test
  void aResetAfterDiscardPagesAtResetGivesTheChunksPagesBackOnce() {
    assumeTrue(NativePages.available(), "pages are given back on Linux only");
    long page = NativePages.pageSize();
    Arena arena = new Arena(8 * page);
    int floats = (int) (8 * page / 4);
    DataBuffer all = arena.allocate(DataType.FLOAT, floats);
    fill(all, 1f);
    arena.reset(); // a plain reset keeps the pages and what they hold (the arena does not zero)
    DataBuffer again = arena.allocate(DataType.FLOAT, floats);
    assertEquals(all.address(), again.address());
    assertEquals(1f, again.getFloat(floats / 2));
    assertEquals(0, arena.pageDiscards());

    arena.discardPagesAtReset();
    arena.reset();
    assertEquals(1, arena.pageDiscards());
    DataBuffer fresh = arena.allocate(DataType.FLOAT, floats);
    assertEquals(all.address(), fresh.address(), "the same chunk: only its pages were given back");
    int perPage = (int) (page / 4);
    for (int i = 2 * perPage; i < floats - 2 * perPage; i += perPage / 2) { // whole pages, whatever the alignment
      assertEquals(0f, fresh.getFloat(i), "a page given back reads as zeros, float " + i);
    }
    fill(fresh, 2f);
    arena.reset();
    assertEquals(2f, arena.allocate(DataType.FLOAT, floats).getFloat(floats / 2), "once: the next reset keeps them");
    assertEquals(1, arena.pageDiscards());
  }

  private static void fill(DataBuffer buffer, float value) {
    for (long i = 0; i < buffer.length(); i++) {
      buffer.put(i, value);
    }
  }

  @Test
  void aRequestLargerThanAChunkGetsAChunkOfItsOwn() {
    Arena arena = new Arena(CHUNK);
    DataBuffer big = arena.allocate(DataType.FLOAT, 3000); // 12,000 bytes
    big.put(2999, 3f);
    assertEquals(3f, big.getFloat(2999));
    assertEquals(12_032 + 64, arena.reservedBytes(), "12,000 bytes rounded up to 64, and room to align");
  }

  @Test
  void escapeCopiesArraysOutOfTheArenaOnly() {
    Arena arena = new Arena(CHUNK);
    INDArray inside = Nd4j.create(arena.allocate(DataType.FLOAT, 6), new long[] {2, 3}, new long[] {3, 1}, 0, 'c',
        DataType.FLOAT);
    inside.assign(Nd4j.arange(6).castTo(DataType.FLOAT).reshape(2, 3));
    INDArray outside = Nd4j.ones(DataType.FLOAT, 2);

    INDArray copy = arena.escape(inside);
    assertNotSame(inside, copy);
    assertFalse(arena.holds(copy.data()));
    assertEquals(inside, copy);
    assertSame(outside, arena.escape(outside));

    Map<String, INDArray> returned = new LinkedHashMap<>();
    returned.put("y", inside);
    returned.put("alias", inside);
    returned.put("w", outside);
    Map<String, INDArray> escaped = arena.escapeAll(returned);
    assertSame(escaped.get("y"), escaped.get("alias"), "one copy for one array under two names");
    assertSame(outside, escaped.get("w"));
    arena.reset();
    arena.allocate(DataType.FLOAT, 6).assign(-1); // overwrite what `inside` used
    assertEquals(5f, escaped.get("y").getFloat(1, 2), "the copy does not see the arena's reuse");
  }

  @Test
  void aBlockGivenBackServesTheNextRequestThatFitsAndSplits() {
    Arena arena = new Arena(CHUNK);
    DataBuffer a = arena.allocate(DataType.FLOAT, 100); // 400 bytes, 448 aligned
    DataBuffer b = arena.allocate(DataType.FLOAT, 16);
    arena.release(a);
    DataBuffer c = arena.allocate(DataType.DOUBLE, 30); // 240 bytes, 256 aligned: the front of a's block
    assertEquals(a.address(), c.address());
    DataBuffer d = arena.allocate(DataType.FLOAT, 40); // 160 bytes, 192 aligned: the rest of a's block
    assertEquals(a.address() + 256, d.address());
    DataBuffer e = arena.allocate(DataType.FLOAT, 1);
    assertEquals(b.address() + 64, e.address(), "nothing given back fits: the next free bytes");
    arena.release(e);
    arena.reset();
    assertEquals(a.address(), arena.allocate(DataType.FLOAT, 1).address(), "a reset forgets the blocks given back");
  }

  @Test
  void neighboursGivenBackMergeAndTheLastBlockMovesTheFrontierBack() {
    Arena arena = new Arena(CHUNK);
    DataBuffer a = arena.allocate(DataType.FLOAT, 16); // 64 bytes each
    DataBuffer b = arena.allocate(DataType.FLOAT, 16);
    DataBuffer c = arena.allocate(DataType.FLOAT, 16);
    DataBuffer d = arena.allocate(DataType.FLOAT, 16);
    arena.release(a);
    arena.release(c);
    arena.release(b); // a, b and c are one free block of 192 bytes now
    assertEquals(a.address(), arena.allocate(DataType.FLOAT, 48).address(), "192 bytes fit only in the merged block");
    arena.release(d); // the last block: the next free bytes start at d again
    assertEquals(d.address(), arena.allocate(DataType.FLOAT, 100).address());
    assertEquals(CHUNK + 64, arena.reservedBytes());
  }

  @Test
  void closeFreesTheChunksAndTheArenaCanBeUsedAgain() {
    Arena arena = new Arena(CHUNK);
    arena.allocate(DataType.FLOAT, 10);
    arena.close();
    assertEquals(0, arena.reservedBytes());
    DataBuffer again = arena.allocate(DataType.FLOAT, 10);
    again.put(9, 2f);
    assertEquals(2f, again.getFloat(9));
    assertEquals(CHUNK + 64, arena.reservedBytes());
    arena.close();
  }

  @Test
  void aBufferCacheTakesItsMissesFromTheArenaAndGivesThemBack() {
    Arena arena = new Arena(CHUNK);
    BufferCache cache = new BufferCache(0, arena); // a bound of 0 keeps no buffer of its own
    INDArray a = cache.allocate(false, DataType.FLOAT, 4, 6);
    assertTrue(arena.holds(a.data()));
    long address = a.data().address();
    cache.release(a);
    INDArray b = cache.allocate(false, DataType.FLOAT, 2, 12);
    assertEquals(address, b.data().address(), "the released block serves the next request that fits");
    INDArray smaller = cache.allocate(false, DataType.FLOAT, 5);
    assertNotEquals(address, smaller.data().address(), "b holds that block now");
    INDArray ints = cache.allocate(false, DataType.INT, 3);
    assertFalse(arena.holds(ints.data()), "other types are fresh buffers");
    cache.release(b);
    assertThrows(IllegalStateException.class, () -> cache.release(b), "a second release would share the block");
    cache.close();
    assertNotEquals(0, arena.reservedBytes());
  }

  @Test
  void aBufferOfferedForItsOwnBlockIsHandedOutAgainNotRemade() {
    Arena arena = new Arena(CHUNK);
    DataBuffer a = arena.allocate(DataType.FLOAT, 100);
    DataBuffer b = arena.allocate(DataType.FLOAT, 50);
    arena.reset(); // the same requests in the same order get the same blocks
    assertSame(a, arena.allocate(DataType.FLOAT, 100, a));
    assertSame(b, arena.allocate(DataType.FLOAT, 50, b));
    arena.reset();
    DataBuffer atA = arena.allocate(DataType.FLOAT, 100, b);
    assertNotSame(b, atA, "another block: a new buffer");
    assertEquals(a.address(), atA.address());
    DataBuffer longer = arena.allocate(DataType.FLOAT, 60, b);
    assertNotSame(b, longer, "b's block, but not as many elements");
    assertEquals(b.address(), longer.address());
    arena.reset();
    DataBuffer asDoubles = arena.allocate(DataType.DOUBLE, 50, a);
    assertNotSame(a, asDoubles, "a's block, another type");
    assertEquals(DataType.DOUBLE, asDoubles.dataType());
    arena.reset();
    DataBuffer closed = arena.allocate(DataType.FLOAT, 100);
    closed.close();
    arena.reset();
    DataBuffer fresh = arena.allocate(DataType.FLOAT, 100, closed);
    assertNotSame(closed, fresh, "a closed buffer is not handed out");
    fresh.put(0, 3f);
    assertEquals(3f, fresh.getFloat(0));
  }

  @Test
  void closingTheArenaStartsANewGeneration() {
    Arena arena = new Arena(CHUNK);
    arena.allocate(DataType.FLOAT, 10);
    long before = arena.generation();
    arena.reset();
    assertEquals(before, arena.generation(), "a reset keeps the chunks: the same generation");
    arena.close();
    assertEquals(before + 1, arena.generation());
  }
}
