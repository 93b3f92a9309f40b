package org.mtlora.core.train;

import com.google.common.base.Preconditions;
import java.util.HashMap;
import java.util.Map;
import org.mtlora.core.params.ParameterRegistry;
import org.nd4j.linalg.api.ndarray.INDArray;

/** {@link StepEngine#local}: one graph, the whole batch of each step. */
final class LocalSteps implements StepEngine {
  private final TrainableGraph graph;
  private final BatchSource data;
  /** The last step's masks, whose buffers the next step's masks are drawn into. */
  private Map<String, INDArray> masks = Map.of();
  private Map<String, INDArray> lastExtras;
  private int lastBatch;

  LocalSteps(TrainableGraph graph, BatchSource data) {
    this.graph = Preconditions.checkNotNull(graph, "graph");
    this.data = Preconditions.checkNotNull(data, "data");
  }

  @Override
  public ParameterRegistry params() {
    return graph.params();
  }

  @Override
  public Map<String, INDArray> trainableArrays() {
    return graph.trainableArrays();
  }

  @Override
  public TrainableGraph.Pass forwardBackward(long step, long seed) {
    Map<String, INDArray> feed = new HashMap<>(data.batch(step));
    Preconditions.checkArgument(!feed.isEmpty(), "the batch of step %s is empty", step);
    int batch = (int) feed.values().iterator().next().size(0);
    masks = graph.masks().sample(batch, seed, step, graph.dataType(), masks);
    feed.putAll(masks);
    TrainableGraph.Pass pass = graph.forwardBackward(feed);
    lastExtras = pass.extras();
    lastBatch = batch;
    return pass;
  }

  @Override
  public void afterForward() {
    Preconditions.checkState(lastExtras != null, "afterForward() before forwardBackward()");
    graph.afterForward(lastExtras, lastBatch);
  }

  @Override
  public void releaseMemory() {
    lastExtras = null;
    graph.releaseMemory();
  }

  @Override
  public void syncToRegistry() {
    graph.syncToRegistry();
  }

  @Override
  public void checkCurrent() {
    graph.checkCurrent();
  }

  @Override
  public void markCurrent() {
    graph.markCurrent();
  }
}
