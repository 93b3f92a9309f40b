package org.mtlora.core.nn;

import com.google.common.base.Preconditions;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.mtlora.core.graph.GraphContext;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ops.CustomOpDescriptor;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.util.HashUtil;

/**
 * The sum {@code y = a + b} of two arrays of one shape — a residual connection, a low-rank update added to a
 * layer's output. The forward is SameDiff's native {@code add}; the backward is {@code da = db = dy}, built from
 * {@code dy} alone.
 *
 * <p>SameDiff 1.0.0-M2.1's own backward of {@code add}, {@code add_bp}, takes both operands as inputs (for their shapes),
 * so a training session keeps both operands of every sum alive from the forward until the backward reaches the sum:
 * in a whole-graph Swin-T training step (224x224, batch 1), about 0.30 of the 0.83 GB of arrays live at the peak were
 * kept for an {@code add_bp}, a {@code subtract_bp} or a {@code reduce_mean_bp} only (docs/performance.md, "Arrays kept
 * for their shape"). With this op an operand is released as soon as the forward has no more use for it.
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class EqualShapeSum extends AddOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_equal_shape_sum";
  private static final long ADD_HASH = HashUtil.getLongHash("add");

  /** For SameDiff's copy of a graph. */
  public EqualShapeSum() {}

  private EqualShapeSum(SameDiff sd, SDVariable a, SDVariable b) {
    super(sd, a, b);
  }

  /**
   * {@code a + b}: this op in a graph that may be differentiated, SameDiff's own add in an evaluation graph (stock
   * ops only).
   *
   * @throws IllegalArgumentException if both shapes are known to the graph and differ (axes of unknown size, -1, are
   *     not compared): the backward assumes no broadcasting
   */
  public static SDVariable apply(SameDiff sd, SDVariable a, SDVariable b) {
    long[] as = a.getShape();
    long[] bs = b.getShape();
    if (as != null && bs != null) {
      Preconditions.checkArgument(sameShape(as, bs), "%s %s and %s %s: an equal-shape sum needs equal shapes",
          a.name(), Arrays.toString(as), b.name(), Arrays.toString(bs));
    }
    if (GraphContext.isInferenceOnly(sd)) {
      return a.add(b);
    }
    CustomOps.register(NAME, EqualShapeSum.class);
    return new EqualShapeSum(sd, a, b).outputVariable();
  }

  /** Equal rank and equal sizes where both are known (-1: unknown). */
  static boolean sameShape(long[] a, long[] b) {
    if (a.length != b.length) {
      return false;
    }
    for (int i = 0; i < a.length; i++) {
      if (a[i] != -1 && b[i] != -1 && a[i] != b[i]) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String opName() {
    return NAME;
  }

  @Override
  public CustomOpDescriptor getDescriptor() {
    return Nd4j.getExecutioner().getCustomOperations().get("add");
  }

  @Override
  public long opHash() {
    return ADD_HASH;
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
    SDVariable dy = grads.get(0);
    return Arrays.asList(sameDiff.identity(dy), sameDiff.identity(dy));
  }
}
