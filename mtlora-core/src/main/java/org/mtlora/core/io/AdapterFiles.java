package org.mtlora.core.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.mtlora.core.params.ParameterRegistry;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Adapter files: only the trainable tensors (adapters, norms, tables, decoders...) and the buffers (batch-norm running
 * statistics, which inference needs), under the reference's names, layouts and dtypes (float32; counters such as
 * {@code num_batches_tracked} int64), so that a PyTorch user can {@code
 * model.load_state_dict(load_file(path), strict=False)} them; plus a
 * sidecar {@code .json} with the format version, the model description, the SHA-256 of the frozen weights they
 * were trained on, and which tensors are parameters and which buffers (also in the file's metadata, as JSON arrays
 * under {@code parameters} and {@code buffers}). Loading onto a different base is refused.
 */
public final class AdapterFiles {
  /** Format name in the sidecar and metadata. */
  public static final String FORMAT = "mtlora-adapters";
  /** The only version this code reads and writes. */
  public static final int VERSION = 1;

  private AdapterFiles() {}

  /** The sidecar of an adapter file: {@code name.safetensors} gets {@code name.json}. */
  public static Path sidecar(Path file) {
    String n = file.getFileName().toString();
    String base = n.endsWith(".safetensors") ? n.substring(0, n.length() - ".safetensors".length()) : n;
    return file.resolveSibling(base + ".json");
  }

  /**
   * Writes the trainable tensors of {@code params} to {@code file} and its sidecar.
   *
   * @return the size of the tensor file in bytes
   */
  public static long save(Path file, ParameterRegistry params, String modelDescription) throws IOException {
    return save(file, sidecar(file), params, modelDescription, Map.of());
  }

  /**
   * Writes the trainable tensors of {@code params} to {@code file} (its metadata also holds {@code
   * modelDescription} under {@code model}) and the description file {@code sidecar}, which gets {@code extra}'s
   * fields too (e.g. the library version). Both files are written atomically.
   *
   * @return the size of the tensor file in bytes
   */
  public static long save(Path file, Path sidecar, ParameterRegistry params, String modelDescription,
      Map<String, String> extra) throws IOException {
    Map<String, INDArray> tensors = new LinkedHashMap<>();
    for (String name : adapterNames(params)) {
      INDArray v = params.get(name);
      tensors.put(name, params.spec(name).isCounter() ? v.castTo(DataType.LONG) : v);
    }
    ObjectMapper json = new ObjectMapper();
    ArrayNode parameterNames = json.createArrayNode();
    params.trainableNames().forEach(parameterNames::add);
    ArrayNode bufferNames = json.createArrayNode();
    bufferNames(params).forEach(bufferNames::add);
    Map<String, String> meta = FileHeaders.of(FORMAT, VERSION, params);
    meta.put("parameters", parameterNames.toString());
    meta.put("buffers", bufferNames.toString());
    meta.put("model", json.readTree(modelDescription).toString());
    String hash = meta.get("frozen_sha256");
    SafeTensorsWriter.write(file, tensors, meta);
    ObjectNode side = json.createObjectNode();
    side.put("format", FORMAT);
    side.put("version", VERSION);
    extra.forEach(side::put);
    side.put("frozen_sha256", hash);
    side.put("tensors", tensors.size());
    side.put("parameters", params.report().trainableParameters());
    side.set("parameter_names", parameterNames);
    side.set("buffer_names", bufferNames);
    side.set("model", json.readTree(modelDescription));
    byte[] bytes = json.writerWithDefaultPrettyPrinter().writeValueAsString(side).getBytes(StandardCharsets.UTF_8);
    AtomicFiles.write(sidecar, ch -> ch.write(java.nio.ByteBuffer.wrap(bytes)));
    return Files.size(file);
  }

  /**
   * The model description stored in an adapter file's metadata ({@code model}, compact JSON), or empty for files
   * written before version 0.1 kept it there. The file's format is checked first.
   */
  public static java.util.Optional<String> storedModel(Path file) throws IOException {
    try (SafeTensorsReader r = SafeTensorsReader.open(file)) {
      FileHeaders.verifyFormat(file, r.metadata(), FORMAT, VERSION, "adapter file");
      return java.util.Optional.ofNullable(r.metadata().get("model"));
    }
  }

  /** What an adapter file holds: the trainable parameters, then every buffer, in declaration order. */
  static java.util.List<String> adapterNames(ParameterRegistry params) {
    java.util.List<String> names = new java.util.ArrayList<>(params.trainableNames());
    names.addAll(bufferNames(params));
    return names;
  }

  private static java.util.List<String> bufferNames(ParameterRegistry params) {
    return params.specs().stream().filter(org.mtlora.core.params.ParamSpec::isBuffer)
        .map(org.mtlora.core.params.ParamSpec::name).toList();
  }

  /**
   * Loads adapter tensors into {@code params}. Everything is checked before anything changes; refused, naming the
   * file and the first difference: another format or version; a set of tensors that differs from the model's trainable
   * parameters and buffers (adapters trained with another policy, task list or model); a shape that differs; a float
   * tensor stored as an integer; a NaN or infinite value; adapters trained on different frozen weights.
   */
  public static void load(Path file, ParameterRegistry params) throws IOException {
    try (SafeTensorsReader r = SafeTensorsReader.open(file)) {
      FileHeaders.verifyFormat(file, r.metadata(), FORMAT, VERSION, "adapter file");
      Set<String> theirs = new TreeSet<>(r.tensors().keySet());
      Set<String> ours = new TreeSet<>(adapterNames(params));
      if (!theirs.equals(ours)) {
        throw new IllegalArgumentException(file + ": the adapter tensors do not match this model's trainable "
            + "parameters and buffers (adapters of another --policy, --tasks, rank or backbone?): "
            + FileHeaders.setDifference(theirs, ours));
      }
      for (String name : ours) {
        TensorChecks.requireFits(file, r.info(name), params.spec(name));
      }
      FileHeaders.verifyFrozen(file, r.metadata(), "adapter file", params);
      Map<String, INDArray> values = new LinkedHashMap<>();
      for (String name : ours) {
        INDArray v = r.read(name);
        TensorChecks.requireFinite(file, name, v);
        values.put(name, v);
      }
      values.forEach(params::assign);
    }
  }
}
