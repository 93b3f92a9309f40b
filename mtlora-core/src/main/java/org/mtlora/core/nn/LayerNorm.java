package org.mtlora.core.nn;

import org.mtlora.core.graph.GraphContext;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Layer normalisation over the last axis, as PyTorch {@code nn.LayerNorm(C, eps=1e-5)}: biased variance, eps inside
 * the square root. On rows ({@code rank} 2) with a scale and a shift in a graph that may be differentiated, one op
 * each way computed in Java ({@link LayerNormTraining}, its backward in closed form); otherwise composed from mean,
 * subtraction, square, rsqrt and products — on rows in a graph that may be differentiated, with the means and the
 * centring of {@link RowCentring}, whose backwards read neither the input nor the squares, so a training session
 * releases them after the forward. Evaluation graphs keep the composite, which their sessions fuse ({@code
 * LayerNormFusion}) and any ND4J runs.
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
    if (rank == 2 && gamma != null && beta != null && !GraphContext.isInferenceOnly(sd)) {
      // one op each way, each row read once forward and once backward (LayerNormTraining)
      return LayerNormTraining.apply(sd, x, gamma, beta, eps)[0];
    }
    int last = rank - 1;
    long width = rank == 2 ? knownWidth(x, gamma, beta) : -1;
    SDVariable centred;
    SDVariable variance;
    if (width > 0) {
      // means as products with a constant column: their backwards keep neither x nor the squares alive (RowCentring)
      centred = RowCentring.apply(sd, x, width);
      variance = RowCentring.rowMeans(sd, centred.mul(centred), width);
    } else {
      centred = x.sub(sd.mean(x, true, last));
      variance = sd.mean(centred.mul(centred), true, last);
    }
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

  /** {@code C} from the shape of {@code x}, {@code gamma} or {@code beta}, whichever the graph knows; -1 if none. */
  private static long knownWidth(SDVariable x, SDVariable gamma, SDVariable beta) {
    for (SDVariable v : new SDVariable[] {x, gamma, beta}) {
      long[] shape = v == null ? null : v.getShape();
      if (shape != null && shape.length > 0 && shape[shape.length - 1] > 0) {
        return shape[shape.length - 1];
      }
    }
    return -1;
  }

  /** {@link #apply(SameDiff, SDVariable, int, SDVariable, SDVariable, double)} with eps 1e-5. */
  public static SDVariable apply(SameDiff sd, SDVariable x, int rank, SDVariable gamma, SDVariable beta) {
    return apply(sd, x, rank, gamma, beta, DEFAULT_EPS);
  }
}
