package org.mtlora.core.nn;

import org.mtlora.core.graph.GraphContext;
import java.util.Arrays;
import java.util.List;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.ops.CustomOpDescriptor;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.util.HashUtil;

/**
 * The matrix product {@code y = x W^T} (or {@code x W}) of a linear layer whose weight {@code W} is frozen: the same
 * native {@code matmul} forward, but a backward that computes only the input's gradient, {@code dX = dY W} (or {@code
 * dY W^T}). SameDiff's own {@code matmul_bp} computes the weight's gradient too, a product as large as the forward,
 * which a frozen weight never uses.
 *
 * <p>SameDiff copies a graph before differentiating it, re-creating every op from its name; this class registers its
 * name with SameDiff's op registry ({@link CustomOps}), so the copy keeps the subclass and its backward. The
 * native op it runs is {@code matmul} ({@link #opHash}).
 */
public final class FrozenWeightMatmul extends Mmul {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_frozen_weight_matmul";
  private static final long MATMUL_HASH = HashUtil.getLongHash("matmul");

  /** For SameDiff's copy of a graph. */
  public FrozenWeightMatmul() {}

  private FrozenWeightMatmul(SameDiff sd, SDVariable x, SDVariable weight, boolean transposeWeight) {
    super(sd, x, weight, false, transposeWeight, false);
  }

  /**
   * {@code x W^T} when {@code transposeWeight}, else {@code x W}, for 2-D operands: with this op when {@code W} is a
   * constant (its gradient is never needed) in a graph that may be differentiated, with SameDiff's {@code mmul}
   * otherwise (a trainable weight, or an evaluation graph, which then holds only stock ops).
   *
   * @param x {@code [N, in]}
   */
  public static SDVariable product(SameDiff sd, SDVariable x, SDVariable weight, boolean transposeWeight) {
    if (weight.getVariableType() != VariableType.CONSTANT || GraphContext.isInferenceOnly(sd)) {
      return sd.mmul(x, weight, false, transposeWeight, false);
    }
    CustomOps.register(NAME, FrozenWeightMatmul.class);
    return new FrozenWeightMatmul(sd, x, weight, transposeWeight).outputVariable();
  }

  @Override
  public String opName() {
    return NAME;
  }

  @Override
  public CustomOpDescriptor getDescriptor() {
    return Nd4j.getExecutioner().getCustomOperations().get("matmul");
  }

  @Override
  public int getNumOutputs() {
    return 1;
  }

  @Override
  public long opHash() {
    return MATMUL_HASH;
  }

  @Override
  public List<SDVariable> doDiff(List<SDVariable> grads) {
    SDVariable dy = grads.get(0);
    SDVariable weight = arg(1);
    // y = x W^T -> dX = dY W;  y = x W -> dX = dY W^T
    SDVariable dx = sameDiff.mmul(dy, weight, false, !mt.isTransposeB(), false);
    // SameDiff needs some gradient for every input; the constant weight's is never read, so a scalar zero stands in
    // for the full-size product matmul_bp would compute.
    SDVariable unused = sameDiff.constant(Nd4j.scalar(weight.dataType(), 0));
    return Arrays.asList(dx, unused);
  }
}
