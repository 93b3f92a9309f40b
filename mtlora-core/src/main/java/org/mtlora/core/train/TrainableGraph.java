package org.mtlora.core.train;

import com.google.common.collect.ImmutableMap;
import java.util.List;
import java.util.Map;
import org.mtlora.core.nn.GraphContext;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A training-mode graph the {@link Trainer} can run. Implementations: build the graph with a training {@link
 * GraphContext}, name the total loss and the per-task losses, and say which extra outputs the engine must fetch with
 * each forward (e.g. batch-norm statistics) and what to do with them ({@link #afterForward}).
 */
public interface TrainableGraph {
  /** The context the graph was built with (SameDiff instance, registry, random masks). */
  GraphContext context();

  /** The scalar that is minimised. */
  SDVariable totalLoss();

  /** Per-task losses (for progress and the NaN guard), in task order. */
  ImmutableMap<String, SDVariable> taskLosses();

  /** Extra variables to fetch with each training forward. */
  List<String> extraOutputs();

  /** Called after each successful forward with the fetched values and the batch size (e.g. running statistics). */
  void afterForward(Map<String, INDArray> outputs, int batch);
}
