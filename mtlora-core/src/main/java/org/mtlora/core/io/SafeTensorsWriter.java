package org.mtlora.core.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.base.Preconditions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Writes tensors as a safetensors file, atomically (see {@link AtomicFiles}). Tensors are written in the map's
 * iteration order, in C order, little-endian; the header is padded with spaces to a multiple of 8 bytes as the
 * reference implementation does.
 */
public final class SafeTensorsWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  private SafeTensorsWriter() {}

  /** Writes {@code tensors} (and optional string {@code metadata}) to {@code file}. */
  public static void write(Path file, Map<String, INDArray> tensors, Map<String, String> metadata)
      throws IOException {
    Preconditions.checkNotNull(tensors, "tensors");
    ObjectNode header = JSON.createObjectNode();
    if (metadata != null && !metadata.isEmpty()) {
      ObjectNode meta = header.putObject("__metadata__");
      metadata.forEach(meta::put);
    }
    long offset = 0;
    for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
      Preconditions.checkArgument(
          !e.getKey().equals("__metadata__"), "tensor name '__metadata__' is reserved by the format");
      INDArray arr = e.getValue();
      DType dtype = DType.of(arr.dataType());
      long bytes = arr.length() * dtype.byteSize();
      ObjectNode entry = header.putObject(e.getKey());
      entry.put("dtype", dtype.name());
      ArrayNode shape = entry.putArray("shape");
      for (long d : arr.shape()) {
        shape.add(d);
      }
      ArrayNode offsets = entry.putArray("data_offsets");
      offsets.add(offset);
      offsets.add(offset + bytes);
      offset += bytes;
    }
    byte[] json = JSON.writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8;
    ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
    head.putLong(padded);
    head.put(json);
    while (head.hasRemaining()) {
      head.put((byte) ' ');
    }
    head.flip();
    AtomicFiles.write(file, ch -> {
      writeFully(ch, head);
      for (INDArray arr : tensors.values()) {
        writeFully(ch, toBytes(arr));
      }
    });
  }

  /** Writes {@code tensors} without metadata. */
  public static void write(Path file, Map<String, INDArray> tensors) throws IOException {
    write(file, tensors, Map.of());
  }

  private static ByteBuffer toBytes(INDArray arr) {
    DType dtype = DType.of(arr.dataType());
    int n = Math.toIntExact(arr.length());
    ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(n, dtype.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
    INDArray c = arr.dup('c').reshape(arr.length());
    switch (dtype) {
      case F32:
        b.asFloatBuffer().put(c.toFloatVector());
        break;
      case F64:
        b.asDoubleBuffer().put(c.toDoubleVector());
        break;
      case I64:
        b.asLongBuffer().put(c.toLongVector());
        break;
      case I32:
        b.asIntBuffer().put(c.toIntVector());
        break;
      case I16:
      case I8:
      case U8:
      case BOOL: {
        int[] v = c.castTo(DataType.INT).toIntVector();
        for (int x : v) {
          if (dtype == DType.I16) {
            b.putShort((short) x);
          } else {
            b.put((byte) x);
          }
        }
        b.flip();
        return b;
      }
      default:
        throw new IllegalArgumentException(
            "writing " + dtype + " is not supported; convert the array to float32 first");
    }
    return b;
  }

  private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

}
