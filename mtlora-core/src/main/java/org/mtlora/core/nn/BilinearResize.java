package org.mtlora.core.nn;

import org.mtlora.core.graph.GraphContext;

import com.google.common.base.Preconditions;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Bilinear resizing with PyTorch's {@code F.interpolate(mode='bilinear', align_corners=False)} semantics, as two
 * matrix products with constant interpolation matrices (SameDiff's resize ops have no working backward).
 *
 * <p>Source coordinate of output index {@code d}: {@code s = max((d + 0.5) * in / out - 0.5, 0)}; the output mixes
 * {@code floor(s)} and {@code min(floor(s) + 1, in - 1)} with weights {@code 1 - frac(s)} and {@code frac(s)}.
 */
public final class BilinearResize {
  private BilinearResize() {}

  /**
   * The {@code [out, in]} matrix {@code R} with {@code y = R x} resizing a length-{@code in} signal to length {@code
   * out}; each row sums to 1.
   */
  public static double[][] matrix(int in, int out) {
    Preconditions.checkArgument(in > 0 && out > 0, "sizes must be positive, found in=%s out=%s", in, out);
    double[][] r = new double[out][in];
    double scale = (double) in / out;
    for (int d = 0; d < out; d++) {
      double src = Math.max((d + 0.5) * scale - 0.5, 0.0);
      int i0 = Math.min((int) Math.floor(src), in - 1);
      int i1 = Math.min(i0 + 1, in - 1);
      double lambda = src - i0;
      r[d][i0] += 1 - lambda;
      r[d][i1] += lambda;
    }
    return r;
  }

  /**
   * Resizes NCHW maps.
   *
   * @param x {@code [B, C, h, w]}
   * @return {@code [B, C, outH, outW]}
   */
  public static SDVariable nchw(GraphContext ctx, SDVariable x, long c, int h, int w, int outH, int outW) {
    SameDiff sd = ctx.sd();
    if (h == outH && w == outW) {
      return x;
    }
    SDVariable rwT = transposed(ctx, w, outW); // [w, outW]
    SDVariable rhT = transposed(ctx, h, outH); // [h, outH]
    SDVariable cols = FrozenWeightMatmul.product(sd, sd.reshape(x, -1, w), rwT, false); // [B*C*h, outW]
    SDVariable byRows = sd.permute(sd.reshape(cols, -1, h, outW), 0, 2, 1); // [B*C, outW, h]
    SDVariable rows = FrozenWeightMatmul.product(sd, sd.reshape(byRows, -1, h), rhT, false); // [B*C*outW, outH]
    SDVariable back = sd.permute(sd.reshape(rows, -1, outW, outH), 0, 2, 1); // [B*C, outH, outW]
    return sd.reshape(back, -1, c, outH, outW); // [B, C, outH, outW]
  }

  private static SDVariable transposed(GraphContext ctx, int in, int out) {
    double[][] r = matrix(in, out);
    INDArray t = Nd4j.create(DataType.DOUBLE, in, out);
    for (int d = 0; d < out; d++) {
      for (int i = 0; i < in; i++) {
        t.putScalar(i, d, r[d][i]);
      }
    }
    return ctx.sd().constant(t.castTo(ctx.dataType()));
  }
}
