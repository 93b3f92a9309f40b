package org.mtlora.core.params;

import com.google.common.collect.ImmutableMap;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Parameter counts of a registry (buffers excluded): per role (total and trainable), per task, and overall.
 *
 * @param totalParameters every parameter element
 * @param trainableParameters elements that train
 * @param perRole total elements per role
 * @param trainablePerRole trainable elements per role
 * @param trainablePerTask trainable elements owned by each task (per-task roles only)
 */
public record ParameterReport(
    long totalParameters,
    long trainableParameters,
    ImmutableMap<Role, Long> perRole,
    ImmutableMap<Role, Long> trainablePerRole,
    ImmutableMap<String, Long> trainablePerTask) {

  static ParameterReport of(ParameterRegistry registry) {
    long total = 0;
    long trainable = 0;
    Map<Role, Long> perRole = new EnumMap<>(Role.class);
    Map<Role, Long> trainRole = new EnumMap<>(Role.class);
    Map<String, Long> perTask = new TreeMap<>();
    for (ParamSpec s : registry.specs()) {
      if (s.isBuffer()) {
        continue;
      }
      long n = s.numElements();
      total += n;
      perRole.merge(s.role(), n, Long::sum);
      if (registry.isTrainable(s.name())) {
        trainable += n;
        trainRole.merge(s.role(), n, Long::sum);
        s.task().ifPresent(t -> perTask.merge(t, n, Long::sum));
      }
    }
    return new ParameterReport(total, trainable, ImmutableMap.copyOf(perRole), ImmutableMap.copyOf(trainRole),
        ImmutableMap.copyOf(perTask));
  }

  /** A human-readable table, ending with {@code trainable_parameters=N} and {@code total_parameters=N}. */
  public String format() {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%-16s %14s %14s%n", "role", "parameters", "trainable"));
    for (Map.Entry<Role, Long> e : perRole.entrySet()) {
      sb.append(String.format(Locale.ROOT, "%-16s %,14d %,14d%n", e.getKey(), e.getValue(),
          trainablePerRole.getOrDefault(e.getKey(), 0L)));
    }
    if (!trainablePerTask.isEmpty()) {
      sb.append(String.format(Locale.ROOT, "%n%-16s %14s%n", "task", "trainable"));
      trainablePerTask.forEach((t, n) -> sb.append(String.format(Locale.ROOT, "%-16s %,14d%n", t, n)));
    }
    sb.append(String.format(Locale.ROOT, "%ntrainable_parameters=%d%ntotal_parameters=%d%n", trainableParameters,
        totalParameters));
    return sb.toString();
  }
}
