package org.mtlora.core.nn;

import org.mtlora.core.graph.GraphContext;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * The exact GELU of PyTorch's {@code nn.GELU()}: {@code x * 0.5 * (1 + erf(x / sqrt(2)))}. SameDiff's {@code
 * nn.gelu} is the sigmoid approximation and {@code preciseGelu} is wrong, so pretrained Swin needs this one.
 *
 * <p>Built as {@code 0.5 * x * erfc(-x / sqrt(2))}, the same function ({@code 1 + erf(z) = erfc(-z)}) in four
 * element-wise ops instead of five: no {@code 1 +} pass over the 4C-wide hidden layer, and libnd4j's {@code erfc}
 * costs what its {@code erf} does (docs/performance.md, lever row "GELU in four ops"). It also keeps the negative
 * tail in float32, where {@code 1 + erf} cancels: GELU(-6) is -5.92e-9, not 0 (PyTorch's float32 kernel gives 0
 * there; the difference is below 1e-8).
 */
public final class Gelu {
  private static final double MINUS_INV_SQRT2 = -1.0 / Math.sqrt(2.0);

  private Gelu() {}

  /**
   * Element-wise exact GELU; any shape. In a graph that may be differentiated the product is a {@link GeluProduct}
   * and {@code erfc}'s input {@code −x/√2} is a {@link NoGradient}: the same forward, a backward that keeps one array
   * instead of three; an evaluation graph holds SameDiff's stock ops only.
   */
  public static SDVariable apply(SameDiff sd, SDVariable x) {
    if (GraphContext.isInferenceOnly(sd)) {
      // x · (0.5 · erfc(−x/√2)), the same bits as (x · erfc) · 0.5: the shape KernelSession computes in one pass
      return x.mul(sd.math.erfc(x.mul(MINUS_INV_SQRT2)).mul(0.5));
    }
    SDVariable erfc = sd.math.erfc(NoGradient.scaled(sd, x, MINUS_INV_SQRT2));
    return GeluProduct.of(sd, x, erfc).mul(0.5);
  }
}
