package org.mtlora.core.train;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableMap;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The sum of the {@link ShardResult}s of one step, and their average: the one place that decides what a data-parallel
 * step means, used by the in-process engine ({@link ShardedSteps}) and by distributed aggregation alike.
 *
 * <ul>
 *   <li>Gradient: the mean of the shards' gradients, summed in float32 and divided by the number of workers (each
 *       shard's loss is its own batch mean, as in PyTorch's DistributedDataParallel). Two shards add exactly the
 *       same in either order; with more, the float32 sum depends on the order in which partial sums meet.
 *   <li>Losses: the mean over shards, per task and in total, added in rank order.
 *   <li>Buffers: the mean of the shards' buffers, each updated from the same values with its own batch statistics
 *       (running statistics averaged across workers; batch norm normalises with per-worker batch statistics).
 * </ul>
 *
 * <p>Mutable: {@link #add} and {@link #merge} fold into this object (the shape of Spark's {@code treeAggregate}).
 */
public final class GradientSum implements Serializable {
  private static final long serialVersionUID = 1L;

  private float[] gradient;
  private double[] buffers;
  private final TreeMap<Integer, ShardResult.Summary> shards = new TreeMap<>();

  /** Adds one shard; each rank at most once. */
  public GradientSum add(ShardResult r) {
    Preconditions.checkNotNull(r, "shard");
    Preconditions.checkArgument(!shards.containsKey(r.rank()), "shard of rank %s added twice", r.rank());
    shards.put(r.rank(), r.summary());
    gradient = plus(gradient, r.gradient());
    buffers = plus(buffers, r.buffers());
    return this;
  }

  /** Adds the shards summed in {@code other} (which must hold other ranks). */
  public GradientSum merge(GradientSum other) {
    for (Integer rank : other.shards.keySet()) {
      Preconditions.checkArgument(!shards.containsKey(rank), "shard of rank %s added twice", rank);
    }
    shards.putAll(other.shards);
    gradient = plus(gradient, other.gradient);
    buffers = plus(buffers, other.buffers);
    return this;
  }

  /** The ranks summed so far, ascending. */
  public List<Integer> ranks() {
    return List.copyOf(shards.keySet());
  }

  /** Samples in all shards. */
  public int samples() {
    return shards.values().stream().mapToInt(ShardResult.Summary::batch).sum();
  }

  /**
   * The averaged step: total and per-task losses, and the mean gradient of each trainable parameter in {@code
   * shapes}' order (float32).
   *
   * @throws IllegalStateException unless exactly ranks {@code 0 .. workers-1} were added
   */
  public TrainableGraph.Pass average(Map<String, long[]> shapes, int workers) {
    checkComplete(workers);
    double total = 0;
    Map<String, Double> tasks = new LinkedHashMap<>();
    for (ShardResult.Summary s : shards.values()) {
      total += s.totalLoss();
      s.taskLosses().forEach((t, v) -> tasks.merge(t, v, Double::sum));
    }
    ImmutableMap.Builder<String, Double> taskMeans = ImmutableMap.builder();
    tasks.forEach((t, v) -> taskMeans.put(t, v / workers));
    Map<String, INDArray> grads = new LinkedHashMap<>();
    int offset = 0;
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      int n = Math.toIntExact(Math.max(1, java.util.Arrays.stream(e.getValue()).reduce(1, (a, b) -> a * b)));
      Preconditions.checkState(offset + n <= gradient.length, "the shards' gradient has %s values, fewer than the "
          + "trainable parameters need (at %s)", gradient.length, e.getKey());
      float[] mean = new float[n];
      for (int i = 0; i < n; i++) {
        mean[i] = gradient[offset + i] / workers;
      }
      grads.put(e.getKey(), Nd4j.createFromArray(mean).reshape(e.getValue()));
      offset += n;
    }
    Preconditions.checkState(offset == gradient.length, "the shards' gradient has %s values, the trainable parameters "
        + "%s", gradient.length, offset);
    return new TrainableGraph.Pass(total / workers, taskMeans.buildOrThrow(), grads, Map.of());
  }

  /** The mean of the shards' buffers, in registry order. */
  public double[] averageBuffers(int workers) {
    checkComplete(workers);
    double[] mean = new double[buffers.length];
    for (int i = 0; i < mean.length; i++) {
      mean[i] = buffers[i] / workers;
    }
    return mean;
  }

  private void checkComplete(int workers) {
    Preconditions.checkState(shards.size() == workers && shards.firstKey() == 0 && shards.lastKey() == workers - 1,
        "a step needs the shards of ranks 0..%s, found %s", workers - 1, shards.keySet());
  }

  private static float[] plus(float[] sum, float[] add) {
    if (add == null) {
      return sum;
    }
    if (sum == null) {
      return add.clone();
    }
    Preconditions.checkArgument(sum.length == add.length, "shards disagree on the gradient's size: %s and %s",
        sum.length, add.length);
    for (int i = 0; i < sum.length; i++) {
      sum[i] += add[i];
    }
    return sum;
  }

  private static double[] plus(double[] sum, double[] add) {
    if (add == null) {
      return sum;
    }
    if (sum == null) {
      return add.clone();
    }
    Preconditions.checkArgument(sum.length == add.length, "shards disagree on the buffers' size: %s and %s",
        sum.length, add.length);
    for (int i = 0; i < sum.length; i++) {
      sum[i] += add[i];
    }
    return sum;
  }
}
