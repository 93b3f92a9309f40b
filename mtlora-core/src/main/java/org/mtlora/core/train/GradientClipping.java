package org.mtlora.core.train;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Global L2-norm gradient clipping, as PyTorch's {@code clip_grad_norm_}. */
public final class GradientClipping {
  private GradientClipping() {}

  /** The L2 norm of all gradients together. */
  public static double globalNorm(Map<String, INDArray> grads) {
    double sq = 0;
    for (INDArray g : grads.values()) {
      double n = g.norm2Number().doubleValue();
      sq += n * n;
    }
    return Math.sqrt(sq);
  }

  /**
   * Scales every gradient in place by {@code maxNorm / (norm + 1e-6)} when that is below 1.
   *
   * @return the norm before clipping
   */
  public static double clip(Map<String, INDArray> grads, double maxNorm) {
    double norm = globalNorm(grads);
    double coef = maxNorm / (norm + 1e-6);
    if (coef < 1) {
      grads.values().forEach(g -> g.muli(coef));
    }
    return norm;
  }
}
