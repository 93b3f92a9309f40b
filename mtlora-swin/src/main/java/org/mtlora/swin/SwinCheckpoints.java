package org.mtlora.swin;

import com.google.common.base.Preconditions;
import java.util.LinkedHashMap;
import java.util.Map;
import org.mtlora.core.io.SafeTensorsWriter;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.mtlora.core.io.CheckpointLoader;
import org.mtlora.core.io.LoadReport;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.params.Role;

/**
 * Loads Swin weights into a registry from safetensors, under either naming:
 *
 * <ul>
 *   <li>the reference's ({@code backbone.layers.0.blocks.0.attn.qkv.linear.weight}, ...), as in MTLoRA checkpoints;
 *   <li>the official Swin release's ({@code layers.0.blocks.0.attn.qkv.weight}, ...), as in the ImageNet checkpoint
 *       converted to safetensors (docs/pretrained-weights.md): {@code backbone.} is prepended and {@code .linear}
 *       inserted where the model wraps the layer in an adapter (the reference's own renaming, reference-spec §2.1).
 * </ul>
 *
 * Buffers that the model recomputes from its configuration ({@code relative_position_index}, {@code attn_mask}) are
 * ignored, and so are the ImageNet classifier's final {@code norm.*} and {@code head.*}. This class is the one place
 * where checkpoint keys are renamed.
 */
public final class SwinCheckpoints {
  private SwinCheckpoints() {}

  /** Maps reference and official keys to registry names. */
  public static final CheckpointLoader.KeyMapper KEY_MAPPER = SwinCheckpoints::map;

  static Optional<CheckpointLoader.Mapping> map(String key, ParameterRegistry registry) {
    if (key.endsWith(".relative_position_index") || key.endsWith(".attn_mask")) {
      return Optional.of(new CheckpointLoader.Ignore("buffer recomputed from the configuration"));
    }
    if (key.startsWith("head.") || key.startsWith("norm.")) {
      return Optional.of(new CheckpointLoader.Ignore("ImageNet classifier, not part of the backbone"));
    }
    if (registry.contains(key)) {
      return Optional.of(new CheckpointLoader.Target(key));
    }
    String name = key.startsWith(SwinBackbone.PREFIX + ".") ? key : SwinBackbone.PREFIX + "." + key;
    if (registry.contains(name)) {
      return Optional.of(new CheckpointLoader.Target(name));
    }
    int dot = name.lastIndexOf('.');
    String wrapped = name.substring(0, dot) + ".linear" + name.substring(dot);
    if (registry.contains(wrapped)) {
      return Optional.of(new CheckpointLoader.Target(wrapped));
    }
    return Optional.empty();
  }

  /**
   * The official Swin name of a backbone parameter: the reverse of {@link #KEY_MAPPER} ({@code
   * backbone.layers.0.blocks.1.mlp.fc1.linear.weight} to {@code layers.0.blocks.1.mlp.fc1.weight}).
   */
  public static String officialName(String registryName) {
    Preconditions.checkArgument(registryName.startsWith(SwinBackbone.PREFIX + "."), "%s is not a backbone parameter",
        registryName);
    String key = registryName.substring(SwinBackbone.PREFIX.length() + 1);
    int dot = key.lastIndexOf('.');
    return key.substring(0, dot).endsWith(".linear") ? key.substring(0, dot - ".linear".length()) + key.substring(dot)
        : key;
  }

  /**
   * Writes the pretrained part of a backbone ({@link #isPretrained}: everything but adapters and buffers) under the
   * official Swin names: a file that {@link #loadPretrained} reads, as it reads an ImageNet checkpoint.
   */
  public static void savePretrained(Path file, ParameterRegistry registry) throws IOException {
    Map<String, INDArray> tensors = new LinkedHashMap<>();
    for (ParamSpec s : registry.specs()) {
      if (isPretrained(s) && !s.isBuffer()) {
        tensors.put(officialName(s.name()), registry.get(s.name()));
      }
    }
    SafeTensorsWriter.write(file, tensors);
  }

  /** Whether a parameter comes from a pretrained (ImageNet) backbone checkpoint: every backbone non-adapter. */
  public static boolean isPretrained(ParamSpec spec) {
    return spec.name().startsWith(SwinBackbone.PREFIX + ".") && spec.role() != Role.ADAPTER_SHARED
        && spec.role() != Role.ADAPTER_TASK;
  }

  /**
   * Loads pretrained backbone weights (official or reference names). Adapters are not expected (they keep their
   * initialisation); every other backbone parameter is.
   *
   * @param strict fail, naming every tensor, if anything is missing, unexpected or of the wrong shape
   */
  public static LoadReport loadPretrained(Path file, ParameterRegistry registry, boolean strict) throws IOException {
    return CheckpointLoader.load(file, registry, KEY_MAPPER, SwinCheckpoints::isPretrained, strict);
  }

  /** Loads a full checkpoint of the backbone including its adapters (every backbone parameter is expected). */
  public static LoadReport loadBackbone(Path file, ParameterRegistry registry, boolean strict) throws IOException {
    return CheckpointLoader.load(file, registry, KEY_MAPPER,
        s -> s.name().startsWith(SwinBackbone.PREFIX + ".") && !s.isBuffer(), strict);
  }
}
