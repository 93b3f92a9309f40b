package org.mtlora.heads;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mtlora.core.adapter.MtLoraConfig;
import org.mtlora.core.nn.BatchNorm;
import org.mtlora.core.nn.BilinearResize;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.SegmentChain;
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

  /**
   * Bound on the released arrays an evaluation forward keeps for reuse (SessionMemory#boundCache). Swin-T 448 peaks
   * at 2.45 GB resident (batch 1) and 4.1 GB (batch 2) with SameDiff's default bound (4 GiB under ./mtlora), at 2.16
   * and 3.0 GB with this one, in the same time; 256 MiB saved more (1.8 and 2.9 GB) but slowed batch 2 by 10-70 %
   * (docs/performance.md).
   */
  static final long EVALUATION_CACHE_BYTES = 768L << 20;

  private final MultiTaskConfig config;
  private final SwinBackbone backbone;
  private final ImmutableMap<String, Downsampler> downsamplers;
  private final ImmutableMap<String, HrnetHead> heads;

  /**
   * A built graph.
   *
   * @param sd the graph
   * @param context the context it was built with (mode, masks)
   * @param outputs {@code out/<task>}, full resolution, NCHW
   * @param headOutputs each head's output before the final upsample, NCHW
   * @param losses {@code loss/<task>} (empty when built without losses)
   * @param totalLoss {@code loss/total}, or null
   * @param batchNorm training graphs only: the heads' batch-norm running updates
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
      ImmutableList<BatchNorm.RunningUpdate> batchNorm,
      ImmutableMap<String, SDVariable> intermediates) {

    /**
     * This training graph as the {@link org.mtlora.core.train.Trainer} runs it (one whole graph, no
     * recomputation). Call once per graph: the result prepares the backward on first use.
     */
    public SegmentChain trainable() {
      Preconditions.checkState(context.isTraining() && totalLoss != null,
          "only a training graph built with losses can be trained");
      return SegmentChain.whole(new SegmentChain.LossSegment(context, ImmutableMap.of(), totalLoss, losses,
          ImmutableList.copyOf(batchNormOutputs())), (extras, batch) -> updateRunningStats(context.params(), extras,
          batch));
    }

    /** Applies the batch-norm running update (momentum 0.1) and counts the batch, from a forward's outputs. */
    public void updateRunningStats(ParameterRegistry params, Map<String, INDArray> results, int batch) {
      batchNorm.forEach(u -> u.apply(params, results, batch));
    }

    /**
     * Every task's output for a batch of images ({@code out/<task>} by task name), from an evaluation graph.
     *
     * @param input {@code [B, inChans, S, S]} as the {@code input} placeholder declares
     * @throws IllegalArgumentException naming the expected shape
     */
    public ImmutableMap<String, INDArray> predict(INDArray input) {
      long[] want = sd.getVariable(INPUT).getShape();
      long[] shape = input.shape();
      Preconditions.checkArgument(shape.length == 4 && shape[1] == want[1] && shape[2] == want[2]
          && shape[3] == want[3], "input must be [B, %s, %s, %s] (NCHW, ImageNet-normalised), found %s", want[1],
          want[2], want[3], java.util.Arrays.toString(shape));
      List<String> names = new ArrayList<>();
      outputs.values().forEach(v -> names.add(v.name()));
      INDArray x = input.dataType() == context.dataType() ? input : input.castTo(context.dataType());
      Map<String, INDArray> out = context.forwardRunner().output(Map.of(INPUT, x), names, EVALUATION_CACHE_BYTES);
      ImmutableMap.Builder<String, INDArray> b = ImmutableMap.builder();
      outputs.forEach((task, v) -> b.put(task, out.get(v.name())));
      return b.buildOrThrow();
    }

    /** Names of the batch-norm statistic variables (to request with a training forward). */
    public List<String> batchNormOutputs() {
      return statisticNames(batchNorm);
    }
  }

  /** The graph variables the running updates read, mean then variance of each. */
  static List<String> statisticNames(List<BatchNorm.RunningUpdate> updates) {
    List<String> names = new ArrayList<>();
    updates.forEach(u -> {
      names.add(u.meanVariable());
      names.add(u.varVariable());
    });
    return names;
  }

  public MultiTaskModel(MultiTaskConfig config) {
    this(config, config.lora());
  }

  /** The model of {@code config} with another adapter placement (e.g. {@link MtLoraConfig#forMergedInference()}). */
  MultiTaskModel(MultiTaskConfig config, MtLoraConfig placement) {
    this.config = config;
    this.backbone = new SwinBackbone(config.swin(), placement);
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

  /** A registry with every parameter declared, initialised from {@code seed}, frozen by the configuration's method. */
  public ParameterRegistry newRegistry(long seed) {
    return newRegistry(config.freezePolicy(), seed);
  }

  /**
   * A registry with every parameter declared, initialised from {@code seed}, and {@code policy} applied (a policy of
   * one's own; {@link #newRegistry(long)} uses the method's).
   */
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
    SwinBackbone.Features features = backbone.apply(ctx, inputPlaceholder(ctx));
    Heads h = heads(ctx, features.stages(), withLosses);
    Map<String, SDVariable> named = new LinkedHashMap<>(features.intermediates());
    named.putAll(h.named());
    return new Graph(ctx.sd(), ctx, h.outputs(), h.headOutputs(), h.losses(), h.total(), h.stats(),
        ImmutableMap.copyOf(named));
  }

  /**
   * A training graph for the {@link org.mtlora.core.train.Trainer}, with the given activation checkpointing: one
   * whole graph ({@link ActivationCheckpointing#NONE}) or a chain of backbone segments and one segment for the
   * downsamplers, heads and losses, whose backbone activations are recomputed during the backward. All three give
   * the same losses and gradients; checkpointing trades one extra backbone forward for memory. {@link
   * ActivationCheckpointing#AUTO} depends on the batch size: resolve it first ({@link
   * ActivationCheckpointing#resolve}).
   */
  public SegmentChain trainingGraph(ParameterRegistry params, DataType dataType, ActivationCheckpointing mode) {
    Preconditions.checkNotNull(mode, "mode");
    Preconditions.checkArgument(mode != ActivationCheckpointing.AUTO, "activation checkpointing AUTO depends on the "
        + "batch size: pass AUTO.resolve(config, batch), or NONE, STAGE or BLOCK");
    if (mode == ActivationCheckpointing.NONE) {
      return build(GraphContext.training(SameDiff.create(), params, dataType), true).trainable();
    }
    return mode.chain(this, params, dataType);
  }

  static String stageTaskName(int stage, String task) {
    return "stage" + stage + ".task." + task;
  }

  SDVariable inputPlaceholder(GraphContext ctx) {
    int img = config.swin().imgSize();
    return ctx.sd().placeHolder(INPUT, ctx.dataType(), -1, config.swin().inChans(), img, img);
  }

  /** What the per-task part (downsamplers, heads, upsampling, losses) adds to a graph. */
  record Heads(ImmutableMap<String, SDVariable> outputs, ImmutableMap<String, SDVariable> headOutputs,
      ImmutableMap<String, SDVariable> losses, SDVariable total, ImmutableList<BatchNorm.RunningUpdate> stats,
      Map<String, SDVariable> named) {}

  Heads heads(GraphContext ctx, List<SwinBackbone.StageFeatures> stages, boolean withLosses) {
    SameDiff sd = ctx.sd();
    int img = config.swin().imgSize();
    DataType dt = ctx.dataType();
    Map<String, SDVariable> named = new LinkedHashMap<>();
    ImmutableMap.Builder<String, SDVariable> outputs = ImmutableMap.builder();
    ImmutableMap.Builder<String, SDVariable> headOutputs = ImmutableMap.builder();
    ImmutableMap.Builder<String, SDVariable> losses = ImmutableMap.builder();
    ImmutableList.Builder<BatchNorm.RunningUpdate> stats = ImmutableList.builder();
    SDVariable total = null;
    int r0 = backbone.outputResolution(0);
    for (Task t : config.tasks()) {
      List<SDVariable> maps = downsamplers.get(t.name()).apply(ctx, stages);
      for (int i = 0; i < maps.size(); i++) {
        named.put("downsampler." + t.name() + "." + i, maps.get(i));
      }
      HrnetHead.Output head = heads.get(t.name()).apply(ctx, maps);
      named.put("head." + t.name(), head.logits());
      headOutputs.put(t.name(), head.logits());
      if (head.batchNorm() != null) {
        stats.add(new BatchNorm.RunningUpdate(heads.get(t.name()).bnPrefix(), head.batchNorm().batchMean().name(),
            head.batchNorm().batchVar().name(), (long) r0 * r0));
      }
      SDVariable out = BilinearResize.nchw(ctx, head.logits(), t.outputChannels(), r0, r0, img, img);
      out = sd.identity("out/" + t.name(), out);
      outputs.put(t.name(), out);
      if (withLosses) {
        SDVariable target = sd.placeHolder(t.targetName(), dt, -1, t.targetChannels(), img, img);
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
    return new Heads(outputs.buildOrThrow(), headOutputs.buildOrThrow(), losses.buildOrThrow(), total,
        stats.build(), named);
  }
}
