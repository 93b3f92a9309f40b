package org.mtlora.heads;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mtlora.core.nn.BatchNorm;
import org.mtlora.core.nn.BilinearResize;
import org.mtlora.core.nn.GraphContext;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.TrainableGraph;
import org.mtlora.swin.SwinBackbone;
import org.mtlora.tasks.Task;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The MTLoRA multi-task network (reference {@code MultiTaskSwin}): the Swin backbone with adapters, then per task a
 * downsampler, an HRNet-style head and a bilinear upsample to the input size, and the weighted sum of the task
 * losses.
 *
 * <p>Graph names: placeholder {@code input} {@code [B, 3, S, S]} and {@code target/<task>}; outputs {@code
 * out/<task>} {@code [B, K, S, S]}; losses {@code loss/<task>} and {@code loss/total}.
 */
public final class MultiTaskModel {
  /** Placeholder name of the image batch. */
  public static final String INPUT = "input";

  private final MultiTaskConfig config;
  private final SwinBackbone backbone;
  private final ImmutableMap<String, Downsampler> downsamplers;
  private final ImmutableMap<String, HrnetHead> heads;

  /**
   * One head's batch-norm statistics in a training graph, for the running update.
   *
   * @param prefix parameter prefix of the batch norm ({@code decoders.decoders.<task>.last_layer.1})
   * @param mean batch mean {@code [C]}
   * @param var biased batch variance {@code [C]}
   * @param countPerSample values per channel and sample (head resolution squared)
   */
  public record BatchNormStats(String prefix, SDVariable mean, SDVariable var, long countPerSample) {}

  /**
   * A built graph.
   *
   * @param sd the graph
   * @param context the context it was built with (mode, masks)
   * @param outputs {@code out/<task>}, full resolution, NCHW
   * @param headOutputs each head's output before the final upsample, NCHW
   * @param losses {@code loss/<task>} (empty when built without losses)
   * @param totalLoss {@code loss/total}, or null
   * @param batchNorm training graphs only: statistics for the running update
   * @param intermediates named backbone and decoder tensors (see {@link SwinBackbone.Features}, plus {@code
   *     downsampler.<task>.<i>} and {@code head.<task>})
   */
  public record Graph(
      SameDiff sd,
      GraphContext context,
      ImmutableMap<String, SDVariable> outputs,
      ImmutableMap<String, SDVariable> headOutputs,
      ImmutableMap<String, SDVariable> losses,
      SDVariable totalLoss,
      ImmutableList<BatchNormStats> batchNorm,
      ImmutableMap<String, SDVariable> intermediates) implements TrainableGraph {

    @Override
    public ImmutableMap<String, SDVariable> taskLosses() {
      return losses;
    }

    @Override
    public List<String> extraOutputs() {
      return batchNormOutputs();
    }

    @Override
    public void afterForward(Map<String, INDArray> outputs, int batch) {
      updateRunningStats(context.params(), outputs, batch);
    }

    /** Applies the batch-norm running update (momentum 0.1) and counts the batch, from a forward's outputs. */
    public void updateRunningStats(ParameterRegistry params, Map<String, INDArray> results, int batch) {
      for (BatchNormStats s : batchNorm) {
        BatchNorm.updateRunning(params.get(s.prefix() + ".running_mean"), params.get(s.prefix() + ".running_var"),
            results.get(s.mean().name()), results.get(s.var().name()), s.countPerSample() * batch,
            BatchNorm.DEFAULT_MOMENTUM);
        INDArray n = params.get(s.prefix() + ".num_batches_tracked");
        n.assign(n.getDouble(0) + 1);
      }
    }

    /** Names of the batch-norm statistic variables (to request with a training forward). */
    public List<String> batchNormOutputs() {
      List<String> names = new ArrayList<>();
      batchNorm.forEach(s -> {
        names.add(s.mean().name());
        names.add(s.var().name());
      });
      return names;
    }
  }

