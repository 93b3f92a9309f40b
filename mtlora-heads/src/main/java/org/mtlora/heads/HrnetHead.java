package org.mtlora.heads;

import com.google.common.collect.ImmutableList;
import java.util.List;
import org.mtlora.core.nn.BatchNorm;
import org.mtlora.core.nn.BilinearResize;
import org.mtlora.core.nn.Linear;
import org.mtlora.core.nn.Relu;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.params.Init;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.Role;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * One task's HRNet-style decoder (reference {@code HighResolutionHead}; reference-spec §3): bilinearly upsample the
 * coarser maps to the finest (align_corners=False), concatenate, then {@code last_layer} = 1x1 conv, batch norm, ReLU,
 * 1x1 conv to the task's channels.
 */
final class HrnetHead {
  private final String prefix;
  private final String task;
  private final ImmutableList<Integer> channels;
  private final ImmutableList<Integer> resolutions;
  private final int hidden;
  private final int outChannels;

  /** What the head produced: its output and, in training mode, the batch-norm statistics for the running update. */
  record Output(SDVariable logits, BatchNorm.TrainOutput batchNorm) {}

  HrnetHead(String task, List<Integer> channels, List<Integer> resolutions, int hidden, int outChannels) {
    this.prefix = "decoders.decoders." + task + ".last_layer";
    this.task = task;
    this.channels = ImmutableList.copyOf(channels);
    this.resolutions = ImmutableList.copyOf(resolutions);
    this.hidden = hidden;
    this.outChannels = outChannels;
  }

  String bnPrefix() {
    return prefix + ".1";
  }

  int concatChannels() {
    return channels.stream().mapToInt(Integer::intValue).sum();
  }

  ImmutableList<ParamSpec> paramSpecs() {
    int in = concatChannels();
    return ImmutableList.of(
        ParamSpec.ofTask(prefix + ".0.weight", Role.DECODER, task, Init.kaimingUniform(in), hidden, in, 1, 1),
        ParamSpec.ofTask(prefix + ".0.bias", Role.DECODER, task, Init.uniform(1 / Math.sqrt(in)), hidden),
        ParamSpec.ofTask(prefix + ".1.weight", Role.DECODER, task, Init.ones(), hidden),
        ParamSpec.ofTask(prefix + ".1.bias", Role.DECODER, task, Init.zeros(), hidden),
        ParamSpec.buffer(prefix + ".1.running_mean", Role.DECODER, task, Init.zeros(), hidden),
        ParamSpec.buffer(prefix + ".1.running_var", Role.DECODER, task, Init.ones(), hidden),
        ParamSpec.counter(prefix + ".1.num_batches_tracked", Role.DECODER, task),
        ParamSpec.ofTask(prefix + ".3.weight", Role.DECODER, task, Init.kaimingUniform(hidden), outChannels, hidden,
            1, 1),
        ParamSpec.ofTask(prefix + ".3.bias", Role.DECODER, task, Init.uniform(1 / Math.sqrt(hidden)), outChannels));
  }

  /**
   * @param maps NCHW {@code [B, c_i, r_i, r_i]}, finest first
   * @return logits {@code [B, K, r_0, r_0]}
   */
  Output apply(GraphContext ctx, List<SDVariable> maps) {
    SameDiff sd = ctx.sd();
    int r0 = resolutions.get(0);
    SDVariable[] up = new SDVariable[maps.size()];
    for (int i = 0; i < maps.size(); i++) {
      up[i] = BilinearResize.nchw(ctx, maps.get(i), channels.get(i), resolutions.get(i), resolutions.get(i), r0, r0);
    }
    SDVariable x = sd.concat(1, up); // [B, sum c_i, r0, r0]
    // The two 1x1 convolutions, the batch norm and the ReLU run on channels-last pixel rows: one permute in and one
    // out, instead of a permute pair around each convolution (the hidden layer is 1080 wide at full head resolution).
    long cin = concatChannels();
    SDVariable rows = sd.reshape(sd.permute(x, 0, 2, 3, 1), -1, cin); // [B*r0*r0, sum c_i]
    rows = Linear.apply(sd, rows, sd.reshape(ctx.param(prefix + ".0.weight"), hidden, cin),
        ctx.param(prefix + ".0.bias")); // [N, hidden]
    SDVariable g = ctx.param(prefix + ".1.weight");
    SDVariable b = ctx.param(prefix + ".1.bias");
    BatchNorm.TrainOutput stats = null;
    if (ctx.isTraining()) {
      stats = BatchNorm.train(sd, rows, 2, hidden, g, b, BatchNorm.DEFAULT_EPS);
      rows = stats.output();
    } else {
      rows = BatchNorm.eval(sd, rows, 2, hidden, ctx.param(prefix + ".1.running_mean"),
          ctx.param(prefix + ".1.running_var"), g, b, BatchNorm.DEFAULT_EPS);
    }
    rows = Relu.apply(sd, rows);
    rows = Linear.apply(sd, rows, sd.reshape(ctx.param(prefix + ".3.weight"), outChannels, hidden),
        ctx.param(prefix + ".3.bias")); // [N, K]
    x = sd.permute(sd.reshape(rows, -1, r0, r0, outChannels), 0, 3, 1, 2); // [B, K, r0, r0]
    return new Output(x, stats);
  }
}
