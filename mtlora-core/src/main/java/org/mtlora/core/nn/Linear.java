package org.mtlora.core.nn;

import com.google.common.base.Preconditions;
import java.util.Arrays;
import org.mtlora.core.graph.GraphContext;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * A dense layer {@code y = x W^T + b} on the last axis of an input of any rank (PyTorch {@code nn.Linear}).
 *
 * <p>Only a 2-D matrix product is used: an input of rank r &gt; 2 is reshaped to {@code [-1, in]}, multiplied, and
 * reshaped back (SameDiff's rank-3 by rank-2 mmul and tensorMmul are broken). A trainable weight keeps the reference
 * layout {@code [out, in]} and is used through the product's transpose flag, so its gradient comes back in that layout.
 * A frozen (constant) weight goes through {@link FrozenWeightMatmul}, whose backward computes the input's gradient
 * only; given by name ({@link #apply(GraphContext, SDVariable, String, String)}), it is multiplied in its transposed
 * copy, without the flag, which libnd4j computes faster.
 */
public final class Linear {
  private Linear() {}

  /**
   * Applies the layer to a 2-D input.
   *
   * @param x {@code [N, in]}
   * @param weight {@code [out, in]}
   * @param bias {@code [out]} or null
   * @return {@code [N, out]}
   */
  public static SDVariable apply(SameDiff sd, SDVariable x, SDVariable weight, SDVariable bias) {
    // no weight gradient when it is frozen
    return withBias(sd, FrozenWeightMatmul.product(sd, x, weight, true), bias);
  }

  /**
   * Applies the layer to a 2-D input, the weight and bias given by their registry names. A frozen weight is multiplied
   * in its transposed copy ({@link GraphContext#frozenTransposed}), without a transpose flag, which libnd4j computes
   * faster; a trainable one as {@link #apply(SameDiff, SDVariable, SDVariable, SDVariable)} does.
   *
   * @param x {@code [N, in]}
   * @param weightName a registered {@code [out, in]} parameter
   * @param biasName a registered {@code [out]} parameter, or null
   * @return {@code [N, out]}
   */
  public static SDVariable apply(GraphContext ctx, SDVariable x, String weightName, String biasName) {
    SameDiff sd = ctx.sd();
    SDVariable y = ctx.params().isTrainable(weightName)
        ? FrozenWeightMatmul.product(sd, x, ctx.param(weightName), true) // x W^T through the flag: a stock mmul
        : FrozenWeightMatmul.product(sd, x, ctx.frozenTransposed(weightName), false); // x (W^T), no flag
    return withBias(sd, y, biasName == null ? null : ctx.param(biasName));
  }

  /** {@code y + b}: a bias add whose backward skips a frozen bias's gradient and sums a trainable one's by a product. */
  private static SDVariable withBias(SameDiff sd, SDVariable y, SDVariable bias) {
    return bias == null ? y : BroadcastSum.apply(sd, y, bias);
  }

  /**
   * Applies the layer to an input of any rank &ge; 2.
   *
   * @param x {@code [d0, ..., d(r-2), in]}
   * @param xShape the static shape of {@code x}; its first entry may be -1 (unknown batch)
   * @param weight {@code [out, in]}
   * @param bias {@code [out]} or null
   * @return {@code [d0, ..., d(r-2), out]}
   */
  public static SDVariable apply(SameDiff sd, SDVariable x, long[] xShape, SDVariable weight, SDVariable bias) {
    Preconditions.checkArgument(xShape.length >= 2, "linear input must have rank >= 2, found shape %s",
        Arrays.toString(xShape));
    if (xShape.length == 2) {
      return apply(sd, x, weight, bias);
    }
    long in = xShape[xShape.length - 1];
    long out = weight.getShape()[0];
    SDVariable flat = sd.reshape(x, -1, in); // [prod(leading), in]
    SDVariable y = apply(sd, flat, weight, bias); // [prod(leading), out]
    long[] outShape = xShape.clone();
    outShape[outShape.length - 1] = out;
    return sd.reshape(y, outShape); // [d0, ..., out]
  }
}
