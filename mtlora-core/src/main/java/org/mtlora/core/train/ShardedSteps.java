package org.mtlora.core.train;

import com.google.common.base.Preconditions;
import java.util.Map;
import org.mtlora.core.params.ParameterRegistry;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Data-parallel semantics on one machine: each step, the shards of {@code workers} workers are computed one after
 * the other on one graph and averaged ({@link GradientSum}), exactly what {@code workers} machines would compute.
 * It is the reference a distributed engine is tested against, and gradient accumulation for a batch that does not
 * fit at once (with the difference that batch norm sees each shard's statistics).
 */
public final class ShardedSteps implements StepEngine {
  private final ShardWorker worker;
  private final int workers;
  private GradientSum last;

  /** {@code workers} shards per step of {@code data}, computed with {@code graph} (float32). */
  public ShardedSteps(TrainableGraph graph, ShardedBatchSource data, int workers) {
    Preconditions.checkArgument(workers >= 1, "workers must be >= 1, found %s", workers);
    this.worker = new ShardWorker(graph, data);
    this.workers = workers;
  }

  @Override
  public ParameterRegistry params() {
    return worker.params();
  }

  @Override
  public Map<String, INDArray> trainableArrays() {
    return worker.graph().trainableArrays();
  }

  @Override
  public TrainableGraph.Pass forwardBackward(long step, long seed) {
    double[] buffers = worker.bufferValues(); // every shard starts from the same running statistics
    GradientSum sum = new GradientSum();
    for (int rank = 0; rank < workers; rank++) {
      worker.load(null, buffers);
      sum.add(worker.compute(step, seed, rank, workers));
    }
    worker.load(null, buffers); // the run keeps them only once the step is accepted (afterForward)
    last = sum;
    return sum.average(worker.trainableShapes(), workers);
  }

  @Override
  public void afterForward() {
    Preconditions.checkState(last != null, "afterForward() before forwardBackward()");
    worker.load(null, last.averageBuffers(workers));
  }

  @Override
  public void releaseMemory() {
    last = null;
  }

  @Override
  public void syncToRegistry() {
    worker.graph().syncToRegistry();
  }

  @Override
  public void checkCurrent() {
    worker.graph().checkCurrent();
  }

  @Override
  public void markCurrent() {
    worker.graph().markCurrent();
  }
}
