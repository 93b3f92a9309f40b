package org.mtlora.core.nn;

import com.google.common.base.Preconditions;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.mtlora.core.graph.GraphContext;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ops.CustomOpDescriptor;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.SubOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.util.HashUtil;

/**
 * Each row of {@code x [N, C]} minus its mean — the first step of a {@link LayerNorm} — with a backward that keeps no
 * operand alive:
 *
 * <pre>
 *   m = x · (1/C) 1               [N, 1]   a product with a constant column ({@link FrozenWeightMatmul})
 *   y = x − m 1ᵀ                  [N, C]   SameDiff's native subtract, this op
 *   dx = dy,  dm = −dy · 1                 (the mean's own backward: dx += dm (1/C) 1ᵀ)
 * </pre>
 *
 * SameDiff 1.0.0-M2.1's {@code reduce_mean_bp} and {@code subtract_bp} take their forward operands as inputs (for their
 * shapes), so a training session keeps {@code x} alive until the backward reaches the norm; built this way, nothing of
 * the centring waits for the backward ({@link EqualShapeSum} explains the measurement).
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class RowCentring extends SubOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_row_centring";
  private static final long SUBTRACT_HASH = HashUtil.getLongHash("subtract");

  /** {@code C}, the row length; travels with a graph copy as the op's property {@code width}. */
  private long width;

  /** For SameDiff's copy of a graph. */
  public RowCentring() {}

  private RowCentring(SameDiff sd, SDVariable x, SDVariable mean, long width) {
    super(sd, x, mean);
    this.width = width;
  }

  /**
   * {@code x} minus the mean of each row: this op after a product with a constant column in a graph that may be
   * differentiated, SameDiff's own mean and subtract in an evaluation graph (stock ops only).
   *
   * @param x {@code [N, C]}
   * @param width {@code C} (SameDiff 1.0.0-M2.1 often does not know the shape of a computed array)
   */
  public static SDVariable apply(SameDiff sd, SDVariable x, long width) {
    checkWidth(x, width);
    if (GraphContext.isInferenceOnly(sd)) {
      return x.sub(sd.mean(x, true, 1));
    }
    CustomOps.register(NAME, RowCentring.class);
    return new RowCentring(sd, x, rowMeans(sd, x, width), width).outputVariable();
  }

  /**
   * The mean of each row of {@code x [N, C]}, {@code [N, 1]}: a product with a constant column of {@code 1/C}, whose
   * backward ({@code dx = dm (1/C) 1ᵀ}) needs no operand, unlike SameDiff's {@code reduce_mean_bp}; SameDiff's own
   * mean in an evaluation graph.
   */
  public static SDVariable rowMeans(SameDiff sd, SDVariable x, long width) {
    checkWidth(x, width);
    if (GraphContext.isInferenceOnly(sd)) {
      return sd.mean(x, true, 1);
    }
    SDVariable column = sd.constant(Nd4j.valueArrayOf(new long[] {width, 1}, 1.0 / width, x.dataType()));
    return FrozenWeightMatmul.product(sd, x, column, false);
  }

  private static void checkWidth(SDVariable x, long width) {
    Preconditions.checkArgument(width > 0, "%s: the row length must be > 0, got %s", x.name(), width);
    long[] shape = x.getShape();
    if (shape != null) {
      Preconditions.checkArgument(shape.length == 2 && (shape[1] == -1 || shape[1] == width),
          "%s: row centring needs a matrix [N, %s], found shape %s", x.name(), width, Arrays.toString(shape));
    }
  }

  @Override
  public String opName() {
    return NAME;
  }

  @Override
  public CustomOpDescriptor getDescriptor() {
    return Nd4j.getExecutioner().getCustomOperations().get("subtract");
  }

  @Override
  public long opHash() {
    return SUBTRACT_HASH;
  }

  @Override
  public Map<String, Object> propertiesForFunction() {
    return Map.of("width", width);
  }

  @Override
  public void setPropertiesForFunction(Map<String, Object> properties) {
    if (properties.get("width") instanceof Number n) {
      width = n.longValue();
    }
  }

  @Override
  public List<SDVariable> doDiff(List<SDVariable> grads) {
    Preconditions.checkState(width > 0, "%s: the row length was lost in a graph copy", getOwnName());
    SDVariable dy = grads.get(0);
    SDVariable minusOnes = sameDiff.constant(Nd4j.valueArrayOf(new long[] {width, 1}, -1.0, dy.dataType()));
    return Arrays.asList(sameDiff.identity(dy), FrozenWeightMatmul.product(sameDiff, dy, minusOnes, false));
  }
}
