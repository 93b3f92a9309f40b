package org.mtlora.core.nn;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * The exact GELU of PyTorch's {@code nn.GELU()}: {@code x * 0.5 * (1 + erf(x / sqrt(2)))}. SameDiff's {@code
 * nn.gelu} is the sigmoid approximation and {@code preciseGelu} is wrong, so pretrained Swin needs this one.
 */
public final class Gelu {
  private static final double INV_SQRT2 = 1.0 / Math.sqrt(2.0);

  private Gelu() {}

  /** Element-wise exact GELU; any shape. */
  public static SDVariable apply(SameDiff sd, SDVariable x) {
    return x.mul(sd.math.erf(x.mul(INV_SQRT2)).add(1.0)).mul(0.5);
  }
}
