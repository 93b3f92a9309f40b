package org.mtlora.tasks;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * A dense prediction task: its name (also the adapter name), the number of output channels its decoder produces,
 * the shape of its target, and its loss.
 *
 * <p>Implementations must: build the loss only from ops with a verified backward (see {@code org.mtlora.core.nn});
 * return a scalar; return 0, never NaN, for a batch whose targets are all ignored; be stateless.
 */
public interface Task {
  /** Name, e.g. {@code semseg}; letters, digits and '_' only. */
  String name();

  /** Channels of the prediction. */
  int outputChannels();

  /** Channels of the target map ({@code [B, targetChannels, H, W]}, float). */
  int targetChannels();

  /** The reference's loss weight. */
  double defaultWeight();

  /**
   * The loss of a batch.
   *
   * @param prediction {@code [B, outputChannels, H, W]} (NCHW, full input resolution)
   * @param target {@code [B, targetChannels, H, W]}, float (class indices, 0/1 maps or vectors; 255 marks ignored
   *     pixels where the task has them)
   * @return a scalar
   */
  SDVariable loss(SameDiff sd, SDVariable prediction, SDVariable target);
}
