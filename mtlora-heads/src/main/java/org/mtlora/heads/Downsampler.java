package org.mtlora.heads;

import com.google.common.collect.ImmutableList;
import java.util.List;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.nn.Linear;
import org.mtlora.core.params.Init;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.Role;
import org.mtlora.swin.SwinBackbone;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * One task's downsampler (reference {@code Downsampler}): a 1x1 convolution without bias per stage, mapping the
 * task's stage features to the decoder's channels ({@code [18, 36, 72, 144]} by default). Computed on token rows,
 * then laid out NCHW for the decoder.
 */
final class Downsampler {
  private final String prefix;
  private final String task;
  private final ImmutableList<Integer> inChannels;
  private final ImmutableList<Integer> outChannels;

  Downsampler(String task, List<Integer> inChannels, List<Integer> outChannels) {
    this.prefix = "downsampler." + task;
    this.task = task;
    this.inChannels = ImmutableList.copyOf(inChannels);
    this.outChannels = ImmutableList.copyOf(outChannels);
  }

  private String weight(int i) {
    return prefix + ".downsample_" + i + ".weight";
  }

  ImmutableList<ParamSpec> paramSpecs() {
    ImmutableList.Builder<ParamSpec> b = ImmutableList.builder();
    for (int i = 0; i < inChannels.size(); i++) {
      b.add(ParamSpec.ofTask(weight(i), Role.DOWNSAMPLER, task, Init.kaimingUniform(inChannels.get(i)),
          outChannels.get(i), inChannels.get(i), 1, 1));
    }
    return b.build();
  }

  /**
   * @param stages the backbone's per-stage features
   * @return one NCHW map {@code [B, out_i, r_i, r_i]} per stage
   */
  ImmutableList<SDVariable> apply(GraphContext ctx, List<SwinBackbone.StageFeatures> stages) {
    SameDiff sd = ctx.sd();
    ImmutableList.Builder<SDVariable> maps = ImmutableList.builder();
    for (int i = 0; i < stages.size(); i++) {
      SwinBackbone.StageFeatures s = stages.get(i);
      SDVariable w = sd.reshape(ctx.param(weight(i)), outChannels.get(i), inChannels.get(i)); // [out, in]
      SDVariable rows = Linear.apply(sd, s.tasks().get(task), w, null); // [B*r*r, out]
      SDVariable grid = sd.reshape(rows, -1, s.resolution(), s.resolution(), outChannels.get(i)); // [B, r, r, out]
      maps.add(sd.permute(grid, 0, 3, 1, 2)); // [B, out, r, r]
    }
    return maps.build();
  }
}
