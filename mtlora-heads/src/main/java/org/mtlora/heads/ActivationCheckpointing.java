package org.mtlora.heads;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.Pointer;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.RandomMasks;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.SegmentChain;
import org.mtlora.swin.SwinBackbone;
import org.mtlora.swin.SwinConfig;
import org.mtlora.tasks.Task;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * How a training step keeps the backbone's activations ({@link MultiTaskModel#trainingGraph}). Without
 * checkpointing the intermediates the backward reads stay in memory until it reaches them (Swin-T at 448: 2.8 GB at
 * batch 1, 4.8 GB at batch 2); with it, the backbone runs as a chain of graphs whose activations are recomputed, one
 * segment at a time, during the backward, for one extra backbone forward (1.9 and 3.0 GB per stage). {@link #AUTO}, the
 * default of {@link org.mtlora.TrainingConfig} and of the command line, takes the fastest mode whose estimated peak
 * fits this process's memory ({@link #resolve}).
 */
public enum ActivationCheckpointing {
  /** One whole graph: fastest, all activations kept. */
  NONE,
  /** One segment per stage (the patch embedding with the first): peak = the largest stage's activations. */
  STAGE,
  /** One segment per block (a stage's last block with its patch merging): the smallest peak. */
  BLOCK,
  /**
   * Chosen for the run's batch size ({@link #resolve}): {@link #NONE} when its estimated peak fits the memory budget,
   * else {@link #STAGE} when its estimate fits, else {@link #BLOCK}.
   */
  AUTO;

  /**
   * The two estimates, fitted to peaks measured on Swin-T with four tasks ({@code bench --mode train}, 2026-12-06,
   * after sums, norms and GELUs stopped keeping their operands; 448 at batch 1 and 2: 2.78 / 4.76 GB whole graph,
   * 1.93 / 2.96 GB by stage; checked at 224, batch 4: 2.71-2.83 GB whole graph, 2.78 GB estimated;
   * docs/fine-tuning.md#activation-checkpointing): a fixed part (the JVM, the native
   * libraries, weights, optimiser state) and bytes per sample and per unit of {@link #activationUnits}.
   */
  static final double NONE_FIXED_BYTES = 0.80e9;
  static final double NONE_BYTES_PER_UNIT = 346;
  static final double STAGE_FIXED_BYTES = 0.90e9;
  static final double STAGE_BYTES_PER_UNIT = 180;
  /** The share of the memory limit an automatic choice may plan to use. */
  static final double BUDGET_SHARE = 0.75;

  /** Parses {@code none}, {@code stage}, {@code block} or {@code auto} (any case). */
  public static ActivationCheckpointing named(String name) {
    for (ActivationCheckpointing m : values()) {
      if (m.name().equalsIgnoreCase(name)) {
        return m;
      }
    }
    throw new IllegalArgumentException("unknown activation checkpointing '" + name + "': expected auto, none, stage "
        + "or block");
  }

  /**
   * This mode for a run of {@code batch} samples of {@code config}: itself, or for {@link #AUTO} the choice within
   * {@link #memoryBudget()}.
   */
  public ActivationCheckpointing resolve(MultiTaskConfig config, long batch) {
    return resolve(config, batch, memoryBudget());
  }

  /**
   * This mode, or for {@link #AUTO} the fastest one whose {@link #estimatedPeakBytes estimated peak} is at most {@code
   * budgetBytes}: {@link #NONE}, else {@link #STAGE}, else {@link #BLOCK} (the smallest peak, whatever the budget).
   */
  public ActivationCheckpointing resolve(MultiTaskConfig config, long batch, long budgetBytes) {
    Preconditions.checkNotNull(config, "config");
    Preconditions.checkArgument(batch >= 1, "batch must be >= 1, found %s", batch);
    Preconditions.checkArgument(budgetBytes > 0, "memory budget must be positive, found %s", budgetBytes);
    if (this != AUTO) {
      return this;
    }
    if (estimatedPeakBytes(config, batch, NONE) <= budgetBytes) {
      return NONE;
    }
    return estimatedPeakBytes(config, batch, STAGE) <= budgetBytes ? STAGE : BLOCK;
  }

  /**
   * The estimated peak resident memory of a training step of {@code batch} samples with {@code mode} ({@link #NONE} or
   * {@link #STAGE}): a fixed part plus, per sample, a constant fitted on Swin-T times {@link #activationUnits}. Within
   * a few per cent of the measured peaks; an estimate, not a bound.
   */
  public static long estimatedPeakBytes(MultiTaskConfig config, long batch, ActivationCheckpointing mode) {
    Preconditions.checkArgument(mode == NONE || mode == STAGE, "estimated for NONE and STAGE only, found %s", mode);
    double units = batch * activationUnits(config.swin());
    return (long) (mode == NONE ? NONE_FIXED_BYTES + NONE_BYTES_PER_UNIT * units
        : STAGE_FIXED_BYTES + STAGE_BYTES_PER_UNIT * units);
  }

  /**
   * What a sample's activations grow with: the sum over blocks of tokens times channels, {@code Σ_s depth_s L_s C_s}
   * (Swin-T at 448: 5.72 M).
   */
  static double activationUnits(SwinConfig swin) {
    double units = 0;
    for (int s = 0; s < swin.numStages(); s++) {
      double tokens = (double) swin.stageResolution(s) * swin.stageResolution(s);
      units += swin.depths().get(s) * tokens * swin.stageDim(s);
    }
    return units;
  }

  /**
   * {@code requested} as chosen for a run, for a log line: {@code "stage"}, or for {@link #AUTO} e.g. {@code "none
   * (auto: whole graph 4.8 GB estimated at batch 2, budget 15.0 GB)"}.
   */
  public static String describe(ActivationCheckpointing requested, MultiTaskConfig config, long batch) {
    ActivationCheckpointing chosen = requested.resolve(config, batch);
    if (requested != AUTO) {
      return chosen.label();
    }
    return String.format(Locale.ROOT, "%s (auto: whole graph %.1f GB estimated at batch %d, budget %.1f GB)",
        chosen.label(), estimatedPeakBytes(config, batch, NONE) / 1e9, batch, memoryBudget() / 1e9);
  }

  /**
   * What an automatic choice may plan to use: {@value #BUDGET_SHARE} of javacpp's limit on the process's resident
   * memory ({@code org.bytedeco.javacpp.maxphysicalbytes}, beyond which native allocations fail) or of the machine's
   * physical memory, whichever is smaller.
   */
  public static long memoryBudget() {
    long limit = Pointer.totalPhysicalBytes();
    long max = Pointer.maxPhysicalBytes();
    if (max > 0 && (limit <= 0 || max < limit)) {
      limit = max;
    }
    return limit > 0 ? (long) (BUDGET_SHARE * limit) : Long.MAX_VALUE;
  }

  /** Lower-case name, as the command line spells it. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The training graph of {@code model} as a chain: one graph per backbone segment of {@link #ranges} (each emitting
   * the shared stream for the next, and the task streams of the stages it completes) and one graph for the
   * downsamplers, heads and losses, whose inputs are the stage task streams. Every graph declares its random masks
   * in one shared {@link RandomMasks}, so they follow the whole graph's order.
   */
  SegmentChain chain(MultiTaskModel model, ParameterRegistry params, DataType dataType) {
    Preconditions.checkState(this == STAGE || this == BLOCK, "%s is not a chain of segments", this);
    SwinBackbone backbone = model.backbone();
    RandomMasks masks = new RandomMasks();
    List<SegmentChain.Segment> body = new ArrayList<>();
    String shared = null;
    for (int[] range : ranges(backbone)) {
      GraphContext c = GraphContext.training(SameDiff.create(), params, dataType, masks);
      SDVariable x;
      ImmutableMap<String, SDVariable> inputs;
      if (range[0] == 0) {
        x = model.inputPlaceholder(c);
        inputs = ImmutableMap.of();
      } else {
        x = c.boundaryInput(shared, -1, backbone.inputChannels(range[0]));
        inputs = ImmutableMap.of(shared, x);
      }
      SwinBackbone.Partial part = backbone.applyBlocks(c, x, range[0], range[1], new LinkedHashMap<>());
      ImmutableMap.Builder<String, SegmentChain.Output> outputs = ImmutableMap.builder();
      if (range[1] < backbone.numBlocks()) {
        shared = "backbone.shared_before_block" + range[1];
        outputs.put(shared, new SegmentChain.Output(c.sd().identity(shared, part.shared()),
            new long[] {-1, backbone.inputChannels(range[1])}));
      }
      part.stages().forEach((stage, f) -> f.tasks().forEach((task, v) -> {
        String name = MultiTaskModel.stageTaskName(stage, task);
        outputs.put(name, new SegmentChain.Output(c.sd().identity(name, v), new long[] {-1, f.channels()}));
      }));
      body.add(new SegmentChain.Segment(c, inputs, outputs.buildOrThrow()));
    }
    GraphContext c = GraphContext.training(SameDiff.create(), params, dataType, masks);
    ImmutableMap.Builder<String, SDVariable> inputs = ImmutableMap.builder();
    List<SwinBackbone.StageFeatures> stages = new ArrayList<>();
    for (int i = 0; i < backbone.swinConfig().numStages(); i++) {
      ImmutableMap.Builder<String, SDVariable> tasks = ImmutableMap.builder();
      for (Task t : model.config().tasks()) {
        String name = MultiTaskModel.stageTaskName(i, t.name());
        SDVariable v = c.boundaryInput(name, -1, backbone.outputChannels(i));
        tasks.put(t.name(), v);
        inputs.put(name, v);
      }
      stages.add(new SwinBackbone.StageFeatures(null, tasks.buildOrThrow(), backbone.outputResolution(i),
          backbone.outputChannels(i)));
    }
    MultiTaskModel.Heads h = model.heads(c, stages, true);
    SegmentChain.LossSegment last = new SegmentChain.LossSegment(c, inputs.buildOrThrow(), h.total(), h.losses(),
        ImmutableList.copyOf(MultiTaskModel.statisticNames(h.stats())));
    return new SegmentChain(body, last, (extras, batch) -> h.stats().forEach(u -> u.apply(params, extras, batch)));
  }

  /** Block ranges {@code [from, to)} of the backbone segments (empty for {@link #NONE} and {@link #AUTO}). */
  List<int[]> ranges(SwinBackbone backbone) {
    List<int[]> out = new ArrayList<>();
    if (this != STAGE && this != BLOCK) {
      return out;
    }
    int from = 0;
    for (int k = 0; k < backbone.numBlocks(); k++) {
      if (this == BLOCK || backbone.endsStage(k)) {
        out.add(new int[] {from, k + 1});
        from = k + 1;
      }
    }
    return out;
  }
}
