package org.mtlora.core.io;

import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;

/** Element types of the safetensors format, with their size in bytes and the matching ND4J type. */
public enum DType {
  F64(8, DataType.DOUBLE),
  F32(4, DataType.FLOAT),
  F16(2, DataType.HALF),
  BF16(2, DataType.BFLOAT16),
  I64(8, DataType.LONG),
  I32(4, DataType.INT),
  I16(2, DataType.SHORT),
  I8(1, DataType.BYTE),
  U8(1, DataType.UBYTE),
  BOOL(1, DataType.BOOL);

  private final int byteSize;
  private final DataType nd4j;

  DType(int byteSize, DataType nd4j) {
    this.byteSize = byteSize;
    this.nd4j = nd4j;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }

  /** The ND4J data type that holds this element type. */
  public DataType nd4jType() {
    return nd4j;
  }

  /** The safetensors type for an ND4J data type, or an {@link IllegalArgumentException} naming it. */
  public static DType of(DataType type) {
    for (DType d : values()) {
      if (d.nd4j == type) {
        return d;
      }
    }
    throw new IllegalArgumentException("data type " + type + " has no safetensors equivalent");
  }

  /** Parses a header dtype string ("F32", ...); null when unknown. */
  static DType parse(String s) {
    try {
      return valueOf(s.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
