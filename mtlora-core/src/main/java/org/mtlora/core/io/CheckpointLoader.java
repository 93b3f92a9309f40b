package org.mtlora.core.io;

import com.google.common.collect.ImmutableList;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Loads a safetensors checkpoint into a {@link ParameterRegistry}, mapping file keys to registry names through a
 * {@link KeyMapper}, and reports what matched ({@link LoadReport}).
 *
 * <p>Non-strict loading applies every tensor whose name, shape and type match and reports the rest; strict loading
 * fails with a {@link CheckpointException} naming every missing, unexpected or mismatched tensor (a float parameter
 * stored as an integer type is a mismatch), before changing anything. A NaN or infinite value fails either way,
 * naming the file and the tensor, before anything is set.
 */
public final class CheckpointLoader {
  private CheckpointLoader() {}

  /** Where a file key goes. */
  public sealed interface Mapping permits Target, Ignore {}

  /** The key loads into registry parameter {@code name}. */
  public record Target(String name) implements Mapping {}

  /** The key is deliberately skipped (e.g. a buffer recomputed from the configuration), for {@code reason}. */
  public record Ignore(String reason) implements Mapping {}

  /** Maps a file key to a registry name; an empty result means "unexpected". */
  @FunctionalInterface
  public interface KeyMapper {
    Optional<Mapping> map(String fileKey, ParameterRegistry registry);

    /** Keys are registry names as they are. */
    static KeyMapper identity() {
      return (key, reg) -> reg.contains(key) ? Optional.of(new Target(key)) : Optional.empty();
    }
  }

  /**
   * Loads {@code file} into {@code registry}.
   *
   * @param expected which registry entries the file should provide (those absent are reported missing)
   * @param strict fail on anything missing, unexpected or mismatched instead of reporting it
   */
  public static LoadReport load(Path file, ParameterRegistry registry, KeyMapper mapper,
      Predicate<ParamSpec> expected, boolean strict) throws IOException {
    ImmutableList.Builder<String> unexpected = ImmutableList.builder();
    ImmutableList.Builder<String> ignored = ImmutableList.builder();
    ImmutableList.Builder<String> mismatched = ImmutableList.builder();
    Set<String> provided = new HashSet<>();
    java.util.Map<String, String> plan = new java.util.LinkedHashMap<>();
    try (SafeTensorsReader reader = SafeTensorsReader.open(file)) {
      for (TensorInfo info : reader.tensors().values()) {
        Optional<Mapping> m = mapper.map(info.name(), registry);
        if (m.isEmpty()) {
          unexpected.add(info.name());
        } else if (m.get() instanceof Ignore ig) {
          ignored.add(info.name() + " (" + ig.reason() + ")");
        } else {
          String target = ((Target) m.get()).name();
          long[] want = registry.spec(target).shape();
          String key = target.equals(info.name()) ? "" : " (file key " + info.name() + ")";
          if (!Arrays.equals(want, info.shapeArray())) {
            mismatched.add(target + ": checkpoint shape " + Arrays.toString(info.shapeArray()) + key
                + " does not match model shape " + Arrays.toString(want));
          } else if (!TensorChecks.typeFits(registry.spec(target), info.dtype())) {
            mismatched.add(target + ": stored as " + info.dtype() + key + ", expected a floating-point type "
                + "(F32, F64, F16 or BF16)");
          } else if (!provided.add(target)) {
            unexpected.add(info.name() + " (a second tensor for " + target + ")");
          } else {
            plan.put(info.name(), target);
          }
        }
      }
      ImmutableList<String> missing = registry.specs().stream()
          .filter(expected)
          .map(ParamSpec::name)
          .filter(n -> !provided.contains(n))
          .collect(ImmutableList.toImmutableList());
      LoadReport report = new LoadReport(file, ImmutableList.copyOf(plan.values()), missing, unexpected.build(),
          ignored.build(), mismatched.build());
      if (strict && !report.isClean()) {
        throw new CheckpointException("strict load failed: " + report.describe());
      }
      // Read and check every value before the registry changes: a bad tensor leaves the model as it was.
      java.util.Map<String, INDArray> values = new java.util.LinkedHashMap<>();
      for (java.util.Map.Entry<String, String> e : plan.entrySet()) {
        INDArray value = reader.read(e.getKey());
        TensorChecks.requireFinite(file, e.getKey(), value);
        values.put(e.getValue(), value.dataType() == DataType.FLOAT ? value : value.castTo(DataType.FLOAT));
      }
      values.forEach(registry::load); // the arrays are this loader's own: the registry may keep them or copy them
      return report;
    }
  }
}
