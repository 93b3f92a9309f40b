package org.mtlora.swin;

import com.google.common.collect.ImmutableList;
import org.mtlora.core.adapter.MtLoraLinear;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.nn.LayerNorm;
import org.mtlora.core.params.Init;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.Role;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Patch merging (reference {@code PatchMerging}): concatenates each 2x2 neighbourhood channel-wise in the order
 * (even row, even col), (odd row, even col), (even row, odd col), (odd row, odd col), normalises the 4C channels and
 * reduces them to 2C ({@code reduction}, no bias; with a shared adapter in MTLoRA+). The same module serves the shared
 * stream and every task stream.
 */
final class PatchMerging {
  private final String prefix;
  private final int resolution;
  private final int dim;
  private final MtLoraLinear reduction;

  PatchMerging(String prefix, int resolution, int dim, MtLoraLinear reduction) {
    this.prefix = prefix;
    this.resolution = resolution;
    this.dim = dim;
    this.reduction = reduction;
  }

  ImmutableList<ParamSpec> paramSpecs() {
    return ImmutableList.<ParamSpec>builder()
        .addAll(reduction.paramSpecs())
        .add(ParamSpec.of(prefix + ".norm.weight", Role.NORM, Init.ones(), 4L * dim))
        .add(ParamSpec.of(prefix + ".norm.bias", Role.NORM, Init.zeros(), 4L * dim))
        .build();
  }

  /**
   * @param x {@code [B * H * W, C]}
   * @return {@code [B * H/2 * W/2, 2C]}
   */
  SDVariable apply(GraphContext ctx, SDVariable x) {
    SameDiff sd = ctx.sd();
    int half = resolution / 2;
    // the 2x2 neighbourhoods as one row reordering (a gather, whose backward is the inverse gather), where a 6-D
    // permute took 6x as long: [B*L, C] with each cell's four rows adjacent, read as [B*L/4, 4C]: x0, x1, x2, x3
    SDVariable rows = WindowOps.reorderRows(sd, x, dim, WindowGeometry.mergeOrder(resolution, resolution),
        "merge_order." + resolution);
    SDVariable merged = sd.reshape(rows, -1, 4L * dim);
    SDVariable normed = LayerNorm.apply(sd, merged, 2, ctx.param(prefix + ".norm.weight"),
        ctx.param(prefix + ".norm.bias"));
    return reduction.apply(ctx, normed, (long) half * half, null).shared();
  }
}
