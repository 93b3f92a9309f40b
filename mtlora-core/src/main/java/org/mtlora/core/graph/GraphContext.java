package org.mtlora.core.graph;

import com.google.common.base.Preconditions;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.mtlora.core.params.ParameterRegistry;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What a block needs while it adds itself to a graph: the {@link SameDiff} instance, the {@link ParameterRegistry}
 * (trainable parameters become SameDiff variables, frozen ones and buffers constants — the only freezing SameDiff
 * honours), the mode (training or evaluation), the random-mask declarations and the graph's floating-point type.
 */
public final class GraphContext {
  /** Name of the scalar constant that marks an evaluation graph (see {@link #evaluation}). */
  public static final String INFERENCE_ONLY = "mtlora.inference_only";
  /** Appended to a frozen weight's name for its transposed copy ({@link #frozenTransposed}). */
  public static final String TRANSPOSED_SUFFIX = ".transposed";

  private final SameDiff sd;
  private final ParameterRegistry params;
  private final boolean training;
  private final RandomMasks masks;
  private final DataType dataType;
  private final Map<String, SDVariable> created = new HashMap<>();
  private final Map<String, SDVariable> transposed = new HashMap<>();
  private long builtAt;
  private ForwardRunner runner;

  private GraphContext(SameDiff sd, ParameterRegistry params, boolean training, DataType dataType,
      RandomMasks masks) {
    this.sd = Preconditions.checkNotNull(sd, "sd");
    this.params = Preconditions.checkNotNull(params, "params");
    this.training = training;
    this.masks = Preconditions.checkNotNull(masks, "masks");
    Preconditions.checkArgument(dataType.isFPType(), "graph data type must be floating point, found %s", dataType);
    this.dataType = dataType;
    this.builtAt = params.revision();
    VectorKernels.prepare(); // compile the vector kernels while the graph is built, not during its first run
  }

  /** A training-mode context (dropout, drop path and batch statistics active). */
  public static GraphContext training(SameDiff sd, ParameterRegistry params, DataType dataType) {
    return new GraphContext(sd, params, true, dataType, new RandomMasks());
  }

  /**
   * A training-mode context that declares its random masks in {@code masks}, shared with the other graphs of a chain
   * (see {@code SegmentChain}): the masks then follow one declaration order, as in one whole graph.
   */
  public static GraphContext training(SameDiff sd, ParameterRegistry params, DataType dataType, RandomMasks masks) {
    return new GraphContext(sd, params, true, dataType, masks);
  }

  /**
   * An evaluation-mode context (stochastic layers are the identity, batch norm uses running statistics). The graph is
   * marked as never differentiated ({@link #INFERENCE_ONLY}), so that it holds only SameDiff's stock ops and a
   * program with nothing but ND4J on its class path can load it once saved.
   */
  public static GraphContext evaluation(SameDiff sd, ParameterRegistry params, DataType dataType) {
    if (!sd.hasVariable(INFERENCE_ONLY)) {
      sd.constant(INFERENCE_ONLY, Nd4j.scalar(dataType, 0));
    }
    return new GraphContext(sd, params, false, dataType, new RandomMasks());
  }

  /** Whether {@code sd} was marked by {@link #evaluation} as a graph that is never differentiated. */
  public static boolean isInferenceOnly(SameDiff sd) {
    return sd.hasVariable(INFERENCE_ONLY);
  }

  public SameDiff sd() {
    return sd;
  }

  public ParameterRegistry params() {
    return params;
  }

  public boolean isTraining() {
    return training;
  }

  public RandomMasks masks() {
    return masks;
  }

  public DataType dataType() {
    return dataType;
  }

  /**
   * The graph node of a registered parameter or buffer, created on first use under its reference name: a variable
   * when it trains, a constant otherwise. The value is cast to the graph's data type.
   */
  public SDVariable param(String name) {
    SDVariable v = created.get(name);
    if (v == null) {
      INDArray value = params.get(name);
      INDArray arr = value.dataType() == dataType ? value.dup('c') : value.castTo(dataType).dup('c');
      v = params.isTrainable(name) ? sd.var(name, arr) : sd.constant(name, arr);
      created.put(name, v);
    }
    return v;
  }

