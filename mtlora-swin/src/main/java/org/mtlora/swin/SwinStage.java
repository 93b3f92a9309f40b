package org.mtlora.swin;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.Map;
import org.mtlora.core.nn.GraphContext;
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

  /**
   * @param x shared stream {@code [B * L, C]}
   * @param features receives named intermediates ({@code stage{i}.block{j}.shared}, {@code ...task.<t>})
   */
  SwinBackbone.StageFeatures apply(GraphContext ctx, SDVariable x, Map<String, SDVariable> features,
      int outResolution, int outChannels) {
    SwinBlock.Output out = null;
    SDVariable shared = x;
    for (int j = 0; j < blocks.size(); j++) {
      out = blocks.get(j).apply(ctx, shared);
      shared = out.shared();
      features.put("stage" + index + ".block" + j + ".shared", shared);
      for (Map.Entry<String, SDVariable> t : out.tasks().entrySet()) {
        features.put("stage" + index + ".block" + j + ".task." + t.getKey(), t.getValue());
      }
    }
    SDVariable sharedOut = downsample == null ? shared : downsample.apply(ctx, shared);
    ImmutableMap.Builder<String, SDVariable> taskOut = ImmutableMap.builder();
    for (String t : tasks) {
      SDVariable stream = out.tasks().get(t);
      if (stream == null) {
        taskOut.put(t, sharedOut);
      } else {
        taskOut.put(t, downsample == null ? stream : downsample.apply(ctx, stream));
      }
    }
    return new SwinBackbone.StageFeatures(sharedOut, taskOut.buildOrThrow(), outResolution, outChannels);
  }
}
