package org.mtlora.core.graph;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.pointers.PagedPointer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Native memory that the sessions of a training step take their new float buffers from: a buffer given back
 * ({@link #release}) is merged with the free blocks next to it and serves any later request that fits (the smallest
 * such block, the rest staying free), otherwise the next free bytes of the chunks are handed out, front to back;
 * {@link #reset}, when a session ends, takes everything back at once.
 *
 * <p>Why: every buffer libnd4j allocates is zero-filled, and a fresh page is faulted in on first touch; a Swin-T 448
 * step asks for a few thousand new buffers. The arena's chunks are allocated once, so from the second step on a
 * session's new buffers cost neither. A buffer from the arena is valid until it is given back or the next
 * {@link #reset}: whatever a session returns must be copied out first ({@link #escape}).
 *
 * <p>Only {@code FLOAT} and {@code DOUBLE} buffers come from here ({@link #allocate} returns {@code null} for other
 * types). Not thread-safe: one arena per training loop or per forward. The chunks are freed by {@link #close}, or
 * when the arena is collected.
 */
public final class Arena implements AutoCloseable {
  /** Usable size of a chunk; a larger request gets a chunk of its own size. Buffers start at 64-byte boundaries. */
  static final long CHUNK_BYTES = 64L << 20;
  private static final long ALIGN = 64;

  private final List<BytePointer> chunks = new ArrayList<>();
  private final long chunkBytes;
  /** Chunk being filled, and the first free byte in it. */
  private int current;
  private long offset;
  /** How many times the arena has been closed: a buffer made before its last close is not handed out again. */
  private long generation;
  /** Whether {@link #reset} gives the chunks' pages back to the operating system ({@link #discardPagesAtReset}). */
  private boolean discardAtReset;
  /** How many resets gave pages back. */
  private long discards;
  /** Free blocks given back since the last reset, merged with free neighbours: size by address. */
  private final TreeMap<Long, Long> freeByAddress = new TreeMap<>();
  /** The same blocks, smallest first (best fit). */
  private final TreeSet<Block> freeBySize = new TreeSet<>();

  private record Block(long size, long address) implements Comparable<Block> {
    @Override
    public int compareTo(Block o) {
      int c = Long.compare(size, o.size);
      return c != 0 ? c : Long.compare(address, o.address);
    }
  }

  /** An arena with chunks of {@value #CHUNK_BYTES} bytes, allocated when first needed. */
  public Arena() {
    this(CHUNK_BYTES);
  }

  Arena(long chunkBytes) {
    Preconditions.checkArgument(chunkBytes >= ALIGN, "chunkBytes must be >= %s, got %s", ALIGN, chunkBytes);
    this.chunkBytes = chunkBytes;
  }

  /**
   * A buffer of {@code length} elements of {@code type} in this arena, not zeroed, valid until it is given back or the
   * next {@link #reset};
   * {@code null} when {@code type} is neither {@code FLOAT} nor {@code DOUBLE}.
   */
  DataBuffer allocate(DataType type, long length) {
    return allocate(type, length, null);
  }

  /**
   * As {@link #allocate(DataType, long)}, but {@code previous} itself, not a new buffer object, when the block handed
   * out starts where {@code previous} does and {@code previous} holds as many elements of {@code type} and is not
   * closed. A replayed step asks for the same arrays in the same order in every run, so the arena hands out the same
   * blocks, and the step can keep the buffer and array objects it made (ND4J takes 10-20 µs to make an array over a
   * buffer, a training step thousands of them). Offer only a buffer this arena made in its current {@link
   * #generation}: the arena checks the address, not where the buffer came from.
   */
  DataBuffer allocate(DataType type, long length, DataBuffer previous) {
    Preconditions.checkArgument(length > 0, "length must be > 0, got %s", length);
    if (type != DataType.FLOAT && type != DataType.DOUBLE) {
      return null;
    }
    long bytes = align(length * type.width());
    Block fit = freeBySize.ceiling(new Block(bytes, Long.MIN_VALUE));
    if (fit != null) {
      removeFree(fit.address(), fit.size());
      if (fit.size() > bytes) { // sizes are multiples of ALIGN: the rest is a block of its own
        addFree(fit.address() + bytes, fit.size() - bytes);
      }
      return bufferAt(fit.address(), type, length, previous);
    }
    while (current < chunks.size() && offset + bytes > chunks.get(current).capacity()) {
      current++;
      offset = current < chunks.size() ? start(chunks.get(current)) : 0;
    }
    if (current == chunks.size()) {
      BytePointer chunk = new BytePointer(Math.max(chunkBytes, bytes) + ALIGN); // room to align its start
      chunks.add(chunk);
      offset = start(chunk);
    }
    long address = chunks.get(current).address() + offset;
    offset += bytes;
    return bufferAt(address, type, length, previous);
  }

  /**
   * Gives {@code buffer} (not a view, no longer used by any array) back for later requests before the reset, when it is
   * one of this arena's; returns whether it was.
   */
  boolean release(DataBuffer buffer) {
    long address = buffer.address();
    BytePointer chunk = chunkOf(address);
    if (chunk == null) {
      return false;
    }
    giveBack(chunk, address, align(buffer.length() * buffer.getElementSize()));
    return true;
  }

  /**
   * Frees a block of {@code chunk}, merged with the free blocks next to it in that chunk; a block that ends where the
   * next free bytes of the current chunk begin moves that frontier back instead.
   */
  private void giveBack(BytePointer chunk, long address, long bytes) {
    Long nextSize = freeByAddress.get(address + bytes);
    if (nextSize != null) {
      removeFree(address + bytes, nextSize);
      bytes += nextSize;
    }
    Map.Entry<Long, Long> prev = freeByAddress.lowerEntry(address);
    if (prev != null && prev.getKey() >= chunk.address() && prev.getKey() + prev.getValue() == address) {
      removeFree(prev.getKey(), prev.getValue());
      address = prev.getKey();
      bytes += prev.getValue();
    }
    if (chunk == chunks.get(current) && address + bytes == chunk.address() + offset) {
      offset = address - chunk.address();
    } else {
      addFree(address, bytes);
    }
  }

  private void addFree(long address, long bytes) {
    freeByAddress.put(address, bytes);
    freeBySize.add(new Block(bytes, address));
  }

  private void removeFree(long address, long bytes) {
    freeByAddress.remove(address);
    freeBySize.remove(new Block(bytes, address));
  }

  /** A buffer over the block at {@code address}: {@code previous} when it is that block's (see {@link #allocate}). */
  private DataBuffer bufferAt(long address, DataType type, long length, DataBuffer previous) {
    if (previous != null && !previous.wasClosed() && previous.address() == address && previous.dataType() == type
        && previous.length() == length) {
      return previous;
    }
    BytePointer chunk = chunkOf(address);
    PagedPointer at = new PagedPointer(chunk, length, address - chunk.address());
    Pointer typed = type == DataType.FLOAT ? at.asFloatPointer() : at.asDoublePointer();
    return Nd4j.createBuffer(typed, length, type);
  }

  private BytePointer chunkOf(long address) {
    for (BytePointer c : chunks) {
      if (address >= c.address() && address < c.address() + c.capacity()) {
        return c;
      }
    }
    return null;
  }

  /** Whether {@code buffer}'s memory lies in one of this arena's chunks. */
  boolean holds(DataBuffer buffer) {
    return chunkOf(buffer.address()) != null;
  }

  /** {@code array} itself when its memory is outside this arena, otherwise a copy outside it. */
  public INDArray escape(INDArray array) {
    if (array == null || array.isEmpty() || array.data() == null || !holds(array.data())) {
      return array;
    }
    return array.dup(array.ordering());
  }

  /**
   * The entries of {@code arrays} with each value {@linkplain #escape escaped}, in the same order; an array that occurs
   * under two names is copied once.
   */
  public Map<String, INDArray> escapeAll(Map<String, INDArray> arrays) {
    Map<INDArray, INDArray> copies = new IdentityHashMap<>();
    Map<String, INDArray> out = new LinkedHashMap<>();
    arrays.forEach((name, a) -> out.put(name, a == null ? null : copies.computeIfAbsent(a, this::escape)));
    return out;
  }

  /**
   * Takes every buffer back: the arrays handed out since the last reset must no longer be used. After {@link
   * #discardPagesAtReset} it also gives the chunks' pages back to the operating system ({@link NativePages}), keeping
   * the chunks: their next use maps fresh pages, as the first did.
   */
  public void reset() {
    freeByAddress.clear();
    freeBySize.clear();
    current = 0;
    offset = chunks.isEmpty() ? 0 : start(chunks.get(0));
    if (discardAtReset) {
      discardAtReset = false;
      boolean any = false;
      for (BytePointer chunk : chunks) {
        any |= NativePages.discard(chunk.address(), chunk.capacity());
      }
      if (any) {
        discards++;
      }
    }
  }

  /**
   * Makes the next {@link #reset} give the chunks' pages back to the operating system. For a caller whose next runs
   * lay their buffers out differently from those since the last reset — a run that recorded a {@link ReplayPlan}, whose
   * replays ask for other buffers in another order: the pages this run touched and the next ones do not would stay
   * resident beside the new layout's for good (+60-300 MB at 448, docs/performance.md, lever row "The recorded run's
   * pages given back"). The cost is one page fault per page the next run touches, once.
   */
  void discardPagesAtReset() {
    discardAtReset = true;
  }

  /** How many resets gave the chunks' pages back ({@link #discardPagesAtReset}). */
  long pageDiscards() {
    return discards;
  }

  /** Frees the chunks: every array handed out must no longer be used (the arena can be used again). */
  @Override
  public void close() {
    reset();
    chunks.forEach(Pointer::close);
    chunks.clear();
    offset = 0;
    generation++;
  }

  /**
   * How many times the arena has been closed. A buffer made in an earlier generation must not be offered to {@link
   * #allocate(DataType, long, DataBuffer)}: its block's memory was freed, even if a new chunk lies at its address.
   */
  long generation() {
    return generation;
  }

  /** Bytes of native memory the arena holds. */
  public long reservedBytes() {
    long sum = 0;
    for (BytePointer c : chunks) {
      sum += c.capacity();
    }
    return sum;
  }

  /** Offset of the first {@value #ALIGN}-byte boundary in {@code chunk}. */
  private static long start(BytePointer chunk) {
    return -chunk.address() & (ALIGN - 1);
  }

  private static long align(long bytes) {
    return (bytes + ALIGN - 1) / ALIGN * ALIGN;
  }
}
