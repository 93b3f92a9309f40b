package org.mtlora.core.nn;

import java.util.List;
import org.mtlora.core.graph.PixelLogLikelihoodKernel;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The backward of {@link PixelLogLikelihood} as one op: {@code dx [B, K, H, W] = dpicked · ([k = t] − softmax_k)} at
 * each pixel whose label selects a class, zeros at the others — computed from the scores {@code x} (the softmax again)
 * in one read of them and one write of {@code dx}. Computed in Java ({@link org.mtlora.core.graph.JavaOp}): on {@link
 * PixelLogLikelihoodKernel} where it takes the arrays, else with ND4J's array ops as the log-softmax's backward {@code
 * dy − softmax · Σ dy} of the one-hot rows {@code dy = onehot(t) · dpicked}; not differentiable itself.
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class PixelLogLikelihoodGradient extends JavaComputedOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_pixel_log_likelihood_bp";

  /** For SameDiff's copy of a graph. */
  public PixelLogLikelihoodGradient() {}

  private PixelLogLikelihoodGradient(SameDiff sd, SDVariable x, SDVariable labels, SDVariable dPicked) {
    super(NAME, sd, x, labels, dPicked);
  }

  /** {@code dx} like {@code x}. */
  static SDVariable apply(SameDiff sd, SDVariable x, SDVariable labels, SDVariable dPicked) {
    CustomOps.register(NAME, PixelLogLikelihoodGradient.class);
    return new PixelLogLikelihoodGradient(sd, x, labels, dPicked).outputVariable();
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
    INDArray x = context.getInputArray(0);
    INDArray labels = context.getInputArray(1);
    INDArray dPicked = context.getInputArray(2);
    INDArray dx = context.getOutputArray(0);
    if (PixelLogLikelihoodKernel.tryBackward(x, labels, dPicked, dx)) {
      return;
    }
    // any type, layout and backend: the log-softmax's backward of the one-hot rows, with ND4J's array ops
    INDArray dy = PixelLogLikelihood.oneHot(labels, x.size(1), x.dataType())
        .muliColumnVector(dPicked.reshape(-1, 1).castTo(x.dataType()));
    INDArray softmax = Transforms.exp(PixelLogLikelihood.logSoftmaxRows(x), false);
    INDArray rows = dy.subi(softmax.muliColumnVector(dy.sum(1).reshape(-1, 1))); // [B·H·W, K]
    long[] shape = dx.shape();
    dx.assign(rows.reshape('c', shape[0], -1, shape[1]).permute(0, 2, 1).dup('c').reshape(shape));
  }
}
