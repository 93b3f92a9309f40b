package org.mtlora.core.graph;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.Listener;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.config.ExecutionResult;
import org.nd4j.autodiff.samediff.config.SDValue;
import org.nd4j.autodiff.samediff.internal.AbstractSession;
import org.nd4j.autodiff.samediff.internal.FrameIter;
import org.nd4j.autodiff.samediff.internal.InferenceSession;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.CustomOp;
import org.nd4j.linalg.api.ops.Op;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.reduce.MmulBp;
import org.nd4j.linalg.api.ops.impl.reduce.floating.Mean;
import org.nd4j.linalg.api.ops.impl.reduce.same.Sum;
import org.nd4j.linalg.api.ops.impl.shape.Gather;
import org.nd4j.linalg.api.ops.impl.shape.Permute;
import org.nd4j.linalg.api.ops.impl.transforms.custom.LogSoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.gradient.LogSoftMaxDerivative;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erfc;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * SameDiff's session with a few ops computed on the JVM where libnd4j 1.0.0-M2.1 is slow, every other op exactly as in
 * {@link InferenceSession}:
 *
 * <ul>
 *   <li>float {@code erfc} (the exact GELU's, {@code Gelu}) and {@code exp} (the GELU derivative's in training graphs)
 *       on {@link VectorKernels} — libnd4j computes both one element at a time;
 *   <li>{@code matmul} and {@code matmul_bp} of rank 3 or more on small matrices (the window attention's products and
 *       their gradients) on {@link BatchedMatmul} — libnd4j loops over the batch on one core;
 *   <li>{@code permute} keeping the last axis as runs of contiguous floats on {@link PermuteKernel} — libnd4j copies
 *       it element by element;
 *   <li>{@code gather} along one axis whose output runs are contiguous (the blocks' row reorderings of {@code [B, L,
 *       C]} tokens) on {@link RowGather} — libnd4j's is several times slower per float for a batch of more than one;
 *   <li>float {@code reduce_mean} over the last axis (the layer norms of evaluation graphs) on {@link RowMeans} —
 *       libnd4j's is well below the memory's speed on such rows;
 *   <li>float {@code reduce_sum} over a matrix's rows (the gradients of per-channel factors in training graphs) on
 *       {@link SumOverRows} — libnd4j takes eight passes' time for one;
 *   <li>float {@code log_softmax} over the last axis and its {@code log_softmax_bp} (a cross-entropy's rows in a graph
 *       never differentiated; training graphs' losses take {@link PixelLogLikelihoodKernel}) on {@link
 *       RowLogSoftmax} — three to four times libnd4j's speed, and finite where libnd4j's log-softmax gives −∞;
 *   <li>this project's ops that libnd4j has no kernel for ({@link JavaOp}: training batch and layer norms and
 *       their backwards), computed by the op itself;
 *   <li>groups of an evaluation graph's ops computed together, with the bits of their ops ({@link Fusion}): the exact
 *       GELU's four element-wise ops in one pass ({@link GeluFusion}), a layer norm's squares and variance, and its
 *       {@code (x − mean) · (rstd ⊗ γ)}, without their intermediate arrays ({@link LayerNormFusion}; a training
 *       forward graph has the last of these too), when {@link VectorKernels#fusions()}.
 * </ul>
 *
 * Each falls back to libnd4j for any array or argument it does not take (and all of them when {@link
 * VectorKernels#enabled()} is false). A run this session records ({@link #record}) is replayed by its {@link
 * ReplayPlan}, which with the fusions on also computes each training graph's GELU, its derivative and its backward in
 * one pass ({@link TrainingGelu}). The session changes no graph: evaluation graphs hold SameDiff's ops only, so they
 * save, load and run anywhere; training graphs also hold this project's {@link JavaOp}s, which only this session runs.
 * {@link SessionMemory} gives every training and evaluation run of this project such a session.
 */
final class KernelSession extends InferenceSession {
  /** Groups of ops computed together: none when {@link VectorKernels#fusions()} is false. */
  private final List<Fusion> fusions;
  /** The ops of the current run with their output arrays, in order, while {@link #record} asks for them; else null. */
  private List<ReplayPlan.Recorded> recording;

  KernelSession(SameDiff sd) {
    super(sd);
    fusions = VectorKernels.fusions() ? List.of(GeluFusion.of(sd), LayerNormFusion.of(sd)) : List.of();
  }

  @Override
  public ExecutionResult output(
      List<String> variables,
      Map<String, INDArray> placeholders,
      Map<String, SDValue> otherPlaceholders,
      MultiDataSet batch,
      Collection<String> requiredActivations,
      List<Listener> listeners,
      At at) {
    Set<String> requested = new HashSet<>(variables);
    if (requiredActivations != null) {
      requested.addAll(requiredActivations);
    }
    startRun(requested);
    return super.output(variables, placeholders, otherPlaceholders, batch, requiredActivations, listeners, at);
  }

  /** Starts a run that returns or hands to listeners {@code requested}. */
  void startRun(Set<String> requested) {
    fusions.forEach(f -> f.startRun(requested));
  }

  /** What a recorded run returned, and the plan that replays it (null where replaying would not be exact). */
  record Recording(Map<String, INDArray> outputs, ReplayPlan plan) {}

  /** Runs {@code outputs} from {@code placeholders} as {@code sd.output} would, recording its ops. */
  Recording record(List<String> outputs, Map<String, INDArray> placeholders) {
    recording = new ArrayList<>();
    try {
      ExecutionResult result = output(outputs, placeholders, Map.of(), null, List.of(), List.of(), At.defaultAt());
      Map<String, INDArray> out = new LinkedHashMap<>();
      if (result.getOutputs() != null) {
        out.putAll(ExecutionResult.unpack(result.getOutputs()));
      } else {
        result.getValueOutputs().forEach((name, value) -> out.put(name, value.getTensorValue()));
      }
      return new Recording(out, ReplayPlan.of(sameDiff, recording, outputs, placeholders, !fusions.isEmpty()));
    } finally {
      recording = null;
    }
  }

  /**
   * Executes an op of the outer frame that {@link ReplayPlan#runsFromContext}, its context holding its inputs,
   * arguments and allocated outputs: a fused group or a JVM kernel where one takes it, else libnd4j, as SameDiff's
   * session would. Both a session's runs and replayed runs ({@link ReplayPlan#run}) come here.
   */
  void execute(DifferentialFunction op, OpContext context) {
    if (op instanceof JavaOp javaOp) {
      javaOp.compute(context);
      return;
    }
    if (VectorKernels.enabled() && (fused(op, context) || onJvm(op, context))) {
      return;
    }
    if (op instanceof CustomOp custom) {
      Nd4j.exec(custom, context);
    } else {
      Nd4j.exec((Op) op, context);
    }
  }

  @Override
  public ExecutionResult doExec(
      DifferentialFunction op,
      OpContext opContext,
      FrameIter outputFrameIter,
      Set<AbstractSession.VarId> opInputs,
      Set<AbstractSession.VarId> allIterInputs,
      Set<String> constAndPhInputs,
      Map<String, SDValue> otherPlaceHolders) {
    if (recording != null) {
      recording.add(new ReplayPlan.Recorded(op, opContext == null ? null
          : opContext.getOutputArrays().toArray(new INDArray[0])));
    }
    if (opContext != null && outputFrameIter != null && OUTER_FRAME.equals(outputFrameIter.getFrame())
        && ReplayPlan.runsFromContext(op)) {
      execute(op, opContext);
      return ExecutionResult.createFrom(op, opContext);
    }
    if (opContext != null && op instanceof JavaOp javaOp) {
      javaOp.compute(opContext);
      return ExecutionResult.createFrom(op, opContext);
    }
    if (opContext != null && VectorKernels.enabled() && onJvm(op, opContext)) {
      return ExecutionResult.createFrom(op, opContext);
    }
    return super.doExec(
        op, opContext, outputFrameIter, opInputs, allIterInputs, constAndPhInputs, otherPlaceHolders);
  }

  /** Whether one of the fusions computed or skipped {@code op} (of the outer frame). */
  private boolean fused(DifferentialFunction op, OpContext context) {
    for (Fusion f : fusions) {
      if (f.exec(op, context)) {
        return true;
      }
    }
    return false;
  }

  /** How many groups of ops the fusions computed together in the last run. */
  int fusedInLastRun() {
    return fusions.stream().mapToInt(Fusion::fusedInLastRun).sum();
  }

  /** Computes {@code op} on a JVM kernel and returns true, or returns false having written nothing. */
  private static boolean onJvm(DifferentialFunction op, OpContext context) {
    int inputs = context.numInputArguments();
    int outputs = context.numOutputArguments();
    if (op instanceof MmulBp) {
      return inputs == 3 && outputs == 2 && matmulBackward(context);
    }
    if (outputs != 1) {
      return false;
    }
    INDArray out = context.getOutputArray(0);
    if (op instanceof LogSoftMax) {
      return inputs == 1 && RowLogSoftmax.tryForward(context.getInputArray(0), context.getIArguments(), out);
    }
    if (op instanceof LogSoftMaxDerivative) {
      return inputs == 2 && RowLogSoftmax.tryBackward(
          context.getInputArray(0), context.getInputArray(1), context.getIArguments(), out);
    }
    if (op instanceof Erfc || op instanceof Exp) {
      VectorKernels.Function f = op instanceof Erfc ? VectorKernels.Function.ERFC : VectorKernels.Function.EXP;
      return inputs == 1 && VectorKernels.tryApply(f, context.getInputArray(0), out);
    }
    if (op instanceof Mmul) {
      return inputs == 2 && matmul(context, context.getInputArray(0), context.getInputArray(1), out);
    }
    if (op instanceof Mean) {
      int[] axes = op.getDimensions();
      return inputs == 1 && axes != null && axes.length == 1
          && RowMeans.tryApply(context.getInputArray(0), axes[0], out);
    }
    if (op instanceof Sum) {
      return inputs == 1 && SumOverRows.trySum(context.getInputArray(0), op.getDimensions(), out);
    }
    if (op instanceof Gather) { // the stock op and RowPermutation
      return inputs == 2 && RowGather.tryGather(context.getInputArray(0), context.getInputArray(1),
          context.getIArguments(), out);
    }
    if (op instanceof Permute) {
      List<Long> axes = context.getIArguments();
      return inputs == 1 && !axes.isEmpty()
          && PermuteKernel.permute(context.getInputArray(0), axes.stream().mapToLong(Long::longValue).toArray(), out);
    }
    return false;
  }

  /**
   * {@code matmul}'s and {@code matmul_bp}'s integer arguments are the transpose flags of x, y and z; {@code matmul}'s
   * float ones alpha and beta. Returns {@code {transposeA, transposeB}}, or null for what the kernel does not compute
   * (a transposed result, alpha ≠ 1, beta ≠ 0).
   */
  static boolean[] transposes(OpContext context) {
    List<Long> flags = context.getIArguments();
    List<Double> scalars = context.getTArguments();
    if ((flags.size() > 2 && flags.get(2) != 0)
        || (scalars.size() > 0 && scalars.get(0) != 1.0)
        || (scalars.size() > 1 && scalars.get(1) != 0.0)) {
      return null;
    }
    return new boolean[] {flags.size() > 0 && flags.get(0) != 0, flags.size() > 1 && flags.get(1) != 0};
  }

  /** {@code C = op(A)·op(B)}. */
  private static boolean matmul(OpContext context, INDArray a, INDArray b, INDArray c) {
    boolean[] t = transposes(context);
    if (t == null || !BatchedMatmul.accepts(a, b, c, t[0], t[1])) {
      return false;
    }
    BatchedMatmul.multiply(a, b, c, t[0], t[1]);
    return true;
  }

  /**
   * {@code matmul_bp}: inputs A, B and dC, outputs dA and dB, for {@code C = op(A)·op(B)}. With {@code d op(A) = dC ·
   * op(B)ᵀ} and {@code d op(B) = op(A)ᵀ · dC}: {@code dA = dC · op(B)ᵀ}, or {@code op(B) · dCᵀ} when A is transposed;
   * {@code dB = op(A)ᵀ · dC}, or {@code dCᵀ · op(A)} when B is transposed — each one product with transpose flags.
   */
  private static boolean matmulBackward(OpContext context) {
    boolean[] t = transposes(context);
    if (t == null) {
      return false;
    }
    boolean ta = t[0];
    boolean tb = t[1];
    INDArray a = context.getInputArray(0);
    INDArray b = context.getInputArray(1);
    INDArray dc = context.getInputArray(2);
    INDArray da = context.getOutputArray(0);
    INDArray db = context.getOutputArray(1);
    INDArray daLeft = ta ? b : dc;
    INDArray daRight = ta ? dc : b;
    boolean daTa = ta && tb;
    boolean daTb = ta || !tb;
    INDArray dbLeft = tb ? dc : a;
    INDArray dbRight = tb ? a : dc;
    boolean dbTa = tb || !ta;
    boolean dbTb = tb && ta;
    if (!BatchedMatmul.accepts(daLeft, daRight, da, daTa, daTb)
        || !BatchedMatmul.accepts(dbLeft, dbRight, db, dbTa, dbTb)) {
      return false;
    }
    BatchedMatmul.multiply(daLeft, daRight, da, daTa, daTb);
    BatchedMatmul.multiply(dbLeft, dbRight, db, dbTa, dbTb);
    return true;
  }
}
