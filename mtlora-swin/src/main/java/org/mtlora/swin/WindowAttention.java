package org.mtlora.swin;

import com.google.common.collect.ImmutableList;
import org.mtlora.core.adapter.MtLoraLinear;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.nn.BroadcastSum;
import org.mtlora.core.nn.MaskedSoftmax;
import org.mtlora.core.nn.RelativePositionBias;
import org.mtlora.core.params.Init;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.Role;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Window multi-head self-attention with relative position bias (reference {@code WindowAttention}): owns the qkv
 * and proj layers (MTLoRA-adapted) and the relative-position-bias table {@code [(2w-1)^2, heads]}.
 *
 * <pre>
 *   q, k, v = split(qkv(x))                 per head, head_dim = C / heads
 *   attn    = softmax(q * head_dim^-0.5 . k^T + bias (+ mask))
 *   out     = proj(concat_heads(attn . v))  shared output and, in a stage's last block, one output per task
 * </pre>
 */
final class WindowAttention {
  private final String prefix;
  private final int dim;
  private final int heads;
  private final int window;
  private final MtLoraLinear qkv;
  private final MtLoraLinear proj;

  WindowAttention(String prefix, int dim, int heads, int window, MtLoraLinear qkv, MtLoraLinear proj) {
    this.prefix = prefix;
    this.dim = dim;
    this.heads = heads;
    this.window = window;
    this.qkv = qkv;
    this.proj = proj;
  }

  String tableName() {
    return prefix + ".relative_position_bias_table";
  }

  ImmutableList<ParamSpec> paramSpecs() {
    long table = (2L * window - 1) * (2L * window - 1);
    return ImmutableList.<ParamSpec>builder()
        .add(ParamSpec.of(tableName(), Role.REL_POS_TABLE, Init.truncatedNormal(0.02), table, heads))
        .addAll(qkv.paramSpecs())
        .addAll(proj.paramSpecs())
        .build();
  }

  /**
   * @param windows rows {@code [B * nW * N, C]}
   * @param tokensPerSample {@code nW * N} (rows per image, for dropout masks)
   * @param mask additive mask {@code [nW, 1, N, N]} for shifted windows, or null
   * @param outputRows reorders the proj layer's output rows ({@link MtLoraLinear.RowMap#IDENTITY}: window order)
   * @return the proj layer's outputs on {@code [B * nW * N, C]} rows, reordered by {@code outputRows}
   */
  MtLoraLinear.Output apply(GraphContext ctx, SDVariable windows, long tokensPerSample, SDVariable mask,
      int numWindows, MtLoraLinear.RowMap outputRows) {
    SameDiff sd = ctx.sd();
    int n = window * window;
    long headDim = dim / heads;
    SDVariable qkvRows = qkv.apply(ctx, windows, tokensPerSample, null).shared(); // [B_*N, 3C]
    // Columns [0, C), [C, 2C), [2C, 3C) of the qkv output are q, k, v, each split into heads of headDim: one permute
    // to [3, B_, nH, N, hd], then an unstack (whose backward is a stack, not three zero-filled slice gradients).
    SDVariable qkvHeads = sd.permute(sd.reshape(qkvRows, -1, n, 3, heads, headDim), 2, 0, 3, 1, 4);
    SDVariable[] parts = sd.unstack(qkvHeads, 0, 3);
    SDVariable q = parts[0].mul(Math.pow(headDim, -0.5)); // [B_, nH, N, hd]
    SDVariable k = parts[1];
    SDVariable v = parts[2];
    SDVariable scores = sd.mmul(q, k, false, true, false); // [B_, nH, N, N]
    SDVariable attn;
    if (mask == null) {
      attn = BroadcastSum.apply(sd, scores, bias(ctx), heads, n, n); // + [nH, N, N]
    } else {
      // bias and mask meet first in a small [nW, nH, N, N] array, then one addition to the scores
      SDVariable biasAndMask = bias(ctx).add(mask); // [nH, N, N] + [nW, 1, N, N]
      attn = BroadcastSum.apply(sd, sd.reshape(scores, -1, numWindows, heads, n, n), biasAndMask, numWindows, heads,
          n, n); // [B, nW, nH, N, N]
      attn = sd.reshape(attn, -1, heads, n, n); // [B_, nH, N, N]
    }
    SDVariable probs = MaskedSoftmax.apply(sd, attn, null);
    SDVariable out = sd.mmul(probs, v); // [B_, nH, N, hd]
    out = sd.reshape(sd.permute(out, 0, 2, 1, 3), -1, dim); // [B_*N, C]
    return proj.apply(ctx, out, tokensPerSample, null, outputRows);
  }

  /** {@code [heads, N, N]}: a product with a one-hot matrix when the table trains, a gathered constant otherwise. */
  private SDVariable bias(GraphContext ctx) {
    int[] index = WindowGeometry.relativePositionIndex(window);
    int n = window * window;
    if (ctx.params().isTrainable(tableName())) {
      long rows = (2L * window - 1) * (2L * window - 1);
      return RelativePositionBias.lookup(ctx, ctx.param(tableName()), rows, heads, index, n,
          "relative_position_onehot_w" + window);
    }
    INDArray gathered = RelativePositionBias.gather(ctx.params().get(tableName()).castTo(DataType.DOUBLE), index, n);
    return ctx.constant(prefix + ".relative_position_bias", gathered);
  }

  /** The shifted-window mask as a constant {@code [nW, 1, N, N]}. */
  static INDArray maskArray(int h, int w, int window, int shift) {
    float[][][] m = WindowGeometry.shiftedWindowMask(h, w, window, shift);
    int n = window * window;
    INDArray a = Nd4j.create(DataType.FLOAT, m.length, 1, n, n);
    for (int k = 0; k < m.length; k++) {
      a.get(org.nd4j.linalg.indexing.NDArrayIndex.point(k), org.nd4j.linalg.indexing.NDArrayIndex.point(0))
          .assign(Nd4j.createFromArray(m[k]));
    }
    return a;
  }
}
