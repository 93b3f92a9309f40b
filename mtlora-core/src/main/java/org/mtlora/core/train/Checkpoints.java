package org.mtlora.core.train;

import com.google.common.base.Preconditions;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.mtlora.core.io.FileHeaders;
import org.mtlora.core.io.JsonDifference;
import org.mtlora.core.io.SafeTensorsReader;
import org.mtlora.core.io.SafeTensorsWriter;
import org.mtlora.core.io.TensorChecks;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Training checkpoints: one safetensors file per checkpoint ({@code checkpoint-00001000.safetensors}), written
 * atomically, holding every trainable tensor ({@code param/<name>}), every buffer ({@code buffer/<name>}), the
 * optimiser's moments ({@code adam.m/<name>}, {@code adam.v/<name>}), and in the metadata the format version, the step,
 * the seed, the optimiser step, the hash of the frozen weights and the model description. With the step-indexed batch
 * source and masks drawn from {@code (seed, step)}, a resumed run continues exactly.
 */
public final class Checkpoints {
  /** Format name in the metadata. */
  public static final String FORMAT = "mtlora-checkpoint";
  /** The only version this code reads and writes. */
  public static final int VERSION = 1;

  private Checkpoints() {}

  /** What a checkpoint restores. */
  public record State(long step, long seed, long optimizerStep, String frozenHash, String modelDescription) {}

  /** The file of the checkpoint after {@code step} steps. */
  public static Path file(Path dir, long step) {
    return dir.resolve(String.format("checkpoint-%08d.safetensors", step));
  }

  /** Writes a checkpoint and deletes all but the newest {@code keepLast}. */
  static Path write(Path dir, long step, long seed, ParameterRegistry params, AdamW optimizer, String description,
      int keepLast) throws IOException {
    Map<String, INDArray> tensors = new LinkedHashMap<>();
    for (ParamSpec s : params.specs()) {
      if (s.isBuffer()) {
        tensors.put("buffer/" + s.name(), params.get(s.name()));
      } else if (params.isTrainable(s.name())) {
        tensors.put("param/" + s.name(), params.get(s.name()));
        tensors.put("adam.m/" + s.name(), optimizer.firstMoments().get(s.name()));
        tensors.put("adam.v/" + s.name(), optimizer.secondMoments().get(s.name()));
      }
    }
    Map<String, String> meta = FileHeaders.of(FORMAT, VERSION, params);
    meta.put("step", String.valueOf(step));
    meta.put("seed", String.valueOf(seed));
    meta.put("optimizer_step", String.valueOf(optimizer.step()));
    meta.put("model", description);
    Path file = file(dir, step);
    SafeTensorsWriter.write(file, tensors, meta);
    prune(dir, keepLast);
    return file;
  }

  /** The newest checkpoint in {@code dir}, or null. */
  public static Path latest(Path dir) throws IOException {
    List<Path> all = list(dir);
    return all.isEmpty() ? null : all.get(all.size() - 1);
  }

