package org.mtlora.core.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.base.Joiner;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Reads a <a href="https://github.com/huggingface/safetensors">safetensors</a> file: an 8-byte little-endian header
 * length, a JSON header mapping names to {@code {dtype, shape, data_offsets}}, then the raw little-endian data.
 *
 * <p>The whole header is validated when the file is opened, as strictly as the reference Rust implementation: every
 * problem (truncation, bad JSON, unknown dtype, byte count not matching the shape, offsets out of range, overlapping
 * or leaving gaps, duplicate names) raises a {@link SafeTensorsException} naming the file and the tensor. Tensor data
 * is memory-mapped and copied into an {@link INDArray} only when asked for.
 *
 * <pre>{@code
 * try (SafeTensorsReader r = SafeTensorsReader.open(path)) {
 *   INDArray w = r.read("backbone.patch_embed.proj.weight");
 * }
 * }</pre>
 */
public final class SafeTensorsReader implements AutoCloseable {
  /** The reference implementation refuses headers above 100 MB; so do we. */
  static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

  private static final String METADATA_KEY = "__metadata__";
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private final Path file;
  private final FileChannel channel;
  private final long dataStart;
  private final ImmutableMap<String, TensorInfo> tensors;
  private final ImmutableMap<String, String> metadata;

  private SafeTensorsReader(
      Path file,
      FileChannel channel,
      long dataStart,
      ImmutableMap<String, TensorInfo> tensors,
      ImmutableMap<String, String> metadata) {
    this.file = file;
    this.channel = channel;
    this.dataStart = dataStart;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  /**
   * Opens and validates a file.
   *
   * @throws SafeTensorsException if the file does not follow the format
   * @throws IOException if it cannot be read
   */
  public static SafeTensorsReader open(Path file) throws IOException {
    if (java.nio.file.Files.isDirectory(file)) {
      throw new SafeTensorsException(file, "is a directory; expected a safetensors file");
    }
    FileChannel channel;
    try {
      channel = FileChannel.open(file, StandardOpenOption.READ);
    } catch (NoSuchFileException e) {
      throw new NoSuchFileException(file.toString(), null, "safetensors file does not exist");
    }
    try {
      long size = channel.size();
      if (size < 8) {
        throw new SafeTensorsException(
            file, "file is " + size + " bytes, too short for the 8-byte header length (truncated file?)");
      }
      ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(channel, lenBuf, 0);
      long headerLen = lenBuf.getLong(0);
      if (headerLen < 0 || headerLen > size - 8) {
        throw new SafeTensorsException(
            file,
            "header length " + Long.toUnsignedString(headerLen) + " runs past the end of the file ("
                + size + " bytes; at most " + (size - 8) + " expected)");
      }
      if (headerLen > MAX_HEADER_BYTES) {
        throw new SafeTensorsException(
            file, "header length " + headerLen + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
      }
      ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
      readFully(channel, headerBuf, 8);
      String header = new String(headerBuf.array(), StandardCharsets.UTF_8);
      long dataStart = 8 + headerLen;
      Parsed parsed = parseHeader(file, header, size - dataStart);
      return new SafeTensorsReader(file, channel, dataStart, parsed.tensors, parsed.metadata);
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  private record Parsed(ImmutableMap<String, TensorInfo> tensors, ImmutableMap<String, String> metadata) {}

  private static Parsed parseHeader(Path file, String header, long dataLength) throws SafeTensorsException {
    JsonNode root;
    try {
      root = JSON.readTree(header);
    } catch (JsonProcessingException e) {
      String msg = e.getOriginalMessage();
      if (msg != null && msg.startsWith("Duplicate field")) {
        throw new SafeTensorsException(file, "header names a tensor twice: " + msg, e);
      }
      throw new SafeTensorsException(file, "header is not valid JSON: " + msg, e);
    }
    if (root == null || !root.isObject()) {
      throw new SafeTensorsException(file, "header must be a JSON object of tensors, found " + describe(root));
    }
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    ImmutableMap.Builder<String, String> metadata = ImmutableMap.builder();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals(METADATA_KEY)) {
        readMetadata(file, e.getValue(), metadata);
      } else {
        tensors.put(e.getKey(), parseEntry(file, e.getKey(), e.getValue()));
      }
    }
    checkLayout(file, tensors.values(), dataLength);
    return new Parsed(ImmutableMap.copyOf(tensors), metadata.buildOrThrow());
  }

  private static void readMetadata(Path file, JsonNode node, ImmutableMap.Builder<String, String> out)
      throws SafeTensorsException {
    if (!node.isObject()) {
      throw new SafeTensorsException(file, "__metadata__ must be an object of strings, found " + describe(node));
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> m = it.next();
      if (!m.getValue().isTextual()) {
        throw new SafeTensorsException(
            file, "__metadata__ value '" + m.getKey() + "' must be a string, found " + describe(m.getValue()));
      }
      out.put(m.getKey(), m.getValue().asText());
    }
  }

  private static TensorInfo parseEntry(Path file, String name, JsonNode node) throws SafeTensorsException {
    String where = "tensor '" + name + "': ";
    if (!node.isObject()) {
      throw new SafeTensorsException(file, where + "entry must be an object, found " + describe(node));
    }
    JsonNode dtypeNode = node.get("dtype");
    if (dtypeNode == null || !dtypeNode.isTextual()) {
      throw new SafeTensorsException(file, where + "'dtype' must be a string, found " + describe(dtypeNode));
    }
    DType dtype = DType.parse(dtypeNode.asText());
    if (dtype == null) {
      throw new SafeTensorsException(
          file,
          where + "unknown dtype '" + dtypeNode.asText() + "'; expected one of " + Arrays.toString(DType.values()));
    }
    JsonNode shapeNode = node.get("shape");
    if (shapeNode == null || !shapeNode.isArray()) {
      throw new SafeTensorsException(file, where + "'shape' must be an array, found " + describe(shapeNode));
    }
    ImmutableList.Builder<Long> shape = ImmutableList.builder();
    long elements = 1;
    for (JsonNode d : shapeNode) {
      if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) {
        throw new SafeTensorsException(
            file, where + "shape " + shapeNode + " must hold non-negative integers, found " + d);
      }
      shape.add(d.asLong());
      elements = multiplyChecked(file, where, elements, d.asLong());
    }
    JsonNode offsets = node.get("data_offsets");
    if (offsets == null || !offsets.isArray() || offsets.size() != 2
        || !offsets.get(0).isIntegralNumber() || !offsets.get(1).isIntegralNumber()
        || !offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()) {
      throw new SafeTensorsException(
          file, where + "'data_offsets' must be two integers [begin, end], found " + describe(offsets));
    }
    long begin = offsets.get(0).asLong();
    long end = offsets.get(1).asLong();
    if (begin < 0 || end < begin) {
      throw new SafeTensorsException(
          file, where + "data_offsets " + offsets + " must satisfy 0 <= begin <= end");
    }
    long expectedBytes = multiplyChecked(file, where, elements, dtype.byteSize());
    if (end - begin != expectedBytes) {
      throw new SafeTensorsException(
          file,
          where + "shape " + shapeNode + " of " + dtype + " needs " + expectedBytes + " bytes, but data_offsets "
              + offsets + " give " + (end - begin));
    }
    return new TensorInfo(name, dtype, shape.build(), begin, end);
  }

  private static void checkLayout(Path file, Iterable<TensorInfo> infos, long dataLength)
      throws SafeTensorsException {
    List<TensorInfo> sorted = new ArrayList<>();
    infos.forEach(sorted::add);
    sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    long covered = 0;
    TensorInfo previous = null;
    for (TensorInfo t : sorted) {
      if (t.end() > dataLength) {
        throw new SafeTensorsException(
            file,
            "tensor '" + t.name() + "': data_offsets [" + t.begin() + ", " + t.end() + "] run past the end of the "
                + "data section, which holds " + dataLength + " bytes (truncated file or offsets out of range)");
      }
      if (t.begin() < covered) {
        throw new SafeTensorsException(
            file,
            "tensor '" + t.name() + "': data_offsets [" + t.begin() + ", " + t.end() + "] overlap tensor '"
                + previous.name() + "' [" + previous.begin() + ", " + previous.end() + "]");
      }
      if (t.begin() > covered) {
        throw new SafeTensorsException(
            file,
            "tensor '" + t.name() + "': data_offsets start at " + t.begin() + ", leaving bytes [" + covered + ", "
                + t.begin() + ") that belong to no tensor; tensors must be contiguous");
      }
      covered = t.end();
      previous = t;
    }
    if (covered != dataLength) {
      throw new SafeTensorsException(
          file,
          "data section holds " + dataLength + " bytes but the tensors cover only " + covered
              + " (trailing bytes belong to no tensor)");
    }
  }

  private static long multiplyChecked(Path file, String where, long a, long b) throws SafeTensorsException {
    try {
      return Math.multiplyExact(a, b);
    } catch (ArithmeticException e) {
      throw new SafeTensorsException(file, where + "shape is too large (element or byte count overflows)");
    }
  }

  private static String describe(JsonNode node) {
    if (node == null) {
      return "nothing";
    }
    String s = node.toString();
    return node.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " "
        + (s.length() > 60 ? s.substring(0, 60) + "..." : s);
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
    long pos = position;
    while (buf.hasRemaining()) {
      int n = ch.read(buf, pos);
      if (n < 0) {
        throw new IOException("unexpected end of file at byte " + pos);
      }
      pos += n;
    }
  }

  /** A flat C-order vector given its final shape ({@code []} for a scalar). */
  private static INDArray shaped(INDArray flat, long[] shape) {
    return shape.length == 0 ? flat.reshape(new long[0]) : flat.reshape(shape);
  }

  /** IEEE 754 binary16 to float (Java 17 has no Float.float16ToFloat). */
  static float halfToFloat(int bits) {
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1F;
    int mant = bits & 0x3FF;
    if (exp == 0x1F) {
      return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
    }
    if (exp == 0) {
      float v = mant * 0x1p-24f;
      return sign == 0 ? v : -v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  /** The file this reader reads. */
  public Path file() {
    return file;
  }

  /** Every tensor's header entry, in header order. */
  public ImmutableMap<String, TensorInfo> tensors() {
    return tensors;
  }

  /** The {@code __metadata__} strings (empty when absent). */
  public ImmutableMap<String, String> metadata() {
    return metadata;
  }

  /** Whether the file holds a tensor of this name. */
  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /** The header entry of one tensor; throws naming the file when absent. */
  public TensorInfo info(String name) {
    TensorInfo info = tensors.get(name);
    if (info == null) {
      throw new IllegalArgumentException(
          file + ": no tensor '" + name + "' (the file holds " + tensors.size() + " tensors)");
    }
    return info;
  }

  /**
   * Reads one tensor into a new array of the matching ND4J type (F16 and BF16 are widened to float32).
   *
   * @throws IllegalArgumentException if the file holds no tensor of that name
   */
  public INDArray read(String name) throws IOException {
    TensorInfo info = info(name);
    long len = info.byteLength();
    if (len > Integer.MAX_VALUE) {
      throw new SafeTensorsException(file, "tensor '" + name + "' is " + len + " bytes; at most 2 GiB is supported");
    }
    long[] shape = info.shapeArray();
    if (len == 0) {
      return Nd4j.create(info.dtype() == DType.F16 || info.dtype() == DType.BF16
          ? org.nd4j.linalg.api.buffer.DataType.FLOAT : info.dtype().nd4jType(), shape);
    }
    MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), len);
    ByteBuffer b = mapped.order(ByteOrder.LITTLE_ENDIAN);
    int n = (int) info.numElements();
    switch (info.dtype()) {
      case F32: {
        float[] v = new float[n];
        b.asFloatBuffer().get(v);
        return shaped(Nd4j.createFromArray(v), shape);
      }
      case F64: {
        double[] v = new double[n];
        b.asDoubleBuffer().get(v);
        return shaped(Nd4j.createFromArray(v), shape);
      }
      case I64: {
        long[] v = new long[n];
        b.asLongBuffer().get(v);
        return shaped(Nd4j.createFromArray(v), shape);
      }
      case I32: {
        int[] v = new int[n];
        b.asIntBuffer().get(v);
        return shaped(Nd4j.createFromArray(v), shape);
      }
      case I16: {
        short[] v = new short[n];
        b.asShortBuffer().get(v);
        return shaped(Nd4j.createFromArray(v), shape);
      }
      case I8: {
        byte[] v = new byte[n];
        b.get(v);
        return shaped(Nd4j.createFromArray(v), shape);
      }
      case U8: {
        byte[] v = new byte[n];
        b.get(v);
        return shaped(Nd4j.createFromArray(v).castTo(org.nd4j.linalg.api.buffer.DataType.UBYTE), shape);
      }
      case BOOL: {
        boolean[] v = new boolean[n];
        for (int i = 0; i < n; i++) {
          v[i] = b.get(i) != 0;
        }
        return shaped(Nd4j.createFromArray(v), shape);
      }
      case F16:
      case BF16: {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
          int bits = b.getShort(2 * i) & 0xFFFF;
          v[i] = info.dtype() == DType.BF16 ? Float.intBitsToFloat(bits << 16) : halfToFloat(bits);
        }
        return shaped(Nd4j.createFromArray(v), shape);
      }
      default:
        throw new AssertionError(info.dtype());
    }
  }

  /** Reads every tensor, in header order. */
  public Map<String, INDArray> readAll() throws IOException {
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (String name : tensors.keySet()) {
      out.put(name, read(name));
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  @Override
  public String toString() {
    return "SafeTensorsReader[" + file + ", " + tensors.size() + " tensors: "
        + Joiner.on(", ").join(tensors.keySet().stream().limit(3).iterator())
        + (tensors.size() > 3 ? ", ..." : "") + "]";
  }
}
