package org.mtlora.core.nn;

import com.google.common.base.Preconditions;
import java.util.Arrays;
import java.util.List;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.PixelLogLikelihoodKernel;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.impl.shape.OneHot;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Each pixel's log-probability of its label under a softmax over the class axis: what a pixel-wise cross-entropy
 * takes from its class scores, as one op on the scores where they lie.
 *
 * <pre>
 *   inputs    x [B, K, H, W] (class scores; any spatial rank), t [B·H·W] (integer labels, pixels in C order)
 *   outputs   picked[i] = log_softmax(x[b, :, h, w])[t_i]  where 0 ≤ t_i &lt; K, else 0   [B·H·W]
 *             valid[i]  = 1                               where 0 ≤ t_i &lt; K, else 0   [B·H·W]  (label 255: 0)
 *   backward  dx[b, k, h, w] = dpicked[i] · ([k = t_i] − softmax_k)  where 0 ≤ t_i &lt; K, else 0
 *             ({@link PixelLogLikelihoodGradient}); valid has no gradient
 * </pre>
 *
 * with the log-softmax computed as {@code (x_k − m) − ln Σ_j exp(x_j − m)}, {@code m} the pixel's largest score, so
 * that it is finite wherever the scores are (PyTorch's {@code log_softmax} too). Equal to a permute of the scores into
 * rows {@code [B·H·W, K]}, the log-softmax over each row and the sums {@code sum(onehot(t) · logp, 1)} and {@code
 * sum(onehot(t), 1)} — the composite the loss was built from, which read and wrote the scores' size five times
 * forward and as often backward; computed in Java ({@link org.mtlora.core.graph.JavaOp}) on {@link
 * PixelLogLikelihoodKernel} where it takes the arrays (float scores, int labels), bit for bit that composite on the
 * JVM's kernels, else as the composite with ND4J's array ops (any type, layout or backend). In a graph never
 * differentiated (see {@link #apply}) the composite is built instead, so that evaluation and exported graphs hold
 * SameDiff's own ops.
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class PixelLogLikelihood extends JavaComputedOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_pixel_log_likelihood";

  /** For SameDiff's copy of a graph. */
  public PixelLogLikelihood() {}

  private PixelLogLikelihood(SameDiff sd, SDVariable x, SDVariable labels) {
    super(NAME, sd, x, labels);
  }

  /**
   * {@code picked} and {@code valid} ({@code [B·H·W]} each, in {@code x}'s type) for scores {@code x [B, K, H, W]}
   * with {@code classes = K} and integer labels {@code [B·H·W]}; labels outside {@code [0, K)} select nothing.
   */
  public static SDVariable[] apply(SameDiff sd, SDVariable x, SDVariable labels, int classes, DataType type) {
    Preconditions.checkArgument(classes > 0, "classes must be > 0, got %s", classes);
    if (GraphContext.isInferenceOnly(sd)) { // never differentiated: SameDiff's own ops
      SDVariable rows = sd.reshape(sd.permute(x, 0, 2, 3, 1), -1, classes);
      SDVariable logp = sd.nn.logSoftmax(rows);
      SDVariable onehot = sd.oneHot(labels, classes, -1, 1.0, 0.0, type);
      return new SDVariable[] {sd.sum(onehot.mul(logp), 1), sd.sum(onehot, 1)};
    }
    CustomOps.register(NAME, PixelLogLikelihood.class);
    return new PixelLogLikelihood(sd, x, labels).outputVariables();
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
    Preconditions.checkArgument(x.rank() >= 3 && labels.length() == x.length() / x.size(1), "%s: scores must be "
        + "[B, K, H, W] and labels [B·H·W], found %s and %s", getOwnName(), Arrays.toString(x.shape()),
        Arrays.toString(labels.shape()));
    LongShapeDescriptor pixels = LongShapeDescriptor.fromShape(new long[] {labels.length()}, x.dataType());
    return List.of(pixels, pixels);
  }

  @Override
  public void compute(OpContext context) {
    INDArray x = context.getInputArray(0);
    INDArray labels = context.getInputArray(1);
    INDArray picked = context.getOutputArray(0);
    INDArray valid = context.getOutputArray(1);
    if (PixelLogLikelihoodKernel.tryForward(x, labels, picked, valid)) {
      return;
    }
    // any type, layout and backend: the composite with ND4J's array ops
    INDArray onehot = oneHot(labels, x.size(1), x.dataType());
    valid.assign(onehot.sum(1).reshape(valid.shape()));
    picked.assign(onehot.muli(logSoftmaxRows(x)).sum(1).reshape(picked.shape()));
  }

  /** {@code x [B, K, ...]} as rows {@code [B·∏spatial, K]}: one row of class scores per pixel, a copy. */
  static INDArray rows(INDArray x) {
    long classes = x.size(1);
    return x.reshape('c', x.size(0), classes, -1).permute(0, 2, 1).dup('c').reshape('c', -1, classes);
  }

  /** {@code (x − m) − ln Σ exp(x − m)} over each pixel's row of {@link #rows}. */
  static INDArray logSoftmaxRows(INDArray x) {
    INDArray shifted = rows(x);
    shifted.subiColumnVector(shifted.max(1).reshape(-1, 1));
    INDArray logSum = Transforms.log(Transforms.exp(shifted, true).sum(1), false);
    return shifted.subiColumnVector(logSum.reshape(-1, 1));
  }

  /** {@code [N, k]} in {@code type}: 1 at each row's label where {@code 0 ≤ t_i < k}, zeros elsewhere. */
  static INDArray oneHot(INDArray labels, long k, DataType type) {
    INDArray out = Nd4j.create(type, labels.length(), k);
    Nd4j.exec(new OneHot(labels.reshape(-1).castTo(DataType.INT), out, (int) k, -1, 1.0, 0.0));
    return out;
  }

  /** {@code dx} from {@code dpicked} ({@link PixelLogLikelihoodGradient}); the labels take none. */
  @Override
  public List<SDVariable> doDiff(List<SDVariable> grads) {
    SDVariable dx = PixelLogLikelihoodGradient.apply(sameDiff, arg(0), arg(1), grads.get(0));
    // the integer labels have no gradient; SameDiff needs some array in their place, a scalar zero stands in
    return Arrays.asList(dx, sameDiff.constant(Nd4j.scalar(DataType.FLOAT, 0)));
  }
}