  private static List<Path> list(Path dir) throws IOException {
    List<Path> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "checkpoint-*.safetensors")) {
      ds.forEach(out::add);
    }
    out.sort(null);
    return out;
  }

  private static void prune(Path dir, int keepLast) throws IOException {
    List<Path> all = list(dir);
    for (int i = 0; i < all.size() - keepLast; i++) {
      Files.deleteIfExists(all.get(i));
    }
  }

  /**
   * Checks, without changing anything, that {@code file} is a checkpoint this model can resume from, and returns what
   * it restores. Refused, naming the file and the first difference: another format or version; a model description
   * that differs from {@code modelDescription} (when both are known); a set of tensors that differs from the model's
   * trainable parameters, buffers and optimiser moments; a shape that differs; a float tensor stored as an integer;
   * missing metadata; other frozen weights.
   *
   * @param modelDescription the current model's description (JSON), or null to skip that comparison
   */
  public static State validate(Path file, ParameterRegistry params, String modelDescription) throws IOException {
    try (SafeTensorsReader r = SafeTensorsReader.open(file)) {
      return validate(file, r, params, modelDescription);
    }
  }

  private static State validate(Path file, SafeTensorsReader r, ParameterRegistry params, String modelDescription) {
    Map<String, String> meta = r.metadata();
    FileHeaders.verifyFormat(file, meta, FORMAT, VERSION, "checkpoint");
    String stored = meta.get("model");
    if (modelDescription != null && stored != null) {
      JsonDifference.between(stored, modelDescription).ifPresent(d -> {
        throw new IllegalArgumentException(file + ": this checkpoint was written for another model (checkpoint vs "
            + "this run " + d + ")");
      });
    }
    Map<String, ParamSpec> expected = expectedTensors(params);
    Set<String> theirs = new TreeSet<>(r.tensors().keySet());
    if (!theirs.equals(expected.keySet())) {
      throw new IllegalArgumentException(file + ": the checkpoint's tensors do not match this model's trainable "
          + "parameters, buffers and optimiser moments (another --policy, --tasks or rank?): "
          + FileHeaders.setDifference(theirs, expected.keySet()));
    }
    expected.forEach((key, spec) -> TensorChecks.requireFits(file, r.info(key), spec));
    FileHeaders.verifyFrozen(file, meta, "checkpoint", params);
    return new State(number(file, meta, "step"), number(file, meta, "seed"), number(file, meta, "optimizer_step"),
        meta.get("frozen_sha256"), stored);
  }

  /** File key to the spec it restores, in declaration order. */
  private static Map<String, ParamSpec> expectedTensors(ParameterRegistry params) {
    Map<String, ParamSpec> keys = new TreeMap<>();
    for (ParamSpec s : params.specs()) {
      if (s.isBuffer()) {
        keys.put("buffer/" + s.name(), s);
      } else if (params.isTrainable(s.name())) {
        keys.put("param/" + s.name(), s);
        keys.put("adam.m/" + s.name(), s);
        keys.put("adam.v/" + s.name(), s);
      }
    }
    return keys;
  }

  private static long number(Path file, Map<String, String> meta, String key) {
    String v = meta.get(key);
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(file + ": checkpoint metadata '" + key + "' must be an integer, found " + v);
    }
  }

  /**
   * Restores a checkpoint into {@code params} and {@code optimizer} after {@link #validate} and a check that every
   * value is finite; nothing changes unless everything fits.
   *
   * @param modelDescription the current model's description (JSON), or null to skip that comparison
   */
  static State read(Path file, ParameterRegistry params, AdamW optimizer, String modelDescription)
      throws IOException {
    try (SafeTensorsReader r = SafeTensorsReader.open(file)) {
      State state = validate(file, r, params, modelDescription);
      Map<String, INDArray> values = new LinkedHashMap<>();
      for (String key : expectedTensors(params).keySet()) {
        INDArray v = r.read(key);
        TensorChecks.requireFinite(file, key, v);
        values.put(key, v);
      }
      Map<String, INDArray> m = new LinkedHashMap<>();
      Map<String, INDArray> v = new LinkedHashMap<>();
      for (ParamSpec s : params.specs()) {
        if (s.isBuffer()) {
          params.assign(s.name(), values.get("buffer/" + s.name()));
        } else if (params.isTrainable(s.name())) {
          params.assign(s.name(), values.get("param/" + s.name()));
          m.put(s.name(), values.get("adam.m/" + s.name()));
          v.put(s.name(), values.get("adam.v/" + s.name()));
        }
      }
      optimizer.restore(state.optimizerStep(), m, v);
      return state;
    }
  }

  /**
   * Deletes the temporary files an interrupted checkpoint write leaves ({@code .checkpoint-*.tmp}, see {@link
   * org.mtlora.core.io.AtomicFiles}); returns how many.
   */
  public static int removeStaleTemporaries(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    int n = 0;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, ".checkpoint-*.tmp")) {
      for (Path p : ds) {
        Files.deleteIfExists(p);
        n++;
      }
    }
    return n;
  }
}
