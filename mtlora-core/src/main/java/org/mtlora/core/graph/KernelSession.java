package org.mtlora.core.graph;

import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.config.ExecutionResult;
import org.nd4j.autodiff.samediff.config.SDValue;
import org.nd4j.autodiff.samediff.internal.AbstractSession;
import org.nd4j.autodiff.samediff.internal.FrameIter;
import org.nd4j.autodiff.samediff.internal.InferenceSession;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erfc;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;

/**
 * SameDiff's session with two ops computed on the JVM: a float {@code erfc} (the exact GELU's, {@code Gelu}) and a
 * float {@code exp} (the GELU derivative's in training graphs) run on {@link VectorKernels} when they can, every other
 * op exactly as in {@link InferenceSession}. The graph itself is unchanged (it still holds SameDiff's ops, so it
 * saves, loads and runs anywhere); {@link SessionMemory} gives every training and evaluation run of this project such
 * a session.
 */
final class KernelSession extends InferenceSession {
  KernelSession(SameDiff sd) {
    super(sd);
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
    VectorKernels.Function f = op instanceof Erfc ? VectorKernels.Function.ERFC
        : op instanceof Exp ? VectorKernels.Function.EXP : null;
    if (f != null
        && opContext != null
        && opContext.numInputArguments() == 1
        && opContext.numOutputArguments() == 1
        && VectorKernels.tryApply(f, opContext.getInputArray(0), opContext.getOutputArray(0))) {
      return ExecutionResult.createFrom(op, opContext);
    }
    return super.doExec(
        op, opContext, outputFrameIter, opInputs, allIterInputs, constAndPhInputs, otherPlaceHolders);
  }
}
