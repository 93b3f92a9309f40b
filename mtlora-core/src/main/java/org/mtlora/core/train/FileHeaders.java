package org.mtlora.core.train;

import com.google.common.base.Preconditions;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.mtlora.core.params.ParameterRegistry;

/** The metadata that checkpoints and adapter files share: format, version and the hash of the frozen weights. */
final class FileHeaders {
  private FileHeaders() {}

  /** Metadata naming the format, its version and the frozen weights of {@code params}. */
  static Map<String, String> of(String format, int version, ParameterRegistry params) {
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
  static void verify(Path file, Map<String, String> meta, String format, int version, String kind,
      ParameterRegistry params) {
    Preconditions.checkArgument(format.equals(meta.get("format")), "%s: not an mtlora %s (format %s)", file, kind,
        meta.get("format"));
    Preconditions.checkArgument(String.valueOf(version).equals(meta.get("version")),
        "%s: %s version %s is not supported; this build reads version %s", file, kind, meta.get("version"), version);
    String hash = params.frozenHash();
    Preconditions.checkArgument(hash.equals(meta.get("frozen_sha256")),
        "%s: this %s was written for different frozen weights (sha256 %s); this model's are %s", file, kind,
        meta.get("frozen_sha256"), hash);
  }
}