  /**
   * The transpose {@code W^T} of a frozen 2-D parameter {@code W} ({@code [out, in]} in the registry), held as a
   * row-major {@code [in, out]} constant named {@code <name>.transposed} and created on first use, so that a linear
   * layer computes {@code x W^T} as a product without a transpose flag. libnd4j's matrix product runs faster on a
   * row-major right operand than through the flag — up to 1.6x for the narrow, deep products of the last stages
   * (docs/performance.md, "Frozen weights stored transposed"). Where the registry holds {@code W} column-major, as
   * it does the dense layers' pretrained weights it initialises or loads ({@link ParameterRegistry#heldColumnMajor}),
   * the constant is that memory read row-major, not a copy: the graph then sees what is written into the registry's
   * array (any change through the registry makes it refuse to run anyway, {@link #checkCurrent}). Otherwise it is a
   * copy, like the graph's other constants. A trainable weight keeps its layout: its gradient must come back as
   * {@code [out, in]}.
   *
   * @throws IllegalArgumentException if {@code name} trains or is not a matrix
   */
  public SDVariable frozenTransposed(String name) {
    Preconditions.checkArgument(!params.isTrainable(name), "%s trains; only a frozen weight is held transposed", name);
    SDVariable v = transposed.get(name);
    if (v == null) {
      INDArray value = params.get(name);
      Preconditions.checkArgument(value.rank() == 2, "%s must be a matrix [out, in] to be transposed, found shape %s",
          name, Arrays.toString(value.shape()));
      long[] shape = {value.size(1), value.size(0)};
      boolean shared = value.dataType() == dataType && params.isColumnMajor(name);
      // a column-major W (ParameterRegistry#heldColumnMajor) is W^T row-major in the same memory: no copy
      INDArray t = shared ? Nd4j.create(value.data(), shape, new long[] {shape[1], 1}, 0, 'c', dataType)
          : value.transpose().castTo(dataType).dup('c');
      v = sd.constant(name + TRANSPOSED_SUFFIX, t);
      transposed.put(name, v);
    }
    return v;
  }

  /** A constant computed at build time (index tables, masks, interpolation matrices), cast to the graph type. */
  public SDVariable constant(String name, INDArray value) {
    return sd.constant(name, value.castTo(dataType));
  }

  /**
   * An input fed from another graph of a chain: a variable (so that the backward yields its gradient) whose value the
   * chain sets before each run.
   *
   * @param shape the shape, {@code -1} where it depends on the batch
   */
  public SDVariable boundaryInput(String name, long... shape) {
    long[] concrete = shape.clone();
    for (int i = 0; i < concrete.length; i++) {
      concrete[i] = Math.max(concrete[i], 1);
    }
    return sd.var(name, Nd4j.zeros(dataType, concrete));
  }

  /**
   * The runner of this graph's forward pass ({@link ForwardRunner}: its later runs replay the first one's ops), created
   * on first use; evaluation graphs only.
   *
   * @throws IllegalStateException for a training graph
   */
  public synchronized ForwardRunner forwardRunner() {
    Preconditions.checkState(!training, "a training graph runs through its SegmentChain, not a forward runner");
    if (runner == null) {
      runner = new ForwardRunner(sd);
    }
    return runner;
  }

  /**
   * Refuses to run a graph whose registry changed after it was built (weights loaded or assigned, a policy applied):
   * the graph holds copies, so the change would be silently ignored.
   *
   * @throws IllegalStateException naming what to do
   */
  public void checkCurrent() {
    if (params.revision() != builtAt) {
      throw new IllegalStateException("parameters were loaded, assigned or re-frozen after this graph was built; the "
          + "graph holds copies and would ignore the change: build the graph again (load weights first, then build)");
    }
  }

  /** Declares the graph in step with its registry again (after values were copied into both, e.g. on resume). */
  public void markCurrent() {
    builtAt = params.revision();
  }

  /** Copies the current values of the graph's trainable variables back into the registry (as float32). */
  public void syncToRegistry() {
    for (Map.Entry<String, SDVariable> e : created.entrySet()) {
      if (params.isTrainable(e.getKey())) {
        INDArray current = sd.getArrForVarName(e.getKey());
        INDArray target = params.get(e.getKey());
        target.assign(current.castTo(target.dataType()));
      }
    }
  }
}
