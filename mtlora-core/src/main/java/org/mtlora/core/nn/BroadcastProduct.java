package org.mtlora.core.nn;

import com.google.common.base.Preconditions;
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
 * The element-wise product {@code y = x ⊙ f} of an array and a factor broadcast along some of its axes, such as a
 * per-channel scale {@code f [1, C, 1, 1]} of a feature map {@code x [B, C, H, W]}. The forward is SameDiff's native
 * {@code multiply}; the backward is
 *
 * <pre>
 *   dx = dy ⊙ f                  (a broadcasting multiply)
 *   df = Σ_axes (dy ⊙ x)         (an equal-shape multiply, then a sum over the axes where f has size 1)
 * </pre>
 *
 * SameDiff 1.0.0-M2.1's own {@code multiply_bp} computes the same two arrays 30 to 50 times more slowly when one
 * operand is broadcast: 450-1,400 ms in isolation for a per-channel scale of a {@code [12544, 1440]} or {@code [1, 1440,
 * 112, 112]} array, against 3 ms for a broadcasting multiply, 4-13 ms for an equal-shape one and a few ms for the sum;
 * in a Swin-T 448 training step it was the batch norm of each HRNet head (docs/performance.md).
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class; the
 * summed axes travel with the copy as the op's property {@code axes}.
 */
public final class BroadcastProduct extends MulOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_broadcast_product";
  private static final long MULTIPLY_HASH = HashUtil.getLongHash("multiply");

  /** The axes of {@code x} along which the factor is broadcast (size 1 in the factor). */
  private int[] axes;

  /** For SameDiff's copy of a graph. */
  public BroadcastProduct() {}

  private BroadcastProduct(SameDiff sd, SDVariable x, SDVariable factor, int[] axes) {
    super(sd, x, factor);
    this.axes = axes;
  }

  /**
   * {@code x ⊙ factor} with the factor broadcast along every axis where {@code factorShape} is 1: this op in a graph
   * that may be differentiated, SameDiff's own multiply in an evaluation graph (stock ops only).
   *
   * @param x of rank {@code factorShape.length}
   * @param factorShape the factor's shape, of x's rank, e.g. {@code [1, C, 1, 1]}
   */
  public static SDVariable apply(SameDiff sd, SDVariable x, SDVariable factor, long... factorShape) {
    int[] axes = broadcastAxes(factorShape);
    if (GraphContext.isInferenceOnly(sd)) {
      return x.mul(factor);
    }
    CustomOps.register(NAME, BroadcastProduct.class);
    return new BroadcastProduct(sd, x, factor, axes).outputVariable();
  }

  /** The axes where {@code factorShape} is 1; at least one, and not all. */
  static int[] broadcastAxes(long... factorShape) {
    int[] axes = java.util.stream.IntStream.range(0, factorShape.length).filter(i -> factorShape[i] == 1).toArray();
    Preconditions.checkArgument(axes.length > 0 && axes.length < factorShape.length,
        "a broadcast factor needs some axes of size 1 and some larger, found shape %s", Arrays.toString(factorShape));
    return axes;
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

  @Override
  public Map<String, Object> propertiesForFunction() {
    return Map.of("axes", axes);
  }

  @Override
  public void setPropertiesForFunction(Map<String, Object> properties) {
    if (properties.get("axes") instanceof int[] ints) {
      axes = ints.clone();
    }
  }

  @Override
  public List<SDVariable> doDiff(List<SDVariable> grads) {
    Preconditions.checkState(axes != null, "%s: the broadcast axes were lost in a graph copy", getOwnName());
    SDVariable dy = grads.get(0);
    SDVariable dx = sameDiff.math.mul(dy, arg(1));
    SDVariable dFactor = sameDiff.sum(sameDiff.math.mul(dy, arg(0)), true, axes);
    return Arrays.asList(dx, dFactor);
  }
}
