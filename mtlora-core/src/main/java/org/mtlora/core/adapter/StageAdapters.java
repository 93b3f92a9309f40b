package org.mtlora.core.adapter;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableMap;
import java.util.Map;

/**
 * The adapters of one backbone stage: the task-agnostic (shared) adapter's size, the size every task-specific adapter
 * gets unless overridden for that task, and the LoRA dropout probability.
 *
 * @param shared the shared adapter of every adapted layer of the stage
 * @param task each task's adapter in the stage's last block
 * @param taskOverrides sizes of named tasks that differ from {@code task}
 * @param dropout LoRA dropout probability in [0, 1)
 */
public record StageAdapters(LoraSize shared, LoraSize task, ImmutableMap<String, LoraSize> taskOverrides,
    double dropout) {
  public StageAdapters {
    Preconditions.checkNotNull(shared, "shared");
    Preconditions.checkNotNull(task, "task");
    taskOverrides = ImmutableMap.copyOf(taskOverrides);
    Preconditions.checkArgument(dropout >= 0 && dropout < 1, "LoRA dropout must be in [0, 1), found %s", dropout);
  }

  /** The paper's stage: shared rank {@code sharedRank}, task rank {@code taskRank}, scale 4, dropout 0.05. */
  public static StageAdapters of(int sharedRank, int taskRank) {
    return new StageAdapters(LoraSize.of(sharedRank, 4.0), LoraSize.of(taskRank, 4.0), ImmutableMap.of(), 0.05);
  }

  /** The size of {@code taskName}'s adapter in this stage. */
  public LoraSize forTask(String taskName) {
    return taskOverrides.getOrDefault(taskName, task);
  }

  /** A copy with {@code taskName}'s adapter of the given size. */
  public StageAdapters withTask(String taskName, LoraSize size) {
    Map<String, LoraSize> m = new java.util.LinkedHashMap<>(taskOverrides);
    m.put(taskName, size);
    return new StageAdapters(shared, task, ImmutableMap.copyOf(m), dropout);
  }

  /** A copy with another dropout. */
  public StageAdapters withDropout(double p) {
    return new StageAdapters(shared, task, taskOverrides, p);
  }

}
