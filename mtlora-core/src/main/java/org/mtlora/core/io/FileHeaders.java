package org.mtlora.core.io;

import com.google.common.base.Preconditions;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.mtlora.core.params.ParameterRegistry;

/**
 * The metadata that checkpoints and adapter files share: format, version and the hash of the frozen weights, and the
 * checks that refuse a file of another format, version or base, naming the file.
 */
public final class FileHeaders {
  private FileHeaders() {}

  /** Metadata naming the format, its version and the frozen weights of {@code params}. */
  public static Map<String, String> of(String format, int version, ParameterRegistry params) {
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("format", format);
    meta.put("version", String.valueOf(version));
    meta.put("frozen_sha256", params.frozenHash());
    return meta;
  }

  /**
   * Refuses, naming the file, a file of another format or version, or one written for other frozen weights.
   *
   * @param kind what the file is, for the messages ("checkpoint", "adapter file")
   */
  public static void verify(Path file, Map<String, String> meta, String format, int version, String kind,
      ParameterRegistry params) {
    verifyFormat(file, meta, format, version, kind);
    verifyFrozen(file, meta, kind, params);
  }

  /** Refuses, naming the file, a file of another format or version. */
  public static void verifyFormat(Path file, Map<String, String> meta, String format, int version, String kind) {
    Preconditions.checkArgument(format.equals(meta.get("format")), "%s: not an mtlora %s (format %s)", file, kind,
        meta.get("format"));
    Preconditions.checkArgument(String.valueOf(version).equals(meta.get("version")),
        "%s: %s version %s is not supported; this build reads version %s", file, kind, meta.get("version"), version);
  }

  /** Refuses, naming the file, a file written for other frozen weights than those of {@code params}. */
  public static void verifyFrozen(Path file, Map<String, String> meta, String kind, ParameterRegistry params) {
    String hash = params.frozenHash();
    Preconditions.checkArgument(hash.equals(meta.get("frozen_sha256")),
        "%s: this %s was written for different frozen weights (sha256 %s); this model's are %s (another "
            + "--backbone-weights file?)", file, kind, meta.get("frozen_sha256"), hash);
  }

  /**
   * One message for two name sets that differ: what only the file has and what only the model has (at most a few
   * names of each).
   */
  public static String setDifference(java.util.Set<String> inFile, java.util.Set<String> inModel) {
    java.util.Set<String> onlyFile = new java.util.TreeSet<>(inFile);
    onlyFile.removeAll(inModel);
    java.util.Set<String> onlyModel = new java.util.TreeSet<>(inModel);
    onlyModel.removeAll(inFile);
    return "only in the file " + firstFew(onlyFile) + ", only in the model " + firstFew(onlyModel);
  }

  private static String firstFew(java.util.Set<String> names) {
    if (names.size() <= 4) {
      return names.toString();
    }
    return names.stream().limit(4).toList().toString().replace("]", ", ... " + (names.size() - 4) + " more]");
  }
}
