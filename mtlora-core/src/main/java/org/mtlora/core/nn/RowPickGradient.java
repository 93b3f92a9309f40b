package org.mtlora.core.nn;

import java.util.List;
import org.mtlora.core.graph.RowPickKernel;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;

/**
 * The backward of {@link RowPick} as one op: {@code dx [N, K]} holds {@code dpicked[i]} at {@code [i, t_i]} where the
 * label selects an entry, and zeros elsewhere — one write of the rows where the one-hot composite's backward took a
 * product and a broadcast. Computed in Java ({@link org.mtlora.core.graph.JavaOp}): on {@link RowPickKernel} where it
 * takes the arrays, else as the one-hot rows scaled with ND4J's array ops; not differentiable itself.
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class RowPickGradient extends JavaComputedOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_row_pick_bp";

  /** For SameDiff's copy of a graph. */
  public RowPickGradient() {}

  private RowPickGradient(SameDiff sd, SDVariable x, SDVariable labels, SDVariable dPicked) {
    super(NAME, sd, x, labels, dPicked);
  }

  /** {@code dx} like {@code x}. */
  static SDVariable apply(SameDiff sd, SDVariable x, SDVariable labels, SDVariable dPicked) {
    CustomOps.register(NAME, RowPickGradient.class);
    return new RowPickGradient(sd, x, labels, dPicked).outputVariable();
  }

  @Override
  public String opName() {
    return NAME;
  }

  @Override
  int outputCount() {
    return 1;
  }

  @Override
  public List<LongShapeDescriptor> calculateOutputShape(OpContext context) {
    return shapesOfInputs(context, 0);
  }

  @Override
  public void compute(OpContext context) {
    INDArray labels = context.getInputArray(1);
    INDArray dPicked = context.getInputArray(2);
    INDArray dx = context.getOutputArray(0);
    if (RowPickKernel.tryBackward(labels, dPicked, dx)) {
      return;
    }
    // any type, layout and backend: the one-hot rows scaled by dpicked, with ND4J's array ops
    INDArray column = dPicked.reshape(-1, 1).castTo(dx.dataType());
    dx.assign(RowPick.oneHot(labels, dx.size(1), dx.dataType()).muliColumnVector(column));
  }
}
