package org.mtlora.core.train;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ObjIntConsumer;
import org.mtlora.core.graph.Arena;
import org.mtlora.core.graph.ForwardRunner;
import org.mtlora.core.graph.Gradients;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.RandomMasks;
import org.mtlora.core.graph.ResidentGrowth;
import org.mtlora.core.graph.SessionMemory;
import org.mtlora.core.params.ParameterRegistry;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model split into a chain of SameDiff graphs, trained with <em>activation checkpointing</em>: a step runs the
 * {@linkplain Segment body segments} forward keeping only their outputs (the boundaries), then the {@linkplain
 * LossSegment loss segment} forward and backward, then each body segment again, last to first, forward (recomputed)
 * and backward, seeded with the gradient of its outputs. Peak memory is one segment's activations instead of the whole
 * model's; the price is one extra forward of the body.
 *
 * <p>With no body segment this is plain training of one whole graph ({@link #whole}). Leading segments without a
 * trainable parameter (e.g. a frozen backbone) run forward only.
 *
 * <p>Boundaries are named: a segment's input {@code n} (a variable made with {@link GraphContext#boundaryInput}) takes
 * the value of the earlier segment output named {@code n}, and its gradient flows back to that output. Every segment
 * is built with a training {@link GraphContext} over the same registry and the same {@link RandomMasks}, so that the
 * masks follow one declaration order. Each trainable parameter must be a variable of exactly one segment.
 */
public final class SegmentChain implements TrainableGraph {
  private static final Logger LOG = LoggerFactory.getLogger(SegmentChain.class);
  private static final String SEED_PREFIX = "chain/grad_of/";
  /**
   * Bound on the released arrays each segment's session keeps for reuse (SessionMemory#boundCache). Swin-T 448 training
   * peaks at 2.98 GB resident (batch 1) and 5.06 GB (batch 2) with it, 2.95 and 5.08 GB with SameDiff's default
   * bound (4 GiB under ./mtlora) and 2.85 and 4.93 GB with 256 MiB, in times within noise (docs/performance.md).
   */
  static final long TRAINING_CACHE_BYTES = 768L << 20;

  /**
   * A boundary output.
   *
   * @param variable the tensor
   * @param shape its shape, {@code -1} where it depends on the batch
   */
  public record Output(SDVariable variable, long[] shape) {}

  /**
   * A graph of the chain before the loss.
   *
   * @param context the context it was built with
   * @param inputs boundary inputs by boundary name (none for the first segment, which reads placeholders)
   * @param outputs boundary outputs by boundary name
   */
  public record Segment(GraphContext context, ImmutableMap<String, SDVariable> inputs,
      ImmutableMap<String, Output> outputs) {}

  /**
   * The last graph: from its boundary inputs (and placeholders) to the losses.
   *
   * @param context the context it was built with
   * @param inputs boundary inputs by boundary name
   * @param totalLoss the scalar minimised
   * @param taskLosses per-task losses, in task order
   * @param extraOutputs names of further variables to fetch with the forward (handed to the after-forward hook)
   */
  public record LossSegment(GraphContext context, ImmutableMap<String, SDVariable> inputs, SDVariable totalLoss,
      ImmutableMap<String, SDVariable> taskLosses, ImmutableList<String> extraOutputs) {}

  private final ImmutableList<Segment> body;
  private final LossSegment last;
  private final ObjIntConsumer<Map<String, INDArray>> afterForward;
  private final ParameterRegistry params;
  private final DataType dataType;
  private final RandomMasks masks;
  /**
   * Where every segment's session takes its new float buffers (instead of fresh, zero-filled ones): taken back after
   * each session, kept for the next step, freed when the chain is collected (docs/performance.md, lever row "One
   * arena for the sessions' new buffers").
   */
  private final Arena arena = new Arena();
  /** When {@link #releaseMemory} collects garbage: after growth of 16 MiB. */
  private final ResidentGrowth collections = new ResidentGrowth(16L << 20);
  /** Runners of the body segments' forward graphs and of the gradient functions, by graph (identity). */
  private final Map<SameDiff, ForwardRunner> runners = new IdentityHashMap<>();
  /** Trainable parameter names per graph: body segments in order, then the loss segment. */
  private final ImmutableList<ImmutableList<String>> trainable;
  /** Body segments up to and including this index hold no trainable parameter: their backward is skipped. */
  private final int lastFrozenSegment;
  private boolean prepared;

  /**
   * @param body segments before the loss, in forward order (may be empty)
   * @param last the loss segment
   * @param afterForward receives the extra outputs and the batch size once per step (may be a no-op)
   */
  public SegmentChain(List<Segment> body, LossSegment last, ObjIntConsumer<Map<String, INDArray>> afterForward) {
    this.body = ImmutableList.copyOf(body);
    this.last = Preconditions.checkNotNull(last, "last");
    this.afterForward = Preconditions.checkNotNull(afterForward, "afterForward");
    GraphContext first = this.body.isEmpty() ? last.context() : this.body.get(0).context();
    this.params = first.params();
    this.dataType = first.dataType();
    this.masks = first.masks();
    List<GraphContext> contexts = new ArrayList<>();
    this.body.forEach(s -> contexts.add(s.context()));
    contexts.add(last.context());
    for (int k = 0; k < contexts.size(); k++) {
      GraphContext c = contexts.get(k);
      Preconditions.checkArgument(c.isTraining(), "segment %s was built in evaluation mode", k);
      Preconditions.checkArgument(c.params() == params && c.masks() == masks && c.dataType() == dataType,
          "segment %s must share the registry, the random masks and the data type of segment 0", k);
    }
    Set<String> produced = new HashSet<>();
    for (int k = 0; k < this.body.size(); k++) {
      Segment s = this.body.get(k);
      checkInputs("segment " + k, s.inputs().keySet(), produced);
      for (String name : s.outputs().keySet()) {
        Preconditions.checkArgument(produced.add(name), "segment %s: boundary %s is produced twice", k, name);
      }
    }
    checkInputs("the loss segment", last.inputs().keySet(), produced);
    this.trainable = assignTrainable(contexts);
    int frozen = -1;
    while (frozen + 1 < this.body.size() && trainable.get(frozen + 1).isEmpty()) {
      frozen++;
    }
    this.lastFrozenSegment = frozen;
    for (Segment s : this.body) {
      addGradientSeed(s);
    }
  }

  /** Plain training of one graph that computes the loss from placeholders. */
  public static SegmentChain whole(LossSegment graph, ObjIntConsumer<Map<String, INDArray>> afterForward) {
    Preconditions.checkArgument(graph.inputs().isEmpty(), "a whole graph has no boundary inputs, found %s",
        graph.inputs().keySet());
    return new SegmentChain(List.of(), graph, afterForward);
  }

  private static void checkInputs(String where, Set<String> inputs, Set<String> produced) {
    for (String name : inputs) {
      Preconditions.checkArgument(produced.contains(name), "%s reads boundary %s, which no earlier segment produces",
          where, name);
    }
  }

  private ImmutableList<ImmutableList<String>> assignTrainable(List<GraphContext> contexts) {
    ImmutableList.Builder<ImmutableList<String>> out = ImmutableList.builder();
    Map<String, Integer> owner = new HashMap<>();
    for (int k = 0; k < contexts.size(); k++) {
      SameDiff sd = contexts.get(k).sd();
      List<String> names = new ArrayList<>();
      for (String name : params.trainableNames()) {
        if (sd.hasVariable(name)) {
          Integer previous = owner.put(name, k);
          Preconditions.checkArgument(previous == null, "trainable parameter %s is a variable of segments %s and %s; "
              + "each parameter must live in one segment", name, previous, k);
          names.add(name);
        }
      }
      out.add(ImmutableList.copyOf(names));
    }
    for (String name : params.trainableNames()) {
      Preconditions.checkArgument(owner.containsKey(name), "trainable parameter %s is not a variable of the graph",
          name);
    }
    return out.build();
  }

  /** Seed loss {@code sum_o sum(o * dL/do)} with one placeholder per output: its gradients are the chain rule's. */
  private void addGradientSeed(Segment s) {
    SameDiff sd = s.context().sd();
    SDVariable seed = null;
    for (Map.Entry<String, Output> o : s.outputs().entrySet()) {
      SDVariable upstream = sd.placeHolder(SEED_PREFIX + o.getKey(), dataType, o.getValue().shape());
      SDVariable term = o.getValue().variable().mul(upstream).sum();
      seed = seed == null ? term : seed.add(term);
    }
    Preconditions.checkArgument(seed != null, "a body segment needs at least one output");
    sd.setLossVariables(sd.identity(SEED_PREFIX + "seed", seed));
  }

  @Override
  public ParameterRegistry params() {
    return params;
  }

  @Override
  public DataType dataType() {
    return dataType;
  }

  @Override
  public RandomMasks masks() {
    return masks;
  }

  /** Number of graphs (body segments plus the loss segment). */
  public int numGraphs() {
    return body.size() + 1;
  }

  @Override
  public Map<String, INDArray> trainableArrays() {
    Map<String, INDArray> live = new LinkedHashMap<>();
    for (int k = 0; k < numGraphs(); k++) {
      SameDiff sd = context(k).sd();
      for (String name : trainable.get(k)) {
        live.put(name, sd.getArrForVarName(name));
      }
    }
    return live;
  }

  /** The SameDiff graphs, body segments in order and the loss segment last (e.g. to attach listeners). */
  public List<SameDiff> graphs() {
    List<SameDiff> out = new ArrayList<>();
    for (int k = 0; k < numGraphs(); k++) {
      out.add(context(k).sd());
    }
    return out;
  }

  /**
   * How many runs of the segments' forward graphs and gradient functions were replayed so far: from the second step
   * on, each replays the ops its first run recorded ({@link ForwardRunner}), unless {@code -Dmtlora.replay=false} or a
   * graph has listeners.
   */
  public long replayedRuns() {
    return runners.values().stream().mapToLong(ForwardRunner::replayedRuns).sum();
  }

  /** The runner of {@code sd}'s gradient function, created on first use. */
  private ForwardRunner gradientRunner(SameDiff sd) {
    return forwardRunner(sd.getFunction("grad"));
  }

  /** The runner of {@code sd}, created on first use. */
  private ForwardRunner forwardRunner(SameDiff sd) {
    return runners.computeIfAbsent(sd, ForwardRunner::new);
  }

  private GraphContext context(int k) {
    return k < body.size() ? body.get(k).context() : last.context();
  }

  @Override
  public Pass forwardBackward(Map<String, INDArray> feed) {
    prepare();
    Map<String, INDArray> boundaries = new HashMap<>();
    long t0 = System.nanoTime();
    for (Segment s : body) {
      SameDiff sd = s.context().sd();
      setInputs(sd, s.inputs(), boundaries);
      List<String> names = new ArrayList<>();
      s.outputs().values().forEach(o -> names.add(o.variable().name()));
      Map<String, INDArray> ph = placeholders(sd, feed);
      Map<String, INDArray> ran = forwardRunner(sd).outputInArena(ph, names, TRAINING_CACHE_BYTES, arena);
      if (ran == null) { // listeners, or replaying off: SameDiff's session
        SessionMemory.boundCache(sd, TRAINING_CACHE_BYTES, arena);
        ran = sd.output(ph, names);
      }
      Map<String, INDArray> out = escape(ran);
      s.outputs().forEach((name, o) -> boundaries.put(name, out.get(o.variable().name())));
      release(sd);
    }
    long t1 = System.nanoTime();

    SameDiff sd = last.context().sd();
    setInputs(sd, last.inputs(), boundaries);
    List<String> names = new ArrayList<>();
    names.add(last.totalLoss().name());
    last.taskLosses().values().forEach(v -> names.add(v.name()));
    names.addAll(last.extraOutputs());
    List<String> wrt = differentiate(body.size(), last.inputs());
    OutAndGrad res = Gradients.calculate(sd, gradientRunner(sd), TRAINING_CACHE_BYTES, arena, placeholders(sd, feed),
        names, wrt);
    Map<String, INDArray> outputs = escape(res.getOutputs());
    double total = outputs.get(last.totalLoss().name()).getDouble(0);
    ImmutableMap.Builder<String, Double> taskLosses = ImmutableMap.builder();
    last.taskLosses().forEach((task, v) -> taskLosses.put(task, outputs.get(v.name()).getDouble(0)));
    Map<String, INDArray> extras = new LinkedHashMap<>(); // in the order of extraOutputs
    last.extraOutputs().forEach(n -> extras.put(n, outputs.get(n)));
    Map<String, INDArray> gradients = new HashMap<>();
    Map<String, INDArray> upstream = new HashMap<>();
    collect(escape(res.getGradients()), trainable.get(body.size()), last.inputs(), gradients, upstream);
    release(sd);
    long t2 = System.nanoTime();
    if (!Double.isFinite(total)) {
      return new Pass(total, taskLosses.buildOrThrow(), Map.of(), extras); // the trainer stops; no backward needed
    }

    for (int k = body.size() - 1; k > lastFrozenSegment; k--) { // frozen leading segments need no backward
      Segment s = body.get(k);
      SameDiff bsd = s.context().sd();
      setInputs(bsd, s.inputs(), boundaries);
      Map<String, INDArray> ph = placeholders(bsd, feed);
      for (String name : s.outputs().keySet()) {
        INDArray g = upstream.remove(name);
        ph.put(SEED_PREFIX + name, g != null ? g : Nd4j.zerosLike(boundaries.get(name)));
      }
      Map<String, INDArray> g = escape(Gradients.calculate(bsd, gradientRunner(bsd), TRAINING_CACHE_BYTES, arena, ph,
          List.of(), differentiate(k, s.inputs())).getGradients());
      collect(g, trainable.get(k), s.inputs(), gradients, upstream);
      s.outputs().keySet().forEach(boundaries::remove);
      release(bsd);
    }
    long t3 = System.nanoTime();
    LOG.debug("step: body forward {} s, loss segment forward+backward {} s, body recompute+backward {} s",
        (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9);
    Map<String, INDArray> ordered = new LinkedHashMap<>(); // registry order, whatever the segments' order
    for (String name : params.trainableNames()) {
      ordered.put(name, gradients.get(name));
    }
    return new Pass(total, taskLosses.buildOrThrow(), ordered, extras);
  }

  /**
   * What graph {@code k} differentiates: its trainable parameters, and its boundary inputs when an earlier segment
   * trains (their gradients seed that segment's backward).
   */
  private List<String> differentiate(int k, Map<String, SDVariable> inputs) {
    List<String> wrt = new ArrayList<>(trainable.get(k));
    if (k - 1 > lastFrozenSegment) {
      inputs.values().forEach(v -> wrt.add(v.name()));
    }
    return wrt;
  }

  private static void collect(Map<String, INDArray> grads, List<String> trainableNames,
      Map<String, SDVariable> inputs, Map<String, INDArray> gradients, Map<String, INDArray> upstream) {
    for (String name : trainableNames) {
      gradients.put(name, grads.get(name));
    }
    inputs.forEach((boundary, v) -> {
      INDArray g = grads.get(v.name());
      if (g != null) {
        upstream.merge(boundary, g, INDArray::add);
      }
    });
  }

  /** What a session returned, copied out of the arena (the session's buffers are taken back when it ends). */
  private Map<String, INDArray> escape(Map<String, INDArray> returned) {
    return arena.escapeAll(returned);
  }

  /**
   * Ends the sessions of {@code sd}'s last run and takes their arena buffers back. No garbage collection here: what the
   * sessions allocated is the arena's (taken back now) or their caches' (freed now); the copies that escaped wait for
   * {@link #releaseMemory}'s one collection per step (a full collection after every segment cost ~0.35 s per 448/b2
   * step, docs/performance.md).
   */
  private void release(SameDiff sd) {
    SessionMemory.clear(sd);
    arena.reset();
  }

  private void prepare() {
    if (!prepared) {
      for (int k = lastFrozenSegment + 1; k < numGraphs(); k++) {
        Gradients.prepare(context(k).sd());
      }
      prepared = true;
    }
  }

  private static void setInputs(SameDiff sd, Map<String, SDVariable> inputs, Map<String, INDArray> boundaries) {
    inputs.forEach((name, v) -> sd.getVariable(v.name()).setArray(boundaries.get(name)));
  }

  /** The entries of {@code feed} that are placeholders of {@code sd} (each graph reads its own masks and data). */
  private static Map<String, INDArray> placeholders(SameDiff sd, Map<String, INDArray> feed) {
    Map<String, INDArray> ph = new HashMap<>();
    feed.forEach((name, arr) -> {
      if (sd.hasVariable(name) && sd.getVariable(name).isPlaceHolder()) {
        ph.put(name, arr);
      }
    });
    return ph;
  }

  @Override
  public void afterForward(Map<String, INDArray> extras, int batch) {
    afterForward.accept(extras, batch);
  }

  @Override
  public void releaseMemory() {
    for (int k = 0; k < numGraphs(); k++) {
      SessionMemory.clear(context(k).sd());
    }
    // a full collection frees what outlived young collections (the step's gradients, the last step's outputs): after
    // the first step, then only when resident memory grew (a replayed step leaves ~4 MB at 448)
    collections.afterRun();
  }

  @Override
  public void checkCurrent() {
    for (int k = 0; k < numGraphs(); k++) {
      context(k).checkCurrent();
    }
  }

  @Override
  public void markCurrent() {
    for (int k = 0; k < numGraphs(); k++) {
      context(k).markCurrent();
    }
  }

  /**
   * Copies the trainable values into the registry; other graphs built from it before are then out of date (their
   * {@code checkCurrent} refuses to run), this one stays current.
   */
  @Override
  public void syncToRegistry() {
    for (int k = 0; k < numGraphs(); k++) {
      context(k).syncToRegistry();
    }
    params.touch();
    markCurrent();
  }
}
