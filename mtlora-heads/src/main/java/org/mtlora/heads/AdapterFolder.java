package org.mtlora.heads;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.mtlora.core.io.JsonDifference;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.io.AdapterFiles;
import org.mtlora.tasks.Task;

/**
 * A self-describing adapter folder, as PEFT's {@code save_pretrained} writes one: {@value #CONFIG} holds everything
 * needed to rebuild the model ({@link MultiTaskConfig#toJson()} under {@code model}: backbone shape, method,
 * per-stage adapter sizes, sites, tasks with weights and channels, decoder shape) plus the format version, the library
 * version, the SHA-256 of the frozen weights and which tensors are parameters and which buffers; {@value #MODEL} holds
 * the trainable tensors and the buffers under the reference's names (loadable in PyTorch with {@code
 * load_state_dict(strict=False)}), and its metadata repeats the model description.
 *
 * <p>Reading refuses, naming the folder and what differs: a folder without either file, a file of another format or
 * version, a configuration that does not parse, a {@value #CONFIG} edited after saving (its model differs from the
 * one stored with the tensors), a tensor set that does not match the model it describes, other frozen weights.
 */
public final class AdapterFolder {
  /** The configuration file of a folder. */
  public static final String CONFIG = "adapter_config.json";
  /** The tensor file of a folder. */
  public static final String MODEL = "adapter_model.safetensors";

  private AdapterFolder() {}

  /** Writes {@code params}' trainable tensors and buffers and {@code config} to {@code dir} (created if needed). */
  public static void save(Path dir, MultiTaskConfig config, ParameterRegistry params) throws IOException {
    Files.createDirectories(dir);
    AdapterFiles.save(dir.resolve(MODEL), dir.resolve(CONFIG), params, config.toJsonString(),
        Map.of("library", "mtlora4j", "library_version", libraryVersion()));
  }

  /**
   * The model configuration a folder describes, checked against the one stored with its tensors.
   *
   * @param extraTasks tasks that are not PASCAL-Context tasks, found by name
   */
  public static MultiTaskConfig readConfig(Path dir, List<Task> extraTasks) throws IOException {
    Path config = dir.resolve(CONFIG);
    Path model = dir.resolve(MODEL);
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException(dir + ": not a folder; an adapter folder holds " + CONFIG + " and " + MODEL
          + (Files.isRegularFile(dir) && dir.toString().endsWith(".safetensors") ? " (" + dir.getFileName()
          + " is a single adapter file of an older version: " + convertHint(dir) + ")" : ""));
    }
    for (Path p : List.of(config, model)) {
      if (!Files.isRegularFile(p)) {
        throw new IllegalArgumentException(dir + ": no " + p.getFileName() + "; an adapter folder holds " + CONFIG
            + " and " + MODEL + " (written by MtLoraModel.saveAdapters, ./mtlora train or ./mtlora demo)");
      }
    }
    JsonNode side;
    try {
      side = new ObjectMapper().readTree(config.toFile());
    } catch (IOException e) {
      throw new IllegalArgumentException(config + ": not valid JSON: " + e.getMessage(), e);
    }
    if (side == null || !AdapterFiles.FORMAT.equals(side.path("format").asText())
        || side.path("version").asInt(-1) != AdapterFiles.VERSION) {
      throw new IllegalArgumentException(config + ": not an mtlora adapter configuration of format "
          + AdapterFiles.FORMAT + " version " + AdapterFiles.VERSION);
    }
    JsonNode described = side.get("model");
    MultiTaskConfig parsed;
    try {
      parsed = MultiTaskConfig.fromJson(described, extraTasks);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(config + ": model: " + e.getMessage(), e);
    }
    String stored = AdapterFiles.storedModel(model).orElseThrow(() -> new IllegalArgumentException(model
        + ": holds no model description (written by an older version): " + convertHint(model)));
    JsonNode storedJson = new ObjectMapper().readTree(stored);
    if (!storedJson.equals(described)) {
      throw new IllegalArgumentException(config + ": the model it describes differs from the one " + MODEL
          + " was saved with (was " + CONFIG + " edited?): "
          + JsonDifference.between(storedJson, described).orElse("?"));
    }
    return parsed;
  }

  /**
   * Loads a folder's tensors into {@code params}, whose model must be the one the folder describes; checks everything
   * before changing anything (see {@link AdapterFiles#load}).
   */
  public static void loadInto(Path dir, MultiTaskConfig expected, ParameterRegistry params) throws IOException {
    MultiTaskConfig found = readConfig(dir, expected.tasks());
    if (!found.equals(expected)) {
      throw new IllegalArgumentException(dir + ": adapters of another model: "
          + JsonDifference.between(found.toJson(), expected.toJson()).orElse("?"));
    }
    AdapterFiles.load(dir.resolve(MODEL), params);
  }

  private static String convertHint(Path file) {
    return "load it with the model options it was trained with (./mtlora eval --adapters " + file
        + " <the train options>) and re-save it as a folder with --save-adapters DIR, or in Java with "
        + "AdapterFiles.load(file, registry) and MtLoraModel.saveAdapters(dir)";
  }

  /** This library's version (from the build), or {@code unknown}. */
  public static String libraryVersion() {
    Properties p = new Properties();
    try (InputStream in = AdapterFolder.class.getResourceAsStream("library.properties")) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return p.getProperty("version", "unknown");
  }
}
