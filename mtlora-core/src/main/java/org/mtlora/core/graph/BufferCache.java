package org.mtlora.core.graph;

import com.google.common.base.Preconditions;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.samediff.internal.memory.AbstractMemoryMgr;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A SameDiff session memory manager that reuses the buffers of released arrays by <em>element count</em> rather than
 * by shape. SameDiff 1.0.0-M2.1's {@code ArrayCacheMemoryMgr} keys its cache by the exact shape, so an array of
 * {@code [3136, 96]} floats cannot serve a request for {@code [64, 49, 96]} or {@code [64, 3, 49, 32]} — same
 * length, different shape, as the reshapes and window partitions of a Swin block produce all the time — and every
 * miss costs a fresh native buffer, which libnd4j zero-fills on allocation (first touch of new pages included). Here a
 * released buffer is kept under {@code (data type, length)} and handed out again as a new array object of the requested
 * shape over the same buffer (a new object, because SameDiff tracks arrays by identity).
 *
 * <p>The same release rules as SameDiff's manager: a view, or a buffer that another array still uses, is not
 * kept; at most {@code maxCacheBytes} of released buffers are kept, the least recently released ones closed first.
 * Like SameDiff's, a reused buffer is not zeroed: ops write their whole output.
 *
 * <p>With an {@link Arena}, float and double buffers come from the arena instead of fresh native ones (which libnd4j
 * zero-fills), and a released one goes back to the arena, which serves any later request that fits in it.
 */
final class BufferCache extends AbstractMemoryMgr {
  private record Key(DataType type, long length) {}

  /** A kept buffer; compared by identity (a data buffer's own {@code equals} compares contents). */
  private static final class Slot {
    final DataBuffer buffer;
    final Key key;

    Slot(DataBuffer buffer, Key key) {
      this.buffer = buffer;
      this.key = key;
    }
  }

  private final long maxCacheBytes;
  /** Where new buffers come from when the cache has none; null: fresh native buffers. */
  private final Arena arena;
  private final Map<Key, ArrayDeque<Slot>> free = new HashMap<>();
  /** Every kept buffer, least recently released first. */
  private final Set<Slot> lru = new LinkedHashSet<>();
  private final Map<DataBuffer, Slot> kept = new IdentityHashMap<>();
  /** Arena buffers released to the arena (a second release would hand one block to two arrays). */
  private final Set<DataBuffer> givenBack = Collections.newSetFromMap(new IdentityHashMap<>());
  private long cachedBytes;
  private long hits;
  private long misses;

  BufferCache(long maxCacheBytes) {
    this(maxCacheBytes, null);
  }

  /**
   * A cache whose misses take their buffers from {@code arena} (when it serves the data type); released arena buffers
   * go back to the arena, outside the bound.
   */
  BufferCache(long maxCacheBytes, Arena arena) {
    Preconditions.checkArgument(maxCacheBytes >= 0, "maxCacheBytes must be >= 0, got %s", maxCacheBytes);
    this.maxCacheBytes = maxCacheBytes;
    this.arena = arena;
  }

  @Override
  public INDArray allocate(boolean detached, DataType dataType, long... shape) {
    return allocate(dataType, 'c', shape);
  }

  @Override
  public INDArray allocate(boolean detached, LongShapeDescriptor descriptor) {
    if (descriptor.isEmpty()) {
      INDArray empty = Nd4j.create(descriptor);
      return detached ? empty.detach() : empty;
    }
    return allocate(descriptor.dataType(), descriptor.getOrder(), descriptor.getShape());
  }

