package org.mtlora.heads;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.core.io.SafeTensorsReader;
import org.mtlora.core.io.TensorInfo;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.testing.Fixtures;
import org.mtlora.core.io.AdapterFiles;

/**
 * An adapter file written for the fixture's configuration is one the reference accepts with {@code
 * load_state_dict(strict=False)}: every tensor it holds exists in the reference's {@code state_dict} (the fixture's
 * {@code weights-index.json}) with the same shape and dtype, and the file says which of them are buffers.
 */
class AdapterFilesReferenceTest {
  @TempDir Path tmp;

  private record Entry(List<Long> shape, String dtype, boolean buffer, boolean trainable) {}

  @Test
  void everyTensorIsAReferenceTensorOfTheSameShapeAndDtype() throws Exception {
    Path fixture = Fixtures.tiny();
    ObjectMapper json = new ObjectMapper();
    Map<String, Entry> index = new HashMap<>();
    for (JsonNode e : json.readTree(fixture.resolve("weights-index.json").toFile())) {
      List<Long> shape = new ArrayList<>();
      e.get("shape").forEach(d -> shape.add(d.asLong()));
      index.put(e.get("name").asText(), new Entry(shape, e.get("dtype").asText(),
          e.get("kind").asText().equals("buffer"), e.get("trainable").asBoolean()));
    }
    MultiTaskConfig cfg = MultiTaskConfig.read(fixture.resolve("config.json"));
    ParameterRegistry params = new MultiTaskModel(cfg).newRegistry(FreezePolicy.MTLORA_PLUS, 3);
    Path file = tmp.resolve("adapters.safetensors");
    AdapterFiles.save(file, params, cfg.toJsonString());

    TreeSet<String> buffersInFile = new TreeSet<>();
    TreeSet<String> parametersInFile = new TreeSet<>();
    try (SafeTensorsReader r = SafeTensorsReader.open(file)) {
      for (TensorInfo t : r.tensors().values()) {
        Entry ref = index.get(t.name());
        assertTrue(ref != null, t.name() + " is not in the reference's state_dict");
        assertEquals(ref.shape(), t.shape(), t.name());
        assertEquals(ref.dtype(), torchName(t), t.name());
        (ref.buffer() ? buffersInFile : parametersInFile).add(t.name());
        assertTrue(ref.buffer() || ref.trainable(), t.name() + " is frozen in the reference; adapters hold trainables");
      }
      // the file itself says which tensors are buffers, and so does the sidecar
      assertEquals(buffersInFile, names(json.readTree(r.metadata().get("buffers"))));
      assertEquals(parametersInFile, names(json.readTree(r.metadata().get("parameters"))));
    }
    JsonNode sidecar = json.readTree(AdapterFiles.sidecar(file).toFile());
    assertEquals(buffersInFile, names(sidecar.get("buffer_names")));
    assertEquals(parametersInFile, names(sidecar.get("parameter_names")));
    // every trainable tensor of the reference, and every batch-norm buffer of the heads, is in the file
    TreeSet<String> trainable = new TreeSet<>();
    index.forEach((name, e) -> {
      if (e.trainable()) {
        trainable.add(name);
      }
    });
    assertEquals(trainable, parametersInFile);
    assertEquals(12, buffersInFile.size(), buffersInFile.toString()); // running mean, var, count of 4 heads
  }

  /** Reads back what it wrote, counters included. */
  @Test
  void roundTripKeepsCountersAndStatistics() throws Exception {
    MultiTaskConfig cfg = MultiTaskConfig.read(Fixtures.tiny().resolve("config.json"));
    MultiTaskModel model = new MultiTaskModel(cfg);
    ParameterRegistry params = model.newRegistry(FreezePolicy.MTLORA_PLUS, 3);
    String counter = "decoders.decoders.sal.last_layer.1.num_batches_tracked";
    params.get(counter).assign(7);
    params.get("decoders.decoders.sal.last_layer.1.running_var").addi(0.25);
    Path file = tmp.resolve("a.safetensors");
    AdapterFiles.save(file, params, cfg.toJsonString());
    ParameterRegistry back = model.newRegistry(FreezePolicy.MTLORA_PLUS, 3);
    AdapterFiles.load(file, back);
    assertEquals(7.0, back.get(counter).getDouble(0));
    assertEquals(params.get("decoders.decoders.sal.last_layer.1.running_var"),
        back.get("decoders.decoders.sal.last_layer.1.running_var"));
  }

  private static TreeSet<String> names(JsonNode array) {
    TreeSet<String> s = new TreeSet<>();
    array.forEach(n -> s.add(n.asText()));
    return s;
  }

  private static String torchName(TensorInfo t) {
    switch (t.dtype()) {
      case F32:
        return "float32";
      case I64:
        return "int64";
      default:
        return t.dtype().name();
    }
  }
}
