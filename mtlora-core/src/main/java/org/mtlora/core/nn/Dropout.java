package org.mtlora.core.nn;

import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.RandomMasks;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * Inverted dropout, {@code x * mask} with a mask of {@code 1 / (1 - p)} (kept, probability {@code 1 - p}) or 0 fed as
 * a placeholder (see {@link RandomMasks}). The identity in evaluation mode or when {@code p == 0}.
 */
public final class Dropout {
  private Dropout() {}

  /**
   * @param name name of the mask placeholder
   * @param x {@code [B * rowsPerSample, rowShape...]}
   * @param p drop probability in [0, 1)
   * @return same shape as {@code x}
   */
  public static SDVariable apply(GraphContext ctx, String name, SDVariable x, long rowsPerSample, long[] rowShape,
      double p) {
    com.google.common.base.Preconditions.checkArgument(p >= 0 && p < 1,
        "%s: dropout probability must be in [0, 1), found %s", name, p);
    if (!ctx.isTraining() || p == 0) {
      return x;
    }
    double keep = 1 - p;
    SDVariable mask = ctx.masks().placeholder(ctx.sd(), name, ctx.dataType(), RandomMasks.Kind.ELEMENT,
        rowsPerSample, rowShape, keep);
    return MaskProduct.apply(ctx.sd(), x, mask); // no gradient for the mask
  }
}
