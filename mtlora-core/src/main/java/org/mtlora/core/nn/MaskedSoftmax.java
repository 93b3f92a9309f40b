package org.mtlora.core.nn;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/** Softmax over the last axis of {@code scores + mask}, the attention normalisation of Swin (mask may be null). */
public final class MaskedSoftmax {
  private MaskedSoftmax() {}

  /**
   * @param scores any shape
   * @param additiveMask broadcastable to {@code scores} (0 where attention is allowed, -100 in Swin where it is not),
   *     or null
   * @return same shape as {@code scores}, rows summing to 1 over the last axis
   */
  public static SDVariable apply(SameDiff sd, SDVariable scores, SDVariable additiveMask) {
    SDVariable s = additiveMask == null ? scores : scores.add(additiveMask);
    return sd.nn.softmax(s, -1);
  }
}
