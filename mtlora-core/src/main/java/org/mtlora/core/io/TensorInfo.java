package org.mtlora.core.io;

import com.google.common.collect.ImmutableList;
import com.google.common.primitives.Longs;

/**
 * One entry of a safetensors header: name, element type, shape and byte range inside the data section.
 *
 * @param name tensor name
 * @param dtype element type
 * @param shape dimensions (empty for a scalar)
 * @param begin first byte, relative to the start of the data section
 * @param end one past the last byte, relative to the start of the data section
 */
public record TensorInfo(String name, DType dtype, ImmutableList<Long> shape, long begin, long end) {

  /** Number of elements (1 for a scalar). */
  public long numElements() {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  /** Shape as a {@code long[]}. */
  public long[] shapeArray() {
    return Longs.toArray(shape);
  }

  /** Size of the byte range. */
  public long byteLength() {
    return end - begin;
  }
}
