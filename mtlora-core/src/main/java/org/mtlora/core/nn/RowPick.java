package org.mtlora.core.nn;

import com.google.common.base.Preconditions;
import java.util.Arrays;
import java.util.List;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.RowPickKernel;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.impl.shape.OneHot;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One entry of each row, chosen by an integer label: what a cross-entropy takes from the log-probabilities, in place
 * of a one-hot matrix, its product with the rows and two sums over it.
 *
 * <pre>
 *   inputs    x [N, K] (rows), t [N] (integer labels)
 *   outputs   picked[i] = x[i, t_i]  where 0 ≤ t_i &lt; K, else 0   [N]
 *             valid[i]  = 1          where 0 ≤ t_i &lt; K, else 0   [N]   (an ignore label such as 255: 0)
 *   backward  dx[i, k]  = dpicked[i] where k = t_i, else 0          ({@link RowPickGradient}); valid has no gradient
 * </pre>
 *
 * Equal, value for value, to {@code sum(onehot(t, K) * x, 1)} and {@code sum(onehot(t, K), 1)}: each row has one
 * non-zero term or none. Computed in Java ({@link org.mtlora.core.graph.JavaOp}): on {@link RowPickKernel} where it
 * takes the arrays (float rows and int labels read in place), else as that one-hot composite with ND4J's array ops (any
 * type, layout or backend); in a graph never differentiated (see {@link #apply}) the composite is built instead,
 * so that evaluation and exported graphs hold SameDiff's own ops.
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class RowPick extends JavaComputedOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_row_pick";

  /** For SameDiff's copy of a graph. */
  public RowPick() {}

  private RowPick(SameDiff sd, SDVariable x, SDVariable labels) {
    super(NAME, sd, x, labels);
  }

  /**
   * {@code picked} and {@code valid} ({@code [N]} each, in {@code x}'s type) for rows {@code x [N, K]} and integer
   * labels {@code [N]}; labels outside {@code [0, K)} select nothing.
   */
  public static SDVariable[] apply(SameDiff sd, SDVariable x, SDVariable labels, int classes, DataType type) {
    Preconditions.checkArgument(classes > 0, "classes must be > 0, got %s", classes);
    if (GraphContext.isInferenceOnly(sd)) { // never differentiated: SameDiff's own ops
      SDVariable onehot = sd.oneHot(labels, classes, -1, 1.0, 0.0, type);
      return new SDVariable[] {sd.sum(onehot.mul(x), 1), sd.sum(onehot, 1)};
    }
    CustomOps.register(NAME, RowPick.class);
    return new RowPick(sd, x, labels).outputVariables();
  }

  @Override
  public String opName() {
    return NAME;
  }

  @Override
  int outputCount() {
    return 2;
  }

  @Override
  public List<LongShapeDescriptor> calculateOutputShape(OpContext context) {
    INDArray x = context.getInputArray(0);
    INDArray labels = context.getInputArray(1);
    Preconditions.checkArgument(x.rank() == 2 && labels.length() == x.size(0), "%s: rows must be [N, K] and labels "
        + "[N], found %s and %s", getOwnName(), Arrays.toString(x.shape()), Arrays.toString(labels.shape()));
    LongShapeDescriptor rows = LongShapeDescriptor.fromShape(new long[] {x.size(0)}, x.dataType());
    return List.of(rows, rows);
  }

  @Override
  public void compute(OpContext context) {
    INDArray x = context.getInputArray(0);
    INDArray picked = context.getOutputArray(0);
    INDArray valid = context.getOutputArray(1);
    if (RowPickKernel.tryForward(x, context.getInputArray(1), picked, valid)) {
      return;
    }
    // any type, layout and backend: the one-hot composite with ND4J's array ops
    INDArray onehot = oneHot(context.getInputArray(1), x.size(1), x.dataType());
    picked.assign(onehot.mul(x).sum(1).reshape(picked.shape()));
    valid.assign(onehot.sum(1).reshape(valid.shape()));
  }

  /** {@code [N, k]} in {@code type}: 1 at each row's label where {@code 0 ≤ t_i < k}, zeros elsewhere. */
  static INDArray oneHot(INDArray labels, long k, DataType type) {
    INDArray out = Nd4j.create(type, labels.length(), k);
    Nd4j.exec(new OneHot(labels.reshape(-1).castTo(DataType.INT), out, (int) k, -1, 1.0, 0.0));
    return out;
  }

  /** {@code dx} from {@code dpicked} ({@link RowPickGradient}); the labels take none. */
  @Override
  public List<SDVariable> doDiff(List<SDVariable> grads) {
    SDVariable dx = RowPickGradient.apply(sameDiff, arg(0), arg(1), grads.get(0));
    // the integer labels have no gradient; SameDiff needs some array in their place, a scalar zero stands in
    return Arrays.asList(dx, sameDiff.constant(Nd4j.scalar(DataType.FLOAT, 0)));
  }
}
