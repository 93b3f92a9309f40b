package org.mtlora.core.nn;

import java.util.Collections;
import java.util.List;
import org.mtlora.core.graph.JavaOp;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.CustomOpDescriptor;
import org.nd4j.linalg.api.ops.DynamicCustomOp;

/**
 * What this package's ops computed in Java ({@link JavaOp}: {@link BatchNormTraining}, {@link
 * BatchNormTrainingGradient}) tell SameDiff in place of a native op's descriptor: their name, how many outputs they
 * have, each of the first input's data type.
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
}
