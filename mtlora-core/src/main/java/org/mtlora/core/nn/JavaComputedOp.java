package org.mtlora.core.nn;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.mtlora.core.graph.JavaOp;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.CustomOpDescriptor;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;

/**
 * What this package's ops computed in Java ({@link JavaOp}: the training norms and their gradients, {@link
 * PixelLogLikelihood} and its gradient) tell SameDiff in place of a native op's descriptor: their name, how many
 * outputs they have, each of the first input's data type; and what they share by default — no properties ({@link
 * NormTrainingOp} has ε), no derivative.
 */
abstract class JavaComputedOp extends DynamicCustomOp implements JavaOp {
  /** For SameDiff's copy of a graph. */
  JavaComputedOp() {}

  JavaComputedOp(String name, SameDiff sd, SDVariable... args) {
    super(name, sd, args);
  }

  /** How many outputs the op has. */
  abstract int outputCount();

  @Override
  public abstract String opName();

  /** None: libnd4j has no such op. */
  @Override
  public final CustomOpDescriptor getDescriptor() {
    return null;
  }

  @Override
  public final int getNumOutputs() {
    return outputCount();
  }

  @Override
  public final List<DataType> calculateOutputDataTypes(List<DataType> inputTypes) {
    return Collections.nCopies(outputCount(), inputTypes.get(0));
  }

  /** None by default (SameDiff's default looks the op's name up among the native ops). */
  @Override
  public Map<String, Object> propertiesForFunction() {
    return Map.of();
  }

  @Override
  public void setPropertiesForFunction(Map<String, Object> properties) {}

  /** Not differentiable by default: the backward ops take no second derivative. */
  @Override
  public List<SDVariable> doDiff(List<SDVariable> grads) {
    throw new UnsupportedOperationException(opName() + " has no derivative: second derivatives are not taken");
  }

  /** Output shapes: those of the context's {@code inputs}, in order, each in the first input's data type. */
  static List<LongShapeDescriptor> shapesOfInputs(OpContext context, int... inputs) {
    DataType type = context.getInputArray(0).dataType();
    return Arrays.stream(inputs).mapToObj(context::getInputArray)
        .map((INDArray a) -> LongShapeDescriptor.fromShape(a.shape(), type)).toList();
  }
}
