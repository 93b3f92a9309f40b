package org.mtlora.swin;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.Map;
import org.mtlora.core.adapter.LoraMode;
import org.mtlora.core.adapter.MtLoraConfig;
import org.mtlora.core.adapter.MtLoraLinear;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.Role;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * A stage (reference {@code BasicLayer}): a sequence of blocks, even ones unshifted and odd ones shifted by half a
 * window, then an optional patch merging applied to the shared stream and to every task stream. When the last block
 * emits no task streams, every task takes the shared output.
 */
final class SwinStage {
  private final int index;
  private final MtLoraConfig lora;
  private final ImmutableList<SwinBlock> blocks;
  private final PatchMerging downsample;
  private final ImmutableList<String> tasks;
  private final ImmutableList<MtLoraLinear> denseLayers;

  /**
   * Stage {@code index} of {@code swin}: its blocks (even ones unshifted, odd ones shifted by half a window; task
   * adapters in the last one) and, except in the last stage, its patch merging.
   *
   * @param dropPath the drop-path rate of every block of the backbone
   * @param firstBlock the backbone-wide index of this stage's first block
   */
  SwinStage(int index, SwinConfig swin, MtLoraConfig lora, double[] dropPath, int firstBlock) {
    this.index = index;
    this.lora = lora;
    this.tasks = lora.tasks();
    int dim = swin.stageDim(index);
    int res = swin.stageResolution(index);
    int depth = swin.depths().get(index);
    int hidden = (int) (dim * swin.mlpRatio());
    ImmutableList.Builder<SwinBlock> built = ImmutableList.builder();
    ImmutableList.Builder<MtLoraLinear> dense = ImmutableList.builder();
    for (int j = 0; j < depth; j++) {
      String p = SwinBackbone.PREFIX + ".layers." + index + ".blocks." + j;
      boolean last = j == depth - 1;
      MtLoraLinear qkv = site(p + ".attn.qkv", dim, 3 * dim, swin.qkvBias(), lora.qkvEnabled(), false);
      MtLoraLinear proj = site(p + ".attn.proj", dim, dim, true, lora.projEnabled(), last);
      MtLoraLinear fc1 = site(p + ".mlp.fc1", dim, hidden, true, lora.fc1Enabled(), last);
      MtLoraLinear fc2 = site(p + ".mlp.fc2", hidden, dim, true, lora.fc2Enabled(), last);
      dense.add(qkv, proj, fc1, fc2);
      built.add(new SwinBlock(p, dim, swin.numHeads().get(index), res, swin.windowSize(),
          j % 2 == 0 ? 0 : swin.windowSize() / 2, dropPath[firstBlock + j], qkv, proj, fc1, fc2));
    }
    this.blocks = built.build();
    if (index < swin.numStages() - 1) {
      String p = SwinBackbone.PREFIX + ".layers." + index + ".downsample";
      MtLoraLinear.Builder red = MtLoraLinear.builder(p + ".reduction", 4L * dim, 2L * dim).bias(false)
          .baseRole(Role.REDUCTION);
      if (!lora.reductionAdapterEnabled()) {
        red = red.plain();
      } else if (!lora.mergedInference()) {
        red = red.shared(lora.sharedRank(index), lora.sharedScale(index)).dropout(lora.dropout(index))
            .mode(lora.sharedMode());
      } // merged: the adapter's delta is folded into the reduction's weight
      MtLoraLinear reduction = red.build();
      dense.add(reduction);
      this.downsample = new PatchMerging(p, res, dim, reduction);
    } else {
      this.downsample = null;
    }
    this.denseLayers = dense.build();
  }

  /** An adapted (or plain) dense layer at one site; task adapters only in the stage's last block. */
  private MtLoraLinear site(String prefix, long in, long out, boolean bias, boolean enabled, boolean taskBlock) {
    MtLoraLinear.Builder b = MtLoraLinear.builder(prefix, in, out).bias(bias);
    if (!enabled) {
      return b.plain().build();
    }
    boolean taskPaths = taskBlock && lora.sharedMode() != LoraMode.LORA_ONLY
        && lora.tasks().stream().anyMatch(t -> lora.taskRank(t, index) > 0);
    if (!lora.mergedInference() || taskPaths) { // merged: a layer without task paths folds its shared delta in
      b.shared(lora.sharedRank(index), lora.sharedScale(index)).dropout(lora.dropout(index))
          .mode(lora.sharedMode());
      if (taskBlock) {
        for (String t : lora.tasks()) {
          if (lora.taskRank(t, index) > 0) {
            b.task(t, lora.taskRank(t, index), lora.taskScale(t, index));
          }
        }
      }
    }
    return b.build();
  }

  /** The stage's dense layers: each block's qkv, proj, fc1, fc2, then the reduction. */
  ImmutableList<MtLoraLinear> denseLayers() {
    return denseLayers;
  }

  ImmutableList<ParamSpec> paramSpecs() {
    ImmutableList.Builder<ParamSpec> b = ImmutableList.builder();
    blocks.forEach(blk -> b.addAll(blk.paramSpecs()));
    if (downsample != null) {
      b.addAll(downsample.paramSpecs());
    }
    return b.build();
  }

  int numBlocks() {
    return blocks.size();
  }

  /** Block {@code j} on the shared stream {@code x}; records its outputs in {@code features}. */
  SwinBlock.Output block(GraphContext ctx, int j, SDVariable x, Map<String, SDVariable> features) {
    SwinBlock.Output out = blocks.get(j).apply(ctx, x);
    features.put("stage" + index + ".block" + j + ".shared", out.shared());
    for (Map.Entry<String, SDVariable> t : out.tasks().entrySet()) {
      features.put("stage" + index + ".block" + j + ".task." + t.getKey(), t.getValue());
    }
    return out;
  }

  /** Patch merging of the last block's shared and task streams (a task without its own stream takes the shared). */
  SwinBackbone.StageFeatures finish(GraphContext ctx, SwinBlock.Output last, int outResolution, int outChannels) {
    SDVariable sharedOut = downsample == null ? last.shared() : downsample.apply(ctx, last.shared());
    ImmutableMap.Builder<String, SDVariable> taskOut = ImmutableMap.builder();
    for (String t : tasks) {
      SDVariable stream = last.tasks().get(t);
      if (stream == null) {
        taskOut.put(t, sharedOut);
      } else {
        taskOut.put(t, downsample == null ? stream : downsample.apply(ctx, stream));
      }
    }
    return new SwinBackbone.StageFeatures(sharedOut, taskOut.buildOrThrow(), outResolution, outChannels);
  }
}
