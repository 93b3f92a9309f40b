package org.mtlora.core.nn;

import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ops.CustomOpDescriptor;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.util.HashUtil;

/**
 * {@code y = x} with no gradient flowing back through it: for a path whose contribution to {@code x}'s gradient an
 * enclosing op's own backward already includes ({@link GeluProduct}). The forward is SameDiff's native {@code
 * identity}; the backward is a scalar zero constant, which reads nothing, so the backward ops SameDiff builds along
 * the path behind it are never run.
 *
 * <p>SameDiff 1.0.0-M2.1's {@code stop_gradient} returns {@code zerosLike(x)} instead: a full-size array that a
 * training session computes as soon as {@code x} exists and keeps until the gradients of {@code x} are summed.
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class NoGradient extends Identity {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_no_gradient";
  private static final long IDENTITY_HASH = HashUtil.getLongHash("identity");

  /** For SameDiff's copy of a graph. */
  public NoGradient() {}

  private NoGradient(SameDiff sd, SDVariable x) {
    super(sd, x);
  }

  /** {@code x}, through this op (use it in graphs that may be differentiated only). */
  static SDVariable of(SameDiff sd, SDVariable x) {
    CustomOps.register(NAME, NoGradient.class);
    return new NoGradient(sd, x).outputVariable();
  }

  @Override
  public String opName() {
    return NAME;
  }

  @Override
  public CustomOpDescriptor getDescriptor() {
    return Nd4j.getExecutioner().getCustomOperations().get("identity");
  }

  @Override
  public long opHash() {
    return IDENTITY_HASH;
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
    return List.of(sameDiff.constant(Nd4j.scalar(grads.get(0).dataType(), 0)));
  }
}
