package org.mtlora.swin;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.mtlora.core.adapter.MtLoraLinear;
import org.mtlora.core.nn.DropPath;
import org.mtlora.core.nn.EqualShapeSum;
import org.mtlora.core.nn.Gelu;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.nn.LayerNorm;
import org.mtlora.core.params.Init;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.Role;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * One Swin block with MTLoRA (reference {@code SwinTransformerBlock}; reference-spec §1.3): pre-norm (shifted) window
 * attention and MLP, each in a residual branch with drop path.
 *
 * <p>In the last block of a stage, proj, fc1 and fc2 carry task-specific adapters and the block also emits one stream
 * per task:
 *
 * <pre>
 *   a_t  = x + DropPath(unroll(proj_t(o)))           o: shared attention output before proj
 *   x_sh = x + DropPath(unroll(proj_sh(o)))
 *   f1_t = W1 norm2(x_sh) + b1 + s_t norm2(a_t) A1t^T B1t^T
 *   f2_t = W2 GELU(fc1_sh(norm2(x_sh))) + b2 + s_t GELU(f1_t) A2t^T B2t^T
 *   y_t  = a_t + DropPath(f2_t),   y_sh = x_sh + DropPath(fc2_sh(GELU(fc1_sh(norm2(x_sh)))))
 * </pre>
 */
final class SwinBlock {
  private final String prefix;
  private final int dim;
  private final int resolution;
  private final int window;
  private final int shift;
  private final double dropPath;
  private final WindowAttention attn;
  private final MtLoraLinear fc1;
  private final MtLoraLinear fc2;
  private final ImmutableList<String> tasks;

  /** Output streams: shared {@code [B*L, C]} and one per task (empty outside a stage's last block). */
  record Output(SDVariable shared, ImmutableMap<String, SDVariable> tasks) {}

  SwinBlock(String prefix, int dim, int heads, int resolution, int window, int shift, double dropPath,
      MtLoraLinear qkv, MtLoraLinear proj, MtLoraLinear fc1, MtLoraLinear fc2) {
    int[] ws = WindowGeometry.windowAndShift(resolution, window, shift);
    this.prefix = prefix;
    this.dim = dim;
    this.resolution = resolution;
    this.window = ws[0];
    this.shift = ws[1];
    this.dropPath = dropPath;
    this.attn = new WindowAttention(prefix + ".attn", dim, heads, this.window, qkv, proj);
    this.fc1 = fc1;
    this.fc2 = fc2;
    this.tasks = proj.taskRanks().keySet().asList();
    Preconditions.checkArgument(fc1.taskRanks().keySet().equals(proj.taskRanks().keySet())
            && fc2.taskRanks().keySet().equals(proj.taskRanks().keySet()),
        "%s: task-specific adapters need proj, fc1 and fc2 adapted for the same tasks, found %s, %s, %s", prefix,
        proj.taskRanks().keySet(), fc1.taskRanks().keySet(), fc2.taskRanks().keySet());
  }

  int window() {
    return window;
  }

  int shift() {
    return shift;
  }

  ImmutableList<ParamSpec> paramSpecs() {
    return ImmutableList.<ParamSpec>builder()
        .add(ParamSpec.of(prefix + ".norm1.weight", Role.NORM, Init.ones(), dim))
        .add(ParamSpec.of(prefix + ".norm1.bias", Role.NORM, Init.zeros(), dim))
        .addAll(attn.paramSpecs())
        .add(ParamSpec.of(prefix + ".norm2.weight", Role.NORM, Init.ones(), dim))
        .add(ParamSpec.of(prefix + ".norm2.bias", Role.NORM, Init.zeros(), dim))
        .addAll(fc1.paramSpecs())
        .addAll(fc2.paramSpecs())
        .build();
  }

