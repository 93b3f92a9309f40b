package org.mtlora.core.nn;

import com.google.common.base.Preconditions;
import java.util.Arrays;
import java.util.List;
import org.mtlora.core.graph.LayerNormKernel;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * A {@link LayerNorm}'s training forward on rows {@code x [N, C]} with a scale and a shift as one op, its backward one
 * op too ({@link LayerNormTrainingGradient}, the closed form): in place of some fifteen ops over the rows each way, each
 * row read once forward and once backward ({@link LayerNormKernel}).
 *
 * <pre>
 *   inputs    x [N, C], γ [C], β [C]
 *   outputs   y = (x − mean) · (rstd · γ) + β   [N, C]
 *             mean [N], rstd = 1/√(var + ε) [N]   per row, for the backward
 * </pre>
 *
 * The statistics are outputs for the backward, not differentiable ones: gradients reaching them are ignored (nothing
 * else reads them). The op is computed in Java ({@link org.mtlora.core.graph.JavaOp}): on {@link LayerNormKernel}
 * where it takes the arrays, else with ND4J's array ops in float64.
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class LayerNormTraining extends NormTrainingOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_layer_norm";

  /** For SameDiff's copy of a graph. */
  public LayerNormTraining() {}

  private LayerNormTraining(SameDiff sd, SDVariable x, SDVariable gamma, SDVariable beta, double eps) {
    super(NAME, sd, eps, x, gamma, beta);
  }

  /**
   * The op's outputs {@code y, mean, rstd} for rows {@code x [N, C]}.
   *
   * @param eps added to the variance, {@code > 0}
   */
  static SDVariable[] apply(SameDiff sd, SDVariable x, SDVariable gamma, SDVariable beta, double eps) {
    Preconditions.checkArgument(eps > 0, "layer norm epsilon must be > 0, got %s", eps);
    CustomOps.register(NAME, LayerNormTraining.class);
    return new LayerNormTraining(sd, x, gamma, beta, eps).outputVariables();
  }

  @Override
  public String opName() {
    return NAME;
  }

  @Override
  int outputCount() {
    return 3;
  }

  @Override
  public List<LongShapeDescriptor> calculateOutputShape(OpContext context) {
    INDArray x = context.getInputArray(0);
    Preconditions.checkArgument(x.rank() == 2, "%s: layer norm input must be rows [N, C], found shape %s",
        getOwnName(), Arrays.toString(x.shape()));
    LongShapeDescriptor stat = LongShapeDescriptor.fromShape(new long[] {x.size(0)}, x.dataType());
    return List.of(LongShapeDescriptor.fromShape(x.shape(), x.dataType()), stat, stat);
  }

  @Override
  public void compute(OpContext context) {
    double eps = eps();
    INDArray x = context.getInputArray(0);
    INDArray gamma = context.getInputArray(1);
    INDArray beta = context.getInputArray(2);
    INDArray y = context.getOutputArray(0);
    INDArray mean = context.getOutputArray(1);
    INDArray rstd = context.getOutputArray(2);
    if (LayerNormKernel.tryForward(x, gamma, beta, eps, y, mean, rstd)) {
      return;
    }
    // the same formulas with ND4J's array ops (any backend, any array layout)
    INDArray wide = x.castTo(DataType.DOUBLE);
    INDArray mu = wide.mean(1);
    INDArray centred = wide.subColumnVector(mu.reshape(-1, 1));
    INDArray r = Transforms.sqrt(centred.mul(centred).mean(1).addi(eps), false).rdivi(1.0);
    INDArray normed = centred.muliColumnVector(r.reshape(-1, 1))
        .muliRowVector(gamma.castTo(DataType.DOUBLE).reshape(1, -1))
        .addiRowVector(beta.castTo(DataType.DOUBLE).reshape(1, -1));
    y.assign(normed.castTo(y.dataType()));
    mean.assign(mu.castTo(mean.dataType()).reshape(mean.shape()));
    rstd.assign(r.castTo(rstd.dataType()).reshape(rstd.shape()));
  }

  /** The closed-form backward ({@link LayerNormTrainingGradient}): gradients of x, γ and β from y's alone. */
  @Override
  public List<SDVariable> doDiff(List<SDVariable> grads) {
    SDVariable[] out = outputVariables();
    return Arrays.asList(LayerNormTrainingGradient.apply(sameDiff, arg(0), arg(1), out[1], out[2], grads.get(0)));
  }
}
