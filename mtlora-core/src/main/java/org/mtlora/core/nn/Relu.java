package org.mtlora.core.nn;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.mtlora.core.graph.GraphContext;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.CustomOpDescriptor;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.util.HashUtil;

/**
 * The rectifier {@code y = max(x, 0)} (PyTorch {@code nn.ReLU}): SameDiff's native {@code relu} forward, and the
 * backward {@code dx = dy ⊙ sign(y)} — {@code sign(y)} is 1 where {@code x > 0} and 0 elsewhere, PyTorch's
 * subgradient at 0 included. SameDiff 1.0.0-M2.1 differentiates its {@code relu} with {@code thresholdedrelu_bp},
 * 21.8 ms for a {@code [3136, 1080]} array on this project's machine, against 1.9 ms for the sign and the product
 * (docs/performance.md): the hidden layer of each HRNet head.
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class Relu extends DynamicCustomOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_relu";
  private static final long RELU_HASH = HashUtil.getLongHash("relu");

  /** For SameDiff's copy of a graph. */
  public Relu() {}

  private Relu(SameDiff sd, SDVariable x) {
    super(null, sd, new SDVariable[] {x});
    addTArgument(0.0); // the threshold
  }

  /** {@code max(x, 0)}, any shape: this op where the graph may be differentiated, SameDiff's relu otherwise. */
  public static SDVariable apply(SameDiff sd, SDVariable x) {
    if (GraphContext.isInferenceOnly(sd)) {
      return sd.nn.relu(x, 0);
    }
    CustomOps.register(NAME, Relu.class);
    return new Relu(sd, x).outputVariable();
  }

  @Override
  public String opName() {
    return NAME;
  }

  @Override
  public CustomOpDescriptor getDescriptor() {
    return Nd4j.getExecutioner().getCustomOperations().get("relu");
  }

  @Override
  public long opHash() {
    return RELU_HASH;
  }

  /** None besides the threshold argument (SameDiff's default looks this op's name up among the native ops). */
  @Override
  public Map<String, Object> propertiesForFunction() {
    return Map.of();
  }

  @Override
  public void setPropertiesForFunction(Map<String, Object> properties) {}

  @Override
  public int getNumOutputs() {
    return 1;
  }

  @Override
  public List<DataType> calculateOutputDataTypes(List<DataType> inputTypes) {
    return List.of(inputTypes.get(0));
  }

  @Override
  public List<SDVariable> doDiff(List<SDVariable> grads) {
    SDVariable y = outputVariable();
    return Arrays.asList(grads.get(0).mul(sameDiff.math.sign(y)));
  }
}
