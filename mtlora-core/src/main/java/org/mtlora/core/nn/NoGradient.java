package org.mtlora.core.nn;

import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ops.CustomOpDescriptor;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.util.HashUtil;

/**
 * {@code y = c · x} for a constant {@code c}, with no gradient flowing back through it: for a path whose contribution
 * to {@code x}'s gradient an enclosing op's own backward already includes ({@link GeluProduct}). The forward is
 * SameDiff's native {@code multiply} by a scalar constant; the backward is a scalar zero for both operands, which reads
 * nothing, so the backward ops SameDiff builds along the path behind it are never run.
 *
 * <p>SameDiff 1.0.0-M2.1's {@code stop_gradient} returns {@code zerosLike(x)} instead: a full-size array that a
 * training session computes as soon as {@code x} exists and keeps until the gradients of {@code x} are summed. The
 * scale is part of the op, so that cutting the path adds no op of its own.
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class NoGradient extends MulOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_no_gradient";
  private static final long MULTIPLY_HASH = HashUtil.getLongHash("multiply");

  /** For SameDiff's copy of a graph. */
  public NoGradient() {}

  private NoGradient(SameDiff sd, SDVariable x, SDVariable factor) {
    super(sd, x, factor);
  }

  /** {@code factor · x}, through this op (use it in graphs that may be differentiated only). */
  static SDVariable scaled(SameDiff sd, SDVariable x, double factor) {
    CustomOps.register(NAME, NoGradient.class);
    return new NoGradient(sd, x, sd.constant(Nd4j.scalar(x.dataType(), factor))).outputVariable();
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
    SDVariable zero = sameDiff.constant(Nd4j.scalar(grads.get(0).dataType(), 0));
    return List.of(zero, zero);
  }
}
