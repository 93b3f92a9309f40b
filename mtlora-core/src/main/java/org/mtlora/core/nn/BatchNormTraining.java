package org.mtlora.core.nn;

import com.google.common.base.Preconditions;
import java.util.Arrays;
import java.util.List;
import org.mtlora.core.graph.BatchNormKernel;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * A {@link BatchNorm}'s training forward on rows {@code x [M, C]} as one op, its backward one op too ({@link
 * BatchNormTrainingGradient}, the closed form): in place of some twenty ops on float64 copies of the input, a few
 * passes over the float input ({@link BatchNormKernel}).
 *
 * <pre>
 *   inputs    x [M, C], γ [C], β [C]
 *   outputs   y = (x − mean) · invStd · γ + β   [M, C]   (evaluated as x · α + (β − mean · α), α = invStd · γ)
 *             mean [C], var [C] (biased), invStd = 1/√(var + ε) [C]: the batch statistics, accumulated in float64
 * </pre>
 *
 * The statistics are outputs for the running update ({@link BatchNorm.RunningUpdate}) and for the backward, not
 * differentiable ones: gradients reaching them are ignored, as PyTorch's running buffers take none. The op is computed
 * in Java ({@link org.mtlora.core.graph.JavaOp}): on {@link BatchNormKernel} where it takes the arrays, else with
 * ND4J's array ops in float64.
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class BatchNormTraining extends NormTrainingOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_batch_norm";

  /** For SameDiff's copy of a graph. */
  public BatchNormTraining() {}

  private BatchNormTraining(SameDiff sd, SDVariable x, SDVariable gamma, SDVariable beta, double eps) {
    super(NAME, sd, eps, x, gamma, beta);
  }

  /**
   * The op's outputs {@code y, mean, var, invStd} for rows {@code x [M, C]}.
   *
   * @param eps added to the variance, {@code > 0}
   */
  static SDVariable[] apply(SameDiff sd, SDVariable x, SDVariable gamma, SDVariable beta, double eps) {
    Preconditions.checkArgument(eps > 0, "batch norm epsilon must be > 0, got %s", eps);
    CustomOps.register(NAME, BatchNormTraining.class);
    return new BatchNormTraining(sd, x, gamma, beta, eps).outputVariables();
  }

  @Override
  public String opName() {
    return NAME;
  }

  @Override
  int outputCount() {
    return 4;
  }

  @Override
  public List<LongShapeDescriptor> calculateOutputShape(OpContext context) {
    INDArray x = context.getInputArray(0);
    Preconditions.checkArgument(x.rank() == 2, "%s: batch norm input must be rows [M, C], found shape %s",
        getOwnName(), Arrays.toString(x.shape()));
    LongShapeDescriptor stat = LongShapeDescriptor.fromShape(new long[] {x.size(1)}, x.dataType());
    return List.of(LongShapeDescriptor.fromShape(x.shape(), x.dataType()), stat, stat, stat);
  }

  @Override
  public void compute(OpContext context) {
    double eps = eps();
    INDArray x = context.getInputArray(0);
    INDArray gamma = context.getInputArray(1);
    INDArray beta = context.getInputArray(2);
    INDArray y = context.getOutputArray(0);
    INDArray mean = context.getOutputArray(1);
    INDArray var = context.getOutputArray(2);
    INDArray invStd = context.getOutputArray(3);
    if (BatchNormKernel.tryForward(x, gamma, beta, eps, y, mean, var, invStd)) {
      return;
    }
    // the same formulas with ND4J's array ops (any backend, any array layout)
    DataType type = x.dataType();
    INDArray wide = x.castTo(DataType.DOUBLE);
    long rows = x.size(0);
    INDArray mu = wide.sum(0).divi(rows);
    INDArray centred = wide.subRowVector(mu);
    INDArray v = centred.muli(centred).sum(0).divi(rows);
    INDArray meanNarrow = mu.castTo(type);
    INDArray invStdNarrow = Transforms.sqrt(v.add(eps), false).rdivi(1.0).castTo(type);
    INDArray alpha = invStdNarrow.mul(gamma.reshape(-1));
    INDArray shift = beta.reshape(-1).sub(meanNarrow.mul(alpha));
    y.assign(x.mulRowVector(alpha).addiRowVector(shift));
    mean.assign(meanNarrow.reshape(mean.shape()));
    var.assign(v.castTo(type).reshape(var.shape()));
    invStd.assign(invStdNarrow.reshape(invStd.shape()));
  }

  /** The closed-form backward ({@link BatchNormTrainingGradient}): gradients of x, γ and β from y's alone. */
  @Override
  public List<SDVariable> doDiff(List<SDVariable> grads) {
    SDVariable[] out = outputVariables();
    SDVariable[] g = BatchNormTrainingGradient.apply(sameDiff, arg(0), arg(1), out[1], out[3], grads.get(0));
    return Arrays.asList(g);
  }
}
