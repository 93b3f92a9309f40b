package org.mtlora.metrics;

import com.google.common.collect.ImmutableMap;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Accumulates one task's metric over an evaluation set, batch by batch. A task supplies a fresh meter for every
 * evaluation ({@code Task.newMeter()}); the evaluator feeds it the model's output and the target of each batch and
 * reads the results at the end.
 */
public interface TaskMeter {
  /**
   * Adds one batch.
   *
   * @param prediction the task's output {@code out/<task>}, {@code [B, outputChannels, H, W]}
   * @param target the batch's {@code target/<task>}, {@code [B, targetChannels, H, W]}
   */
  void add(INDArray prediction, INDArray target);

  /**
   * The metrics so far, keyed by metric name without the task (e.g. {@code mIoU}, {@code maxF}, {@code mean_angle});
   * percentages in percent, angles in degrees; NaN for a metric no pixel contributed to.
   */
  ImmutableMap<String, Double> results();
}
