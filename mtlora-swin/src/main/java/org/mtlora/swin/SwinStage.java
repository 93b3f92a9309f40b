package org.mtlora.swin;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.Map;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.params.ParamSpec;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * A stage (reference {@code BasicLayer}): a sequence of blocks, even ones unshifted and odd ones shifted by half a
 * window, then an optional patch merging applied to the shared stream and to every task stream. When the last block
 * emits no task streams, every task takes the shared output.
 */
final class SwinStage {
  private final int index;
  private final ImmutableList<SwinBlock> blocks;
  private final PatchMerging downsample;
  private final ImmutableList<String> tasks;

  SwinStage(int index, ImmutableList<SwinBlock> blocks, PatchMerging downsample, ImmutableList<String> tasks) {
    this.index = index;
    this.blocks = blocks;
    this.downsample = downsample;
    this.tasks = tasks;
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
