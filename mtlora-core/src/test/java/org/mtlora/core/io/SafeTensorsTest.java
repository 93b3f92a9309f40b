package org.mtlora.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.core.testing.Fixtures;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class SafeTensorsTest {
  @TempDir Path dir;

  /** A file made by hand: header JSON as given, then {@code data}. */
  private Path raw(String name, String header, byte[] data) throws IOException {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h).put(data);
    Path p = dir.resolve(name);
    Files.write(p, b.array());
    return p;
  }

  private static byte[] floats(float... v) {
    ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : v) {
      b.putFloat(f);
    }
    return b.array();
  }

  private static String messageOf(Path p) {
    SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensorsReader.open(p).close());
    assertTrue(e.getMessage().startsWith(p.toString()), "message names the file: " + e.getMessage());
    return e.getMessage();
  }

  @Test
  void readsHandWrittenFile() throws IOException {
    Path p = raw("ok.safetensors",
        "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}",
        floats(1, 2, 3, 4, 5));
    try (SafeTensorsReader r = SafeTensorsReader.open(p)) {
      assertEquals(Map.of("format", "pt"), r.metadata());
      INDArray a = r.read("a");
      assertArrayEquals(new long[] {2, 2}, a.shape());
      assertEquals(3f, a.getFloat(1, 0));
      assertEquals(5f, r.read("b").getFloat(0));
    }
  }

  @Test
  void roundTripsEverySupportedType() throws IOException {
    Map<String, INDArray> in = new LinkedHashMap<>();
    in.put("f32", Nd4j.createFromArray(new float[][] {{1.5f, -2f, 3f}, {4f, 5f, 6.25f}}));
    in.put("f64", Nd4j.createFromArray(new double[] {Math.PI, -1e-300}));
    in.put("i32", Nd4j.createFromArray(new int[] {7, -8, 255}));
    in.put("i64", Nd4j.createFromArray(new long[] {Long.MAX_VALUE, -1L}).reshape(1, 2));
    in.put("scalar", Nd4j.scalar(42f));
    in.put("view", Nd4j.arange(12).castTo(DataType.FLOAT).reshape(3, 4).transpose());
    Path p = dir.resolve("rt.safetensors");
    SafeTensorsWriter.write(p, in, Map.of("k", "v"));
    try (SafeTensorsReader r = SafeTensorsReader.open(p)) {
      assertEquals(in.keySet(), r.tensors().keySet());
      assertEquals("v", r.metadata().get("k"));
      for (Map.Entry<String, INDArray> e : in.entrySet()) {
        INDArray out = r.read(e.getKey());
        assertEquals(e.getValue().dataType(), out.dataType(), e.getKey());
        assertArrayEquals(e.getValue().shape(), out.shape(), e.getKey());
        assertEquals(e.getValue(), out, e.getKey());
      }
    }
    // The header is padded to a multiple of 8 bytes, like the reference writer.
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(0, b.getLong(0) % 8);
  }

  @Test
  void readsHalfPrecisionWidened() throws IOException {
    ByteBuffer d = ByteBuffer.allocate(6).order(ByteOrder.LITTLE_ENDIAN);
    d.putShort((short) 0x3C00).putShort((short) 0xC000).putShort((short) 0x3555); // 1, -2, 0.333...
    Path p = raw("h.safetensors", "{\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,6]}}", d.array());
    try (SafeTensorsReader r = SafeTensorsReader.open(p)) {
      INDArray h = r.read("h");
      assertEquals(1f, h.getFloat(0));
      assertEquals(-2f, h.getFloat(1));
      assertEquals(0.33325195f, h.getFloat(2), 1e-8);
    }
  }

  @Test
  void writeIsAtomicAndLeavesNoTemporaryFile() throws IOException {
    Path p = dir.resolve("a.safetensors");
    SafeTensorsWriter.write(p, Map.of("x", Nd4j.ones(DataType.FLOAT, 3)));
    SafeTensorsWriter.write(p, Map.of("y", Nd4j.zeros(DataType.FLOAT, 2)));
    try (var files = Files.list(dir)) {
      assertEquals(1, files.count());
    }
    try (SafeTensorsReader r = SafeTensorsReader.open(p)) {
      assertEquals(java.util.Set.of("y"), r.tensors().keySet());
    }
  }

  @Test
  void fixtureWeightsMatchTheirIndex() throws IOException {
    Path tiny = Fixtures.tiny();
    JsonNode index = new ObjectMapper().readTree(tiny.resolve("weights-index.json").toFile());
    try (SafeTensorsReader r = SafeTensorsReader.open(tiny.resolve("weights.safetensors"))) {
      assertEquals(346, r.tensors().size());
      assertEquals(346, index.size());
      for (JsonNode e : index) {
        String name = e.get("name").asText();
        TensorInfo info = r.info(name);
        long[] shape = new long[e.get("shape").size()];
        for (int i = 0; i < shape.length; i++) {
          shape[i] = e.get("shape").get(i).asLong();
        }
        assertArrayEquals(shape, info.shapeArray(), name);
        String dtype = e.get("dtype").asText();
        assertEquals(dtype.equals("float32") ? DType.F32 : DType.I64, info.dtype(), name + " " + dtype);
        INDArray arr = r.read(name);
        assertArrayEquals(shape, arr.shape(), name);
      }
    }
  }

  // ---- malformed files: each names the file, the tensor and what was expected ----

  @Test
  void rejectsFileShorterThanHeaderLength() throws IOException {
    Path p = dir.resolve("tiny");
    Files.write(p, new byte[] {1, 2, 3});
    assertTrue(messageOf(p).contains("too short for the 8-byte header length"));
  }

  @Test
  void rejectsHeaderLengthPastEnd() throws IOException {
    ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).putInt(0);
    Path p = dir.resolve("long-header");
    Files.write(p, b.array());
    String m = messageOf(p);
    assertTrue(m.contains("header length 1000 runs past the end of the file (12 bytes"), m);
  }

  @Test
  void rejectsInvalidJson() throws IOException {
    String m = messageOf(raw("bad-json", "{\"a\": {\"dtype\": ", new byte[0]));
    assertTrue(m.contains("header is not valid JSON"), m);
  }

  @Test
  void rejectsTruncatedData() throws IOException {
    Path p = raw("truncated",
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", floats(1, 2));
    String m = messageOf(p);
    assertTrue(m.contains("tensor 'w'") && m.contains("run past the end of the data section, which holds 8 bytes"), m);
  }

  @Test
  void rejectsOffsetsOutOfRange() throws IOException {
    Path p = raw("range",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[100,104]}}",
        floats(1, 2));
    String m = messageOf(p);
    assertTrue(m.contains("tensor 'b': data_offsets [100, 104] run past the end"), m);
  }

  @Test
  void rejectsNegativeOrReversedOffsets() throws IOException {
    String m = messageOf(raw("reversed",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", floats(1, 2)));
    assertTrue(m.contains("tensor 'a': data_offsets [8,4] must satisfy 0 <= begin <= end"), m);
  }

  @Test
  void rejectsOverlappingTensors() throws IOException {
    Path p = raw("overlap",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
        floats(1, 2, 3));
    String m = messageOf(p);
    assertTrue(m.contains("tensor 'b'") && m.contains("overlap tensor 'a' [0, 8]"), m);
  }

  @Test
  void rejectsGapsBetweenTensors() throws IOException {
    Path p = raw("gap",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
        floats(1, 2, 3));
    String m = messageOf(p);
    assertTrue(m.contains("tensor 'b'") && m.contains("bytes [4, 8) that belong to no tensor"), m);
  }

  @Test
  void rejectsUnknownDtype() throws IOException {
    String m = messageOf(raw("dtype",
        "{\"q\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", floats(1)));
    assertTrue(m.contains("tensor 'q': unknown dtype 'Q4'; expected one of"), m);
  }

  @Test
  void rejectsShapeNotMatchingByteCount() throws IOException {
    String m = messageOf(raw("shape",
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", new byte[20]));
    assertTrue(m.contains("tensor 'w': shape [2,3] of F32 needs 24 bytes, but data_offsets [0,20] give 20"), m);
  }

  @Test
  void rejectsDuplicateNames() throws IOException {
    String m = messageOf(raw("dup",
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
        floats(1, 2)));
    assertTrue(m.contains("names a tensor twice") && m.contains("'w'"), m);
  }

  @Test
  void rejectsNegativeShapeAndMissingFields() throws IOException {
    String m1 = messageOf(raw("neg",
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", floats(1)));
    assertTrue(m1.contains("tensor 'w': shape [-1] must hold non-negative integers"), m1);
    String m2 = messageOf(raw("nooffsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", floats(1)));
    assertTrue(m2.contains("tensor 'w': 'data_offsets' must be two integers"), m2);
    String m3 = messageOf(raw("array", "[1,2]", new byte[0]));
    assertTrue(m3.contains("header must be a JSON object"), m3);
  }

  @Test
  void rejectsTrailingBytes() throws IOException {
    String m = messageOf(raw("trailing",
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", floats(1, 2)));
    assertTrue(m.contains("data section holds 8 bytes but the tensors cover only 4"), m);
  }

  @Test
  void unknownTensorNameIsNamed() throws IOException {
    Path p = raw("ok", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", floats(1));
    try (SafeTensorsReader r = SafeTensorsReader.open(p)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.read("nope"));
      assertTrue(e.getMessage().contains("no tensor 'nope'"), e.getMessage());
    }
  }

  @Test
  void missingFileIsNamed() {
    Path p = dir.resolve("absent.safetensors");
    IOException e = assertThrows(IOException.class, () -> SafeTensorsReader.open(p));
    assertTrue(e.getMessage().contains("absent.safetensors"), e.getMessage());
  }
}