  /**
   * For a replayed step ({@link ReplayPlan}): an array of {@code descriptor} as {@link #allocate(boolean,
   * LongShapeDescriptor)} gives, but {@code previous} itself when the buffer handed out is {@code previous}'s own
   * ({@link Arena#allocate(DataType, long, DataBuffer)}). {@code previous} must be an array of {@code descriptor} that
   * the caller made over a buffer of this cache's arena, in the arena's current generation, and no longer uses.
   */
  INDArray allocate(LongShapeDescriptor descriptor, INDArray previous) {
    if (descriptor.isEmpty() || previous == null || previous.wasClosed()) {
      return allocate(false, descriptor);
    }
    return allocate(descriptor.dataType(), descriptor.getOrder(), descriptor.getShape(), previous);
  }

  /** The arena new buffers come from, or null. */
  Arena arena() {
    return arena;
  }

  private INDArray allocate(DataType dataType, char order, long[] shape) {
    return allocate(dataType, order, shape, null);
  }

  private INDArray allocate(DataType dataType, char order, long[] shape, INDArray previous) {
    long length = 1;
    for (long d : shape) {
      length *= d;
    }
    DataBuffer previousBuffer = previous == null ? null : previous.data();
    ArrayDeque<Slot> slots = free.get(new Key(dataType, length));
    Slot slot = slots == null ? null : slots.pollLast();
    DataBuffer buffer;
    if (slot == null) {
      misses++;
      buffer = arena == null || length == 0 ? null : arena.allocate(dataType, length, previousBuffer);
      if (buffer == null) {
        return Nd4j.createUninitializedDetached(dataType, order, shape);
      }
      givenBack.remove(buffer); // a buffer made again for the same block may have been given back before
    } else {
      hits++;
      lru.remove(slot);
      kept.remove(slot.buffer);
      cachedBytes -= bytes(slot.buffer);
      buffer = slot.buffer;
    }
    if (buffer == previousBuffer) {
      return previous;
    }
    return Nd4j.create(buffer, shape, Nd4j.getStrides(shape, order), 0, order, dataType);
  }

  @Override
  public void release(INDArray array) {
    Preconditions.checkNotNull(array, "array");
    DataBuffer buffer = array.data();
    if (buffer == null || array.isEmpty() || array.dataType() == DataType.UTF8 || array.isView()
        || buffer.length() != array.length() || Nd4j.getExecutioner().useCount(buffer) > 1) {
      if (array.closeable()) {
        array.close();
      }
      return;
    }
    if (kept.containsKey(buffer) || givenBack.contains(buffer)) { // the message built only when it is thrown
      throw new IllegalStateException(String.format("buffer released twice (array id %s, shape %s)", array.getId(),
          array.shapeInfoToString()));
    }
    if (arena != null && arena.release(buffer)) {
      givenBack.add(buffer);
      return;
    }
    Key key = new Key(array.dataType(), buffer.length());
    long size = bytes(buffer);
    if (size > maxCacheBytes || !array.closeable()) {
      if (array.closeable()) {
        array.close();
      }
      return;
    }
    Iterator<Slot> oldest = lru.iterator();
    while (cachedBytes + size > maxCacheBytes) {
      Slot s = oldest.next();
      oldest.remove();
      free.get(s.key).remove(s);
      kept.remove(s.buffer);
      cachedBytes -= bytes(s.buffer);
      s.buffer.close();
    }
    Slot slot = new Slot(buffer, key);
    free.computeIfAbsent(slot.key, k -> new ArrayDeque<>()).addLast(slot);
    lru.add(slot);
    kept.put(buffer, slot);
    cachedBytes += size;
  }

  @Override
  public void close() {
    for (Slot s : lru) {
      s.buffer.close();
    }
    lru.clear();
    kept.clear();
    givenBack.clear();
    free.clear();
    cachedBytes = 0;
  }

  /** Bytes of released buffers kept now. */
  long cachedBytes() {
    return cachedBytes;
  }

  /** Allocations served from the cache. */
  long hits() {
    return hits;
  }

  /** Allocations that needed a new buffer. */
  long misses() {
    return misses;
  }

  private static long bytes(DataBuffer b) {
    return b.length() * b.getElementSize();
  }
}
