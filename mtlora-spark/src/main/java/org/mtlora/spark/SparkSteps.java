package org.mtlora.spark;

import com.google.common.base.Preconditions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.GradientSum;
import org.mtlora.core.train.ShardWorker;
import org.mtlora.core.train.StepEngine;
import org.mtlora.core.train.TrainableGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver's {@link StepEngine}: one Spark job per step. The current trainable values and buffers go out by
 * broadcast; each of the {@code workers} tasks (one per rank) computes its shard on its executor's cached worker;
 * {@code treeAggregate} sums the shards' float32 gradients and buffers into a {@link GradientSum}, whose average the
 * {@link org.mtlora.core.train.Trainer} clips and applies. The driver builds no graph: its registry holds the values.
 */
final class SparkSteps implements StepEngine {
  private static final Logger LOG = LoggerFactory.getLogger(SparkSteps.class);

  private final JavaSparkContext sc;
  private final WorkerSpec spec;
  private final ParameterRegistry params;
  private final List<String> trainable;
  private final Map<String, INDArray> live = new LinkedHashMap<>();
  private final Map<String, long[]> shapes = new LinkedHashMap<>();
  private final List<Integer> ranks;
  private GradientSum last;
  private long broadcastBytes;
  private long steps;

  SparkSteps(JavaSparkContext sc, WorkerSpec spec, ParameterRegistry params) {
    this.sc = sc;
    this.spec = spec;
    this.params = params;
    this.trainable = List.copyOf(params.trainableNames());
    for (String name : trainable) {
      live.put(name, params.get(name));
      shapes.put(name, params.get(name).shape());
    }
    this.ranks = IntStream.range(0, spec.workers()).boxed().toList();
  }

  @Override
  public ParameterRegistry params() {
    return params;
  }

  @Override
  public Map<String, INDArray> trainableArrays() {
    return live;
  }

  @Override
  public TrainableGraph.Pass forwardBackward(long step, long seed) {
    long t0 = System.nanoTime();
    StepInput in = new StepInput(step, seed, ShardWorker.flatten(live, trainable), ShardWorker.bufferValues(params));
    Broadcast<StepInput> current = sc.broadcast(in);
    long t1 = System.nanoTime();
    try {
      sc.setJobDescription("mtlora step " + step);
      GradientSum sum = sc.parallelize(ranks, ranks.size())
          .treeAggregate(new GradientSum(), new ComputeShard(spec, current), new Merge());
      Preconditions.checkState(sum.ranks().equals(ranks), "step %s: Spark returned the shards of ranks %s, expected "
          + "%s", step, sum.ranks(), ranks);
      long t2 = System.nanoTime();
      last = sum;
      broadcastBytes += in.payloadBytes();
      steps++;
      TrainableGraph.Pass pass = sum.average(shapes, ranks.size());
      LOG.debug("step {}: values out {} s, job {} s, average {} s", step, (t1 - t0) / 1e9, (t2 - t1) / 1e9,
          (System.nanoTime() - t2) / 1e9);
      return pass;
    } finally {
      current.destroy();
    }
  }

  @Override
  public void afterForward() {
    Preconditions.checkState(last != null, "afterForward() before forwardBackward()");
    ShardWorker.loadBuffers(params, last.averageBuffers(ranks.size()));
  }

  @Override
  public void releaseMemory() {
    last = null;
  }

  @Override
  public void syncToRegistry() {
    // the optimiser updates the registry's own arrays
  }

  @Override
  public void checkCurrent() {
    // no graph on the driver; executors rebuild from the specification
  }

  @Override
  public void markCurrent() {
    // as checkCurrent
  }

  /** Bytes broadcast per step (trainable values and buffers), averaged over the steps run. */
  double broadcastBytesPerStep() {
    return steps == 0 ? 0 : (double) broadcastBytes / steps;
  }

  long steps() {
    return steps;
  }

  /** The executor side of a step: one rank's shard. Captures only the specification and the broadcast. */
  private static final class ComputeShard implements Function2<GradientSum, Integer, GradientSum> {
    private static final long serialVersionUID = 1L;
    private final WorkerSpec spec;
    private final Broadcast<StepInput> input;

    ComputeShard(WorkerSpec spec, Broadcast<StepInput> input) {
      this.spec = spec;
      this.input = input;
    }

    @Override
    public GradientSum call(GradientSum sum, Integer rank) throws Exception {
      return sum.add(ExecutorWorkers.compute(spec, input.value(), rank));
    }
  }

  private static final class Merge implements Function2<GradientSum, GradientSum, GradientSum> {
    private static final long serialVersionUID = 1L;

    @Override
    public GradientSum call(GradientSum a, GradientSum b) {
      return a.merge(b);
    }
  }
}
