package org.mtlora.core.train;

import com.google.common.collect.ImmutableMap;
import java.util.Map;
import org.mtlora.core.graph.RandomMasks;
import org.mtlora.core.params.ParameterRegistry;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What the {@link Trainer} runs: a training-mode model that computes its losses and the gradients of its trainable
 * parameters for one batch. {@link SegmentChain} implements it for one whole graph or for a chain of graphs with
 * activation checkpointing; a model (e.g. the multi-task model) builds one.
 */
public interface TrainableGraph {
  /** One forward and backward pass; {@code extras} keeps the order the graph declares them in. */
  record Pass(double totalLoss, ImmutableMap<String, Double> taskLosses, Map<String, INDArray> gradients,
      Map<String, INDArray> extras) {}

  /** The registry the graph was built from (names, freezing, buffers). */
  ParameterRegistry params();

  /** The graph's floating-point type. */
  DataType dataType();

  /** Every random mask the graph declares (dropout, drop path); the trainer samples them per step. */
  RandomMasks masks();

  /**
   * The arrays the graph computes with, one per trainable parameter of {@link #params()}, by name: the optimiser
   * updates them in place.
   */
  Map<String, INDArray> trainableArrays();

  /**
   * Forward, losses and gradients for one batch.
   *
   * @param feed the batch (input and targets) and every mask of {@link #masks()}
   * @return the losses, a gradient per trainable parameter ({@code null} where no path reaches the loss) and the
   *     extra outputs (e.g. batch-norm statistics) for {@link #afterForward}
   */
  Pass forwardBackward(Map<String, INDArray> feed);

  /** Called once per step, after the loss was checked finite and before the update (e.g. running statistics). */
  void afterForward(Map<String, INDArray> extras, int batch);

  /** Frees what the last pass left in the engine's sessions (call between steps). */
  void releaseMemory();

  /** Copies the current trainable values back into {@link #params()}. */
  void syncToRegistry();

  /**
   * Refuses, with {@link IllegalStateException}, a graph whose registry changed since it was built (see {@link
   * org.mtlora.core.graph.GraphContext#checkCurrent}).
   */
  void checkCurrent();

  /** Declares the graph in step with its registry again (after values were copied into both). */
  void markCurrent();
}