  public MultiTaskModel(MultiTaskConfig config) {
    this.config = config;
    this.backbone = new SwinBackbone(config.swin(), config.lora());
    List<Integer> in = new ArrayList<>();
    List<Integer> res = new ArrayList<>();
    for (int i = 0; i < config.swin().numStages(); i++) {
      in.add(backbone.outputChannels(i));
      res.add(backbone.outputResolution(i));
    }
    ImmutableMap.Builder<String, Downsampler> ds = ImmutableMap.builder();
    ImmutableMap.Builder<String, HrnetHead> hs = ImmutableMap.builder();
    for (Task t : config.tasks()) {
      ds.put(t.name(), new Downsampler(t.name(), in, config.decoderChannels()));
      hs.put(t.name(), new HrnetHead(t.name(), config.decoderChannels(), res, config.decoderHidden(),
          t.outputChannels()));
    }
    this.downsamplers = ds.buildOrThrow();
    this.heads = hs.buildOrThrow();
  }

  public MultiTaskConfig config() {
    return config;
  }

  public SwinBackbone backbone() {
    return backbone;
  }

  /** Every parameter and buffer: backbone, then per task the downsampler, then per task the decoder. */
  public ImmutableList<ParamSpec> paramSpecs() {
    ImmutableList.Builder<ParamSpec> b = ImmutableList.builder();
    b.addAll(backbone.paramSpecs());
    downsamplers.values().forEach(d -> b.addAll(d.paramSpecs()));
    heads.values().forEach(h -> b.addAll(h.paramSpecs()));
    return b.build();
  }

  /** A registry with every parameter declared, initialised from {@code seed}, and {@code policy} applied. */
  public ParameterRegistry newRegistry(FreezePolicy policy, long seed) {
    ParameterRegistry r = new ParameterRegistry();
    r.declareAll(paramSpecs());
    r.initialise(seed);
    r.applyPolicy(policy);
    return r;
  }

  /**
   * Builds the graph in the context's mode.
   *
   * @param withLosses also add target placeholders and the losses
   */
  public Graph build(GraphContext ctx, boolean withLosses) {
    SameDiff sd = ctx.sd();
    int img = config.swin().imgSize();
    DataType dt = ctx.dataType();
    SDVariable input = sd.placeHolder(INPUT, dt, -1, config.swin().inChans(), img, img);
    SwinBackbone.Features features = backbone.apply(ctx, input);
    Map<String, SDVariable> named = new LinkedHashMap<>(features.intermediates());
    ImmutableMap.Builder<String, SDVariable> outputs = ImmutableMap.builder();
    ImmutableMap.Builder<String, SDVariable> headOutputs = ImmutableMap.builder();
    ImmutableMap.Builder<String, SDVariable> losses = ImmutableMap.builder();
    ImmutableList.Builder<BatchNormStats> stats = ImmutableList.builder();
    SDVariable total = null;
    int r0 = backbone.outputResolution(0);
    for (Task t : config.tasks()) {
      List<SDVariable> maps = downsamplers.get(t.name()).apply(ctx, features.stages());
      for (int i = 0; i < maps.size(); i++) {
        named.put("downsampler." + t.name() + "." + i, maps.get(i));
      }
      HrnetHead.Output head = heads.get(t.name()).apply(ctx, maps);
      named.put("head." + t.name(), head.logits());
      headOutputs.put(t.name(), head.logits());
      if (head.batchNorm() != null) {
        stats.add(new BatchNormStats(heads.get(t.name()).bnPrefix(), head.batchNorm().batchMean(),
            head.batchNorm().batchVar(), (long) r0 * r0));
      }
      SDVariable out = BilinearResize.nchw(ctx, head.logits(), t.outputChannels(), r0, r0, img, img);
      out = sd.identity("out/" + t.name(), out);
      outputs.put(t.name(), out);
      if (withLosses) {
        SDVariable target = sd.placeHolder("target/" + t.name(), dt, -1, t.targetChannels(), img, img);
        SDVariable loss = sd.identity("loss/" + t.name(), t.loss(sd, out, target));
        losses.put(t.name(), loss);
        SDVariable weighted = loss.mul(config.lossWeights().get(t.name()));
        total = total == null ? weighted : total.add(weighted);
      }
    }
    if (total != null) {
      total = sd.identity("loss/total", total);
      sd.setLossVariables(total);
    }
    return new Graph(sd, ctx, outputs.buildOrThrow(), headOutputs.buildOrThrow(), losses.buildOrThrow(), total,
        stats.build(), ImmutableMap.copyOf(named));
  }
}
