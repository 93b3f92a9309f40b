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
import org.mtlora.core.io.SafeTensorsReader;
import org.mtlora.core.io.SafeTensorsWriter;
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
   * Restores a checkpoint into {@code params} and {@code optimizer}; refuses one written for other frozen weights or
   * in an unknown format, naming the file.
   */
  static State read(Path file, ParameterRegistry params, AdamW optimizer) throws IOException {
    try (SafeTensorsReader r = SafeTensorsReader.open(file)) {
      Map<String, String> meta = r.metadata();
      FileHeaders.verify(file, meta, FORMAT, VERSION, "checkpoint", params);
      Map<String, INDArray> m = new LinkedHashMap<>();
      Map<String, INDArray> v = new LinkedHashMap<>();
      for (ParamSpec s : params.specs()) {
        if (s.isBuffer()) {
          params.get(s.name()).assign(readTensor(r, file, "buffer/" + s.name()));
        } else if (params.isTrainable(s.name())) {
          params.get(s.name()).assign(readTensor(r, file, "param/" + s.name()));
          m.put(s.name(), readTensor(r, file, "adam.m/" + s.name()));
          v.put(s.name(), readTensor(r, file, "adam.v/" + s.name()));
        }
      }
      long optStep = Long.parseLong(meta.get("optimizer_step"));
      optimizer.restore(optStep, m, v);
      return new State(Long.parseLong(meta.get("step")), Long.parseLong(meta.get("seed")), optStep,
          meta.get("frozen_sha256"), meta.get("model"));
    }
  }

  private static INDArray readTensor(SafeTensorsReader r, Path file, String key) throws IOException {
    if (!r.contains(key)) {
      throw new IOException(file + ": checkpoint has no tensor " + key + " (the model's trainable set differs)");
    }
    return r.read(key);
  }
}