  /** @param x shared stream {@code [B * L, C]}, {@code L = resolution^2} */
  Output apply(GraphContext ctx, SDVariable x) {
    SameDiff sd = ctx.sd();
    long tokens = (long) resolution * resolution;
    MtLoraLinear.Output attnOut = attentionBranch(ctx, x);
    SDVariable xShared = EqualShapeSum.apply(sd, x, DropPath.apply(ctx, prefix + ".drop_path.attn",
        attnOut.shared(), tokens, dim, dropPath));
    Map<String, SDVariable> attnTasks = new LinkedHashMap<>();
    for (String t : tasks) {
      attnTasks.put(t, EqualShapeSum.apply(sd, x, DropPath.apply(ctx, prefix + ".drop_path.attn." + t,
          attnOut.tasks().get(t), tokens, dim, dropPath)));
    }
    MtLoraLinear.Output mlp = mlpBranch(ctx, xShared, attnTasks);
    SDVariable yShared = EqualShapeSum.apply(sd, xShared, DropPath.apply(ctx, prefix + ".drop_path.mlp",
        mlp.shared(), tokens, dim, dropPath));
    ImmutableMap.Builder<String, SDVariable> yTasks = ImmutableMap.builder();
    for (String t : tasks) {
      yTasks.put(t, EqualShapeSum.apply(sd, attnTasks.get(t), DropPath.apply(ctx, prefix + ".drop_path.mlp." + t,
          mlp.tasks().get(t), tokens, dim, dropPath)));
    }
    return new Output(yShared, yTasks.buildOrThrow());
  }

  /**
   * norm1, cyclic shift, window partition, attention, window reverse and reverse shift: the attention outputs in token
   * order. With task streams the reverse acts inside proj, on its pretrained product and its rank-r terms ({@link
   * MtLoraLinear.RowMap}): one C-wide reordering and one as wide as the summed ranks instead of one C-wide per stream.
   */
  private MtLoraLinear.Output attentionBranch(GraphContext ctx, SDVariable x) {
    SameDiff sd = ctx.sd();
    SDVariable h = LayerNorm.apply(sd, x, 2, ctx.param(prefix + ".norm1.weight"), ctx.param(prefix + ".norm1.bias"));
    // cyclic shift and window partition in one row reordering: [B*L, C] -> [B*nW*N, C]
    SDVariable windows = WindowOps.reorderRows(sd, h, dim, WindowGeometry.windowOrder(resolution, resolution, window,
        shift), orderName(false));
    int numWindows = (resolution / window) * (resolution / window);
    SDVariable mask = shift == 0 ? null
        : ctx.constant(prefix + ".attn_mask", WindowAttention.maskArray(resolution, resolution, window, shift));
    long tokens = (long) resolution * resolution;
    if (tasks.isEmpty()) {
      MtLoraLinear.Output out = attn.apply(ctx, windows, tokens, mask, numWindows, MtLoraLinear.RowMap.IDENTITY);
      return new MtLoraLinear.Output(unroll(sd, out.shared(), dim), ImmutableMap.of());
    }
    return attn.apply(ctx, windows, tokens, mask, numWindows, (rows, width) -> unroll(sd, rows, width));
  }

  /** Window reverse and reverse shift, back to token rows {@code [B*L, width]}. */
  private SDVariable unroll(SameDiff sd, SDVariable windows, long width) {
    return WindowOps.reorderRows(sd, windows, width, WindowGeometry.inverse(WindowGeometry.windowOrder(resolution,
        resolution, window, shift)), orderName(true));
  }

  /** The name of the gather index constant of this geometry (shared by the blocks and streams that have it). */
  private String orderName(boolean inverse) {
    return "window_order." + resolution + "." + window + "." + shift + (inverse ? ".inverse" : "");
  }

  /** norm2, fc1, GELU, fc2, with the task streams' own inputs to the task adapters. */
  private MtLoraLinear.Output mlpBranch(GraphContext ctx, SDVariable xShared, Map<String, SDVariable> attnTasks) {
    SameDiff sd = ctx.sd();
    long tokens = (long) resolution * resolution;
    SDVariable g = ctx.param(prefix + ".norm2.weight");
    SDVariable b = ctx.param(prefix + ".norm2.bias");
    Map<String, SDVariable> fc1In = null;
    if (!tasks.isEmpty()) {
      fc1In = new LinkedHashMap<>();
      for (String t : tasks) {
        fc1In.put(t, LayerNorm.apply(sd, attnTasks.get(t), 2, g, b));
      }
    }
    MtLoraLinear.Output h1 = fc1.apply(ctx, LayerNorm.apply(sd, xShared, 2, g, b), tokens, fc1In);
    Map<String, SDVariable> fc2In = null;
    if (!tasks.isEmpty()) {
      fc2In = new LinkedHashMap<>();
      for (String t : tasks) {
        fc2In.put(t, Gelu.apply(sd, h1.tasks().get(t)));
      }
    }
    return fc2.apply(ctx, Gelu.apply(sd, h1.shared()), tokens, fc2In);
  }
}
