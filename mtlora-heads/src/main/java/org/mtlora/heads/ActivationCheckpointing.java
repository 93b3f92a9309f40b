package org.mtlora.heads;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.RandomMasks;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.SegmentChain;
import org.mtlora.swin.SwinBackbone;
import org.mtlora.tasks.Task;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * How a training step keeps the backbone's activations ({@link MultiTaskModel#trainingGraph}). Without
 * checkpointing the intermediates the backward reads stay in memory until it reaches them (Swin-T at 448: 6.1 GB at
 * batch 1, 11.2 GB at batch 2); with it, the backbone runs as a chain of graphs whose activations are recomputed, one
 * segment at a time, during the backward, for one extra backbone forward (batch 2: 5.6 GB per stage, 5 GB per block).
 */
public enum ActivationCheckpointing {
  /** One whole graph: fastest, all activations kept. */
  NONE,
  /** One segment per stage (the patch embedding with the first): peak = the largest stage's activations. */
  STAGE,
  /** One segment per block (a stage's last block with its patch merging): the smallest peak. */
  BLOCK;

  /** Parses {@code none}, {@code stage} or {@code block} (any case). */
  public static ActivationCheckpointing named(String name) {
    for (ActivationCheckpointing m : values()) {
      if (m.name().equalsIgnoreCase(name)) {
        return m;
      }
    }
    throw new IllegalArgumentException("unknown activation checkpointing '" + name + "': expected none, stage or "
        + "block");
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
    Preconditions.checkState(this != NONE, "NONE trains one whole graph");
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

  /** Block ranges {@code [from, to)} of the backbone segments (empty for {@link #NONE}). */
  List<int[]> ranges(SwinBackbone backbone) {
    List<int[]> out = new ArrayList<>();
    if (this == NONE) {
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
