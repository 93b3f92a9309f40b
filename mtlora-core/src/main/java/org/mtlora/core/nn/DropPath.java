package org.mtlora.core.nn;

import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.RandomMasks;

import com.google.common.base.Preconditions;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * Stochastic depth as timm's {@code DropPath}: each sample's whole residual branch is kept with probability {@code 1
 * - p} and then divided by {@code 1 - p}. The mask is one value per sample ({@code 1 / (1 - p)} or 0), fed as a
 * placeholder (see {@link RandomMasks}); the identity in evaluation mode or when {@code p == 0}.
 */
public final class DropPath {
  private DropPath() {}

  /**
   * @param name name of the mask placeholder
   * @param x {@code [B * rowsPerSample, channels]} (for tokens, {@code rowsPerSample = L})
   * @param channels the width of {@code x}
   * @param p drop probability in [0, 1)
   * @return same shape as {@code x}
   */
  public static SDVariable apply(GraphContext ctx, String name, SDVariable x, long rowsPerSample, long channels,
      double p) {
    Preconditions.checkArgument(p >= 0 && p < 1, "%s: drop-path probability must be in [0, 1), found %s", name, p);
    if (!ctx.isTraining() || p == 0) {
      return x;
    }
    double keep = 1 - p;
    SDVariable mask = ctx.masks().placeholder(ctx.sd(), name, ctx.dataType(), RandomMasks.Kind.SAMPLE,
        rowsPerSample, new long[] {1}, keep); // [B*L, 1], constant within a sample
    // the mask already holds 1 / keep for kept samples; expanded to x's shape for a fast backward (RowBroadcast)
    return MaskProduct.apply(ctx.sd(), x, RowBroadcast.acrossColumns(ctx.sd(), mask, channels, ctx.dataType()));
  }
}
