package org.mtlora.core.train;

import com.google.common.base.Preconditions;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one data-parallel worker computed for one step: its shard's losses, the gradient of every trainable parameter
 * flattened in registry order (zeros where no path reaches the loss), and its buffers after its own running-statistics
 * update. Plain arrays, so that it travels cheaply between machines.
 *
 * @param rank the worker
 * @param batch samples in its shard
 * @param totalLoss its weighted total loss
 * @param taskLosses its loss per task, in the model's task order
 * @param gradient float32, the trainable parameters' gradients one after another in registry order
 * @param buffers the buffers (running statistics, counters) in registry order, after this shard's update
 */
public record ShardResult(int rank, int batch, double totalLoss, LinkedHashMap<String, Double> taskLosses,
    float[] gradient, double[] buffers) implements Serializable {
  private static final long serialVersionUID = 1L;

  public ShardResult {
    Preconditions.checkArgument(rank >= 0, "rank must be >= 0, found %s", rank);
    taskLosses = new LinkedHashMap<>(taskLosses);
  }

  /** The losses alone (what the driver keeps per shard). */
  Summary summary() {
    return new Summary(rank, batch, totalLoss, taskLosses);
  }

  /** A shard's losses without its tensors. */
  record Summary(int rank, int batch, double totalLoss, Map<String, Double> taskLosses) implements Serializable {
    private static final long serialVersionUID = 1L;
  }
}
