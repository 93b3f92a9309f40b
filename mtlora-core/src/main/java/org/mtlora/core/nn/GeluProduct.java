package org.mtlora.core.nn;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ops.CustomOpDescriptor;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.util.HashUtil;

/**
 * The product {@code p = x ⊙ e} at the heart of {@link Gelu} in a training graph, {@code e = erfc(−x/√2)} computed
 * behind a {@link NoGradient}, with the whole derivative of {@code x ⊙ erfc(−x/√2)} as its backward:
 *
 * <pre>
 *   dx = dp ⊙ (e + √(2/π) · x ⊙ exp(−x²/2))        de: none (a scalar zero; e's own path is cut by NoGradient)
 * </pre>
 *
 * The bracket reads only forward values, so a session computes it as soon as {@code x} and {@code e} exist and then
 * releases both: a GELU keeps one array of its 4C-wide hidden layer for the backward, where SameDiff's own backward of
 * {@code x ⊙ erfc(z)} keeps three — {@code x} and {@code e} for {@code multiply_bp} and {@code exp(−z²)} of {@code
 * erfc}'s backward, which is likewise computed early and held (docs/performance.md, "Arrays kept for their shape").
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class GeluProduct extends MulOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_gelu_product";
  private static final long MULTIPLY_HASH = HashUtil.getLongHash("multiply");
  private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);

  /** For SameDiff's copy of a graph. */
  public GeluProduct() {}

  private GeluProduct(SameDiff sd, SDVariable x, SDVariable erfc) {
    super(sd, x, erfc);
  }

  /** {@code x ⊙ erfc}, {@code erfc = erfc(−x/√2)} of the same {@code x} behind a {@link NoGradient}. */
  static SDVariable of(SameDiff sd, SDVariable x, SDVariable erfc) {
    CustomOps.register(NAME, GeluProduct.class);
    return new GeluProduct(sd, x, erfc).outputVariable();
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
    SDVariable dp = grads.get(0);
    SDVariable x = arg(0);
    SDVariable e = arg(1);
    SDVariable gaussian = sameDiff.math.exp(x.mul(x).mul(-0.5)); // exp(−x²/2)
    SDVariable derivative = e.add(x.mul(gaussian).mul(SQRT_2_OVER_PI));
    SDVariable unused = sameDiff.constant(Nd4j.scalar(dp.dataType(), 0));
    return Arrays.asList(dp.mul(derivative), unused);
  }
}
