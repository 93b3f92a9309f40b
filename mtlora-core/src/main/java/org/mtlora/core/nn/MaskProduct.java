package org.mtlora.core.nn;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.mtlora.core.graph.GraphContext;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ops.CustomOpDescriptor;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.util.HashUtil;

/**
 * The element-wise product {@code y = x ⊙ m} of an array and a mask of the same shape that never needs a gradient — a
 * dropout or drop-path mask fed as a placeholder ({@link Dropout}, {@link DropPath}). The forward is SameDiff's native
 * {@code multiply}; the backward is {@code dx = dy ⊙ m} alone. SameDiff's own {@code multiply_bp} also computes {@code
 * dy ⊙ x}, the mask's gradient, a full-size product that nothing reads.
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class MaskProduct extends MulOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_mask_product";
  private static final long MULTIPLY_HASH = HashUtil.getLongHash("multiply");

  /** For SameDiff's copy of a graph. */
  public MaskProduct() {}

  private MaskProduct(SameDiff sd, SDVariable x, SDVariable mask) {
    super(sd, x, mask);
  }

  /**
   * {@code x ⊙ mask}, equal shapes: this op in a graph that may be differentiated, SameDiff's own multiply in an
   * evaluation graph (stock ops only).
   *
   * @param mask a placeholder, a constant, or computed from them only: its gradient is never formed
   */
  public static SDVariable apply(SameDiff sd, SDVariable x, SDVariable mask) {
    if (GraphContext.isInferenceOnly(sd)) {
      return x.mul(mask);
    }
    CustomOps.register(NAME, MaskProduct.class);
    return new MaskProduct(sd, x, mask).outputVariable();
  }

  @Override
  public String opName() {
    return NAME;
  }

  @Override
  public CustomOpDescriptor getDescriptor() {
    return Nd4j.getExecutioner().getCustomOperations().get("multiply");
  }

  @Override
  public long opHash() {
    return MULTIPLY_HASH;
  }

  /** None (SameDiff's default looks this op's name up among the native ops). */
  @Override
  public Map<String, Object> propertiesForFunction() {
    return Map.of();
  }

  @Override
  public void setPropertiesForFunction(Map<String, Object> properties) {}

  @Override
  public List<SDVariable> doDiff(List<SDVariable> grads) {
    SDVariable dx = sameDiff.math.mul(grads.get(0), arg(1));
    // the mask has no gradient; SameDiff needs some array in its place, a scalar zero stands in
    SDVariable unused = sameDiff.constant(Nd4j.scalar(grads.get(0).dataType(), 0));
    return Arrays.asList(dx, unused);
  }
}
