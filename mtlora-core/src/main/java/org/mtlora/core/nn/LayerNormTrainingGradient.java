package org.mtlora.core.nn;

import java.util.List;
import org.mtlora.core.graph.LayerNormKernel;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;

/**
 * The backward of {@link LayerNormTraining} as one op, the closed form of the gradient through the row statistics
 * ({@link LayerNormKernel} has the formulas):
 *
 * <pre>
 *   inputs    x [N, C], γ [C], mean [N], rstd [N] (the forward's), dy [N, C]
 *   outputs   dx = rstd · (g − mean_c(g) − x̂ · mean_c(g ⊙ x̂)),  g = dy ⊙ γ,  x̂ = (x − mean) · rstd   [N, C]
 *             dγ = Σ_n dy ⊙ x̂   [C]
 *             dβ = Σ_n dy       [C]
 * </pre>
 *
 * Computed in Java ({@link org.mtlora.core.graph.JavaOp}): on {@link LayerNormKernel} where it takes the arrays,
 * else with ND4J's array ops in float64. Not differentiable itself (no second derivatives are taken).
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class LayerNormTrainingGradient extends JavaComputedOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_layer_norm_bp";

  /** For SameDiff's copy of a graph. */
  public LayerNormTrainingGradient() {}

  private LayerNormTrainingGradient(SameDiff sd, SDVariable x, SDVariable gamma, SDVariable mean, SDVariable rstd,
      SDVariable dy) {
    super(NAME, sd, x, gamma, mean, rstd, dy);
  }

  /** The gradients {@code dx, dγ, dβ}. */
  static SDVariable[] apply(SameDiff sd, SDVariable x, SDVariable gamma, SDVariable mean, SDVariable rstd,
      SDVariable dy) {
    CustomOps.register(NAME, LayerNormTrainingGradient.class);
    return new LayerNormTrainingGradient(sd, x, gamma, mean, rstd, dy).outputVariables();
  }

  @Override
  public String opName() {
    return NAME;
  }

  @Override
  int outputCount() {
    return 3;
  }

  /** {@code dx} like {@code x}, {@code dγ} and {@code dβ} like {@code γ}. */
  @Override
  public List<LongShapeDescriptor> calculateOutputShape(OpContext context) {
    return shapesOfInputs(context, 0, 1, 1);
  }

  @Override
  public void compute(OpContext context) {
    INDArray x = context.getInputArray(0);
    INDArray gamma = context.getInputArray(1);
    INDArray mean = context.getInputArray(2);
    INDArray rstd = context.getInputArray(3);
    INDArray dy = context.getInputArray(4);
    INDArray dx = context.getOutputArray(0);
    INDArray dGamma = context.getOutputArray(1);
    INDArray dBeta = context.getOutputArray(2);
    if (LayerNormKernel.tryBackward(x, gamma, mean, rstd, dy, dx, dGamma, dBeta)) {
      return;
    }
    // the same formulas with ND4J's array ops (any backend, any array layout)
    INDArray r = rstd.castTo(DataType.DOUBLE).reshape(-1, 1);
    INDArray xhat = x.castTo(DataType.DOUBLE).subColumnVector(mean.castTo(DataType.DOUBLE).reshape(-1, 1))
        .muliColumnVector(r);
    INDArray d = dy.castTo(DataType.DOUBLE);
    INDArray g = d.mulRowVector(gamma.castTo(DataType.DOUBLE).reshape(1, -1));
    INDArray meanG = g.mean(1).reshape(-1, 1);
    INDArray meanGX = g.mul(xhat).mean(1).reshape(-1, 1);
    INDArray grad = g.subColumnVector(meanG).subi(xhat.mulColumnVector(meanGX)).muliColumnVector(r);
    dGamma.assign(d.mul(xhat).sum(0).castTo(dGamma.dataType()).reshape(dGamma.shape()));
    dBeta.assign(d.sum(0).castTo(dBeta.dataType()).reshape(dBeta.shape()));
    dx.assign(grad.castTo(dx.dataType()));
  }
}
