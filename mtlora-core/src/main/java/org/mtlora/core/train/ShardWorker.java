package org.mtlora.core.train;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mtlora.core.graph.RandomMasks;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One data-parallel worker: a training graph and the shards it reads. {@link #compute} runs worker {@code rank}'s
 * part of a step — its shard of the batch, masks from {@code (seed, step, rank)} ({@link RandomMasks#shardSeed}), forward,
 * backward and its own running-statistics update — and returns a {@link ShardResult}. Between steps the worker
 * receives the current trainable values and buffers ({@link #load}); nothing else carries over, so computing a shard
 * twice (a retried task) gives the same result.
 *
 * <p>Not thread-safe: one worker per thread.
 */
public final class ShardWorker {
  private static final Logger LOG = LoggerFactory.getLogger(ShardWorker.class);

  private final TrainableGraph graph;
  private final ShardedBatchSource data;
  private final ImmutableList<String> trainable;
  private final Map<String, long[]> shapes = new LinkedHashMap<>();
  private final int gradientSize;
  /** The last shard's masks, whose buffers the next shard's masks are drawn into. */
  private Map<String, INDArray> masks = Map.of();

  /** A worker computing with {@code graph} (float32) on {@code data}. */
  public ShardWorker(TrainableGraph graph, ShardedBatchSource data) {
    this.graph = Preconditions.checkNotNull(graph, "graph");
    this.data = Preconditions.checkNotNull(data, "data");
    Preconditions.checkArgument(graph.dataType() == DataType.FLOAT, "data-parallel training exchanges float32 "
        + "gradients; the graph computes in %s", graph.dataType());
    ParameterRegistry params = graph.params();
    this.trainable = ImmutableList.copyOf(params.trainableNames());
    Map<String, INDArray> live = graph.trainableArrays();
    long size = 0;
    for (String name : trainable) {
      INDArray a = Preconditions.checkNotNull(live.get(name), "trainable parameter %s is not in the graph", name);
      shapes.put(name, a.shape());
      size += a.length();
    }
    this.gradientSize = Math.toIntExact(size);
  }

  /** The trainable parameters' names and shapes, in registry order (the layout of {@link ShardResult#gradient}). */
  public Map<String, long[]> trainableShapes() {
    return java.util.Collections.unmodifiableMap(shapes);
  }

  /** Number of floats in a gradient (and in the trainable values). */
  public int gradientSize() {
    return gradientSize;
  }

  /** The registry the worker's graph was built from. */
  public ParameterRegistry params() {
    return graph.params();
  }

  /** The graph's current trainable values, flattened in registry order. */
  public float[] trainableValues() {
    return flatten(graph.trainableArrays(), trainable);
  }

  /** The registry's buffers (running statistics, counters), flattened in registry order. */
  public double[] bufferValues() {
    return bufferValues(graph.params());
  }

  /** {@code arrays[names[0]], arrays[names[1]], ...} one after another as float32, each in C order. */
  public static float[] flatten(Map<String, INDArray> arrays, List<String> names) {
    long size = 0;
    for (String name : names) {
      size += arrays.get(name).length();
    }
    float[] out = new float[Math.toIntExact(size)];
    int offset = 0;
    for (String name : names) {
      INDArray a = arrays.get(name);
      if (isPlainFloat(a)) { // one copy, straight from native memory
        a.data().asNioFloat().get(0, out, offset, Math.toIntExact(a.length()));
      } else {
        float[] v = Nd4j.toFlattened('c', a).castTo(DataType.FLOAT).toFloatVector();
        System.arraycopy(v, 0, out, offset, v.length);
      }
      offset += Math.toIntExact(a.length());
    }
    return out;
  }

  /**
   * A float32 array in host memory (CPU backend) that owns its whole buffer in C order: its values are the buffer's,
   * one after another.
   */
  private static boolean isPlainFloat(INDArray a) {
    return Nd4j.getEnvironment().isCPU() && a.dataType() == DataType.FLOAT && !a.isView() && a.ordering() == 'c' && a.offset() == 0
        && a.data().length() == a.length();
  }

  /** Every buffer of {@code params} (running statistics, counters) one after another, in registry order. */
  public static double[] bufferValues(ParameterRegistry params) {
    List<String> names = params.names(ParamSpec::isBuffer);
    int n = 0;
    for (String name : names) {
      n += Math.toIntExact(params.get(name).length());
    }
    double[] out = new double[n];
    int offset = 0;
    for (String name : names) {
      INDArray a = params.get(name);
      double[] v = a.length() == 1 ? new double[] {a.getDouble(0)}
          : Nd4j.toFlattened('c', a).castTo(DataType.DOUBLE).toDoubleVector();
      System.arraycopy(v, 0, out, offset, v.length);
      offset += v.length;
    }
    return out;
  }

  /** Sets every buffer of {@code params} in place from {@link #bufferValues(ParameterRegistry)}'s layout. */
  public static void loadBuffers(ParameterRegistry params, double[] values) {
    int offset = 0;
    for (String name : params.names(ParamSpec::isBuffer)) {
      INDArray a = params.get(name);
      int n = Math.toIntExact(a.length());
      Preconditions.checkArgument(offset + n <= values.length, "%s buffer values, fewer than the model's",
          values.length);
      if (n == 1) {
        a.assign(values[offset]);
      } else {
        double[] v = java.util.Arrays.copyOfRange(values, offset, offset + n);
        a.assign(Nd4j.createFromArray(v).reshape(a.shape()).castTo(a.dataType()));
      }
      offset += n;
    }
    Preconditions.checkArgument(offset == values.length, "%s buffer values for the model's %s", values.length,
        offset);
  }

  /**
   * Sets the graph's trainable values and the registry's buffers in place (either may be null: unchanged). The graph
   * stays current: these are values it computes with, not a change of the model.
   */
  public void load(float[] trainableValues, double[] bufferValues) {
    if (trainableValues != null) {
      Preconditions.checkArgument(trainableValues.length == gradientSize, "%s trainable values for %s parameters' %s "
          + "values", trainableValues.length, trainable.size(), gradientSize);
      int offset = 0;
      for (String name : trainable) {
        INDArray a = graph.trainableArrays().get(name);
        int n = Math.toIntExact(a.length());
        if (isPlainFloat(a)) { // one copy, straight into native memory
          a.data().asNioFloat().put(0, trainableValues, offset, n);
        } else {
          float[] v = java.util.Arrays.copyOfRange(trainableValues, offset, offset + n);
          a.assign(Nd4j.createFromArray(v).reshape(a.shape()).castTo(a.dataType()));
        }
        offset += n;
      }
    }
    if (bufferValues != null) {
      loadBuffers(graph.params(), bufferValues);
    }
  }

  /**
   * Worker {@code rank}'s part of step {@code step}: forward and backward on its shard with the current values, then
   * (if its loss is finite) its running-statistics update of this worker's buffers. Frees the step's memory before
   * returning.
   */
  public ShardResult compute(long step, long seed, int rank, int workers) {
    Preconditions.checkArgument(workers >= 1 && rank >= 0 && rank < workers, "rank %s of %s workers", rank, workers);
    long t0 = System.nanoTime();
    Map<String, INDArray> feed = new HashMap<>(data.shard(step, rank, workers));
    Preconditions.checkArgument(!feed.isEmpty(), "shard %s of step %s is empty", rank, step);
    int batch = (int) feed.values().iterator().next().size(0);
    masks = graph.masks().sample(batch, RandomMasks.shardSeed(seed, rank), step, graph.dataType(), masks);
    feed.putAll(masks);
    long t1 = System.nanoTime();
    TrainableGraph.Pass pass = graph.forwardBackward(feed);
    long t2 = System.nanoTime();
    if (Double.isFinite(pass.totalLoss())) {
      graph.afterForward(pass.extras(), batch);
    }
    float[] gradient = new float[gradientSize];
    int offset = 0;
    for (String name : trainable) {
      INDArray g = pass.gradients().get(name);
      int n = Math.toIntExact(shapes.get(name).length == 0 ? 1
          : java.util.Arrays.stream(shapes.get(name)).reduce(1, (a, b) -> a * b));
      if (g != null) {
        float[] v = Nd4j.toFlattened('c', g).castTo(DataType.FLOAT).toFloatVector();
        System.arraycopy(v, 0, gradient, offset, n);
      }
      offset += n;
    }
    ShardResult result = new ShardResult(rank, batch, pass.totalLoss(), new LinkedHashMap<>(pass.taskLosses()),
        gradient, bufferValues());
    long t3 = System.nanoTime();
    graph.releaseMemory();
    LOG.debug("shard {} of step {}: data and masks {} s, forward and backward {} s, gradients out {} s, release {} s",
        rank, step, (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9, (System.nanoTime() - t3) / 1e9);
    return result;
  }

  /** The graph this worker computes with. */
  TrainableGraph graph() {
    return graph;
  }

  List<String> trainableNames() {
    return trainable;
  }
}
