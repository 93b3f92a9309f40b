package org.mtlora.core.train;

import java.util.Map;
import org.mtlora.core.params.ParameterRegistry;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Where a training step's losses and gradients come from; the {@link Trainer} does the rest (NaN guard, clipping,
 * AdamW, listeners, checkpoints, resume) the same way whatever the engine. Two kinds exist: one graph on this machine
 * ({@link #local}) and data-parallel shards ({@link ShardedSteps} in process, {@code mtlora-spark} on a cluster).
 */
public interface StepEngine {
  /** The registry the run trains: names, freezing, buffers, and what checkpoints hold. */
  ParameterRegistry params();

  /** The arrays the optimiser updates in place, one per trainable parameter of {@link #params()}, by name. */
  Map<String, INDArray> trainableArrays();

  /**
   * Forward and backward of step {@code step} with the current trainable values: its batch, its random masks drawn
   * from {@code (seed, step)}, the losses and a gradient per trainable parameter ({@code null} where no path reaches
   * the loss). Changes nothing the run keeps.
   */
  TrainableGraph.Pass forwardBackward(long step, long seed);

  /** Applies what the last {@link #forwardBackward} leaves beside the gradients (batch-norm running statistics). */
  void afterForward();

  /** Frees what the last pass left in the engine (call between steps). */
  void releaseMemory();

  /** Copies the current trainable values into {@link #params()}. */
  void syncToRegistry();

  /** Refuses, with {@link IllegalStateException}, an engine whose registry changed since its graphs were built. */
  void checkCurrent();

  /** Declares the engine in step with its registry again (after values were copied into both). */
  void markCurrent();

  /** One graph on this machine: batch {@code k} of {@code data} and the masks of {@code (seed, k)} at step k. */
  static StepEngine local(TrainableGraph graph, BatchSource data) {
    return new LocalSteps(graph, data);
  }
}
