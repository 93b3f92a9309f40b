package org.mtlora.tasks;

import java.awt.image.BufferedImage;
import java.util.SplittableRandom;
import org.mtlora.metrics.TaskMeter;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A dense prediction task: everything the model, the trainer and the evaluator need to know about it, so that nothing
 * outside the task's own class depends on which task it is. A task supplies its name (also its adapters' name), its
 * prediction channels, its target placeholder and shape, its loss, a metric accumulator, a valid random target (for
 * benchmarks and tests) and its part of Δm (the primary metric and whether higher is better).
 *
 * <p>Implementations must: build the loss only from ops with a verified backward (see {@code org.mtlora.core.nn});
 * return a scalar; return 0, never NaN, for a batch whose targets are all ignored; be stateless and immutable. The
 * PASCAL-Context tasks are in {@link PascalTasks}; a new task is one class implementing this interface, passed to
 * {@code MultiTaskConfig.Builder#task}.
 */
public interface Task {
  /** Name, e.g. {@code semseg}; letters, digits and '_' only; {@code shared} is reserved. */
  String name();

  /** Channels of the prediction. */
  int outputChannels();

  /** Channels of the target map ({@code [B, targetChannels, H, W]}, float). */
  int targetChannels();

  /** The loss weight used unless the configuration overrides it. */
  double defaultWeight();

  /** The placeholder the target is fed to: {@code target/<name>}. */
  default String targetName() {
    return "target/" + name();
  }

  /**
   * The loss of a batch.
   *
   * @param prediction {@code [B, outputChannels, H, W]} (NCHW, full input resolution)
   * @param target {@code [B, targetChannels, H, W]}, float (class indices, 0/1 maps or vectors; 255 marks ignored
   *     pixels where the task has them)
   * @return a scalar
   */
  SDVariable loss(SameDiff sd, SDVariable prediction, SDVariable target);

  /** A fresh metric accumulator for one evaluation. */
  TaskMeter newMeter();

  /** The metric that enters Δm (a key of {@link TaskMeter#results()}). */
  String primaryMetric();

  /** Whether a higher {@link #primaryMetric()} is better (Δm's sign). */
  boolean higherIsBetter();

  /**
   * A valid target for a batch of {@code batch} images of side {@code size} ({@code [batch, targetChannels, size,
   * size]}, float), drawn from {@code random}: what benchmarks and tests feed when no data set is at hand.
   */
  INDArray randomTarget(int batch, int size, SplittableRandom random);

  /**
   * One image's prediction as a picture people can look at. Default: the first channel in grey levels.
   *
   * @param prediction {@code [outputChannels, H, W]}, the task's output for one image
   */
  default BufferedImage picture(INDArray prediction) {
    return Pictures.grey(prediction);
  }

  /** Whether {@link #picture} is also worth showing blended over the input image (class maps). */
  default boolean overlaysImage() {
    return false;
  }
}
