package org.mtlora.core.nn;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Layer normalisation over the last axis, as PyTorch {@code nn.LayerNorm(C, eps=1e-5)}: biased variance, eps inside
 * the square root. Composed from mean, subtraction, square, rsqrt and products.
 */
public final class LayerNorm {
  /** PyTorch's default epsilon, used by every LayerNorm of Swin. */
  public static final double DEFAULT_EPS = 1e-5;

  private LayerNorm() {}

  /**
   * Normalises {@code x} over its last axis.
   *
   * @param x {@code [..., C]} of rank {@code rank}
   * @param gamma {@code [C]} or null
   * @param beta {@code [C]} or null
   * @return same shape as {@code x}
   */
  public static SDVariable apply(SameDiff sd, SDVariable x, int rank, SDVariable gamma, SDVariable beta,
      double eps) {
    int last = rank - 1;
    SDVariable centred = x.sub(sd.mean(x, true, last));
    SDVariable variance = sd.mean(centred.mul(centred), true, last);
    SDVariable rstd = sd.math.rsqrt(variance.add(eps));
    SDVariable y;
    if (rank == 2 && gamma != null && gamma.getShape() != null) {
      // (x - mean) * (rstd ⊗ gamma): one equal-shape product instead of two broadcasting ones (RowBroadcast)
      y = centred.mul(RowBroadcast.outer(sd, rstd, sd.reshape(gamma, 1, gamma.getShape()[0])));
    } else {
      y = centred.mul(rstd);
      if (gamma != null) {
        y = y.mul(gamma);
      }
    }
    return beta == null ? y : BroadcastSum.apply(sd, y, beta);
  }

  /** {@link #apply(SameDiff, SDVariable, int, SDVariable, SDVariable, double)} with eps 1e-5. */
  public static SDVariable apply(SameDiff sd, SDVariable x, int rank, SDVariable gamma, SDVariable beta) {
    return apply(sd, x, rank, gamma, beta, DEFAULT_EPS);
  }
}
