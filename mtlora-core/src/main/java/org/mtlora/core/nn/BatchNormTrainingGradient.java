package org.mtlora.core.nn;

import com.google.common.base.Preconditions;
import java.util.List;
import org.mtlora.core.graph.BatchNormKernel;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;

/**
 * The backward of {@link BatchNormTraining} as one op, the closed form of the gradient through the batch statistics
 * ({@link BatchNormKernel} has the formulas):
 *
 * <pre>
 *   inputs    x [M, C], γ [C], mean [C], invStd [C] (the forward's), dy [M, C]
 *   outputs   dx = γ · invStd · (dy − Σdy / M − (x − mean) · invStd² · Σ dy·(x − mean) / M)   [M, C]
 *             dγ = invStd · Σ dy·(x − mean)   [C]
 *             dβ = Σ dy                       [C]
 * </pre>
 *
 * Sums run over the rows in float64. Computed in Java ({@link org.mtlora.core.graph.JavaOp}): on {@link
 * BatchNormKernel} where it takes the arrays, else with ND4J's array ops in float64. Not differentiable itself (no
 * second derivatives are taken).
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class BatchNormTrainingGradient extends JavaComputedOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_batch_norm_bp";

  /** For SameDiff's copy of a graph. */
  public BatchNormTrainingGradient() {}

  private BatchNormTrainingGradient(SameDiff sd, SDVariable x, SDVariable gamma, SDVariable mean, SDVariable invStd,
      SDVariable dy) {
    super(NAME, sd, x, gamma, mean, invStd, dy);
  }

  /** The gradients {@code dx, dγ, dβ}. */
  static SDVariable[] apply(SameDiff sd, SDVariable x, SDVariable gamma, SDVariable mean, SDVariable invStd,
      SDVariable dy) {
    CustomOps.register(NAME, BatchNormTrainingGradient.class);
    return new BatchNormTrainingGradient(sd, x, gamma, mean, invStd, dy).outputVariables();
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
    INDArray invStd = context.getInputArray(3);
    INDArray dy = context.getInputArray(4);
    INDArray dx = context.getOutputArray(0);
    INDArray dGamma = context.getOutputArray(1);
    INDArray dBeta = context.getOutputArray(2);
    if (BatchNormKernel.tryBackward(x, gamma, mean, invStd, dy, dx, dGamma, dBeta)) {
      return;
    }
    // the same formulas with ND4J's array ops (any backend, any array layout)
    long rows = x.size(0);
    INDArray r = invStd.castTo(DataType.DOUBLE).reshape(-1);
    INDArray d = x.castTo(DataType.DOUBLE).subRowVector(mean.castTo(DataType.DOUBLE).reshape(-1));
    INDArray g = dy.castTo(DataType.DOUBLE);
    INDArray sumDy = g.sum(0);
    INDArray sumDyD = g.mul(d).sum(0);
    INDArray k = gamma.castTo(DataType.DOUBLE).reshape(-1).mul(r);
    INDArray a = sumDy.div(rows);
    INDArray b = r.mul(r).muli(sumDyD).divi(rows);
    dx.assign(g.subRowVector(a).subi(d.mulRowVector(b)).muliRowVector(k).castTo(dx.dataType()));
    dGamma.assign(r.mul(sumDyD).castTo(dGamma.dataType()).reshape(dGamma.shape()));
    dBeta.assign(sumDy.castTo(dBeta.dataType()).reshape(dBeta.shape()));
  }
}
