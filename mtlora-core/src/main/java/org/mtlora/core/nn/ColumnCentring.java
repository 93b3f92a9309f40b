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
 * Each column of {@code x [M, C]} minus its mean — a {@link BatchNorm}'s batch statistics on rows — with backwards that
 * keep no operand alive, as {@link RowCentring} does for the rows of a layer norm:
 *
 * <pre>
 *   m = wᵀ x,  w = (1/M) 1        [1, C]   a product with a column of 1/M ({@link ColumnMean}); M may be unknown
 *                                          when the graph is built, so w is filled from x's shape as the graph runs
 *                                          (one w for the mean and the variance)
 *   y = x − 1 m                   [M, C]   SameDiff's native subtract, this op
 *   dx = dy,  dm = −1ᵀ dy                  (the mean's own backward: dx += w dm)
 * </pre>
 *
 * SameDiff 1.0.0-M2.1's {@code reduce_mean_bp} and {@code subtract_bp} take their forward operands as inputs, so a
 * training session would keep the batch norm's input and its squares alive until the backward reaches them.
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class ColumnCentring extends SubOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_column_centring";
  private static final long SUBTRACT_HASH = HashUtil.getLongHash("subtract");

  /** {@code C}, the row length; travels with a graph copy as the op's property {@code width}. */
  private long width;

  /** For SameDiff's copy of a graph. */
  public ColumnCentring() {}

  private ColumnCentring(SameDiff sd, SDVariable x, SDVariable mean, long width) {
    super(sd, x, mean);
    this.width = width;
  }

  /** A batch norm's statistics over the rows of {@code x}: the column means, {@code x} centred, the biased variances. */
  public record Statistics(SDVariable mean, SDVariable centred, SDVariable variance) {}

  /**
   * The means {@code [1, C]}, the centred {@code x} and the biased variances {@code [1, C]} of the columns of {@code x
   * [M, C]}: in a graph that may be differentiated, both means are {@link ColumnMean} products with one column {@code
   * w} of {@code 1/M}, filled from the shape of {@code x} as the graph runs, and the centring is this op; an evaluation
   * graph gets SameDiff's own mean and subtract.
   */
  public static Statistics statistics(SameDiff sd, SDVariable x, long width) {
    Preconditions.checkArgument(width > 0, "%s: the row length must be > 0, got %s", x.name(), width);
    if (GraphContext.isInferenceOnly(sd)) {
      SDVariable mean = sd.mean(x, true, 0);
      SDVariable centred = x.sub(mean);
      return new Statistics(mean, centred, sd.mean(centred.mul(centred), true, 0));
    }
    SDVariable shape = sd.shape(x); // [M, C]
    SDVariable columnShape = shape.div(sd.constant(Nd4j.createFromArray(1L, width))); // [M, 1]
    SDVariable rows = sd.sizeAt(x, 0).castTo(x.dataType());
    SDVariable weights = sd.fill(columnShape, x.dataType(), 1.0).div(rows);
    SDVariable mean = ColumnMean.of(sd, weights, x);
    CustomOps.register(NAME, ColumnCentring.class);
    SDVariable centred = new ColumnCentring(sd, x, mean, width).outputVariable();
    return new Statistics(mean, centred, ColumnMean.of(sd, weights, centred.mul(centred)));
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
    return Arrays.asList(sameDiff.identity(dy), ColumnSums.of(sameDiff, dy, width).neg());
  }
}
