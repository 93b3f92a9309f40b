package org.mtlora.tasks;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The reference's task losses (reference-spec §5), built from ops with a verified backward. Every loss divides by a
 * count clamped to at least 1, so an all-ignored batch gives 0, never NaN.
 */
public final class Losses {
  /** Label value of ignored pixels. */
  public static final int IGNORE = 255;

  private Losses() {}

  /**
   * Pixel-wise cross-entropy (log-softmax over channels + NLL), ignoring label 255, mean over the valid pixels of the
   * whole batch.
   *
   * @param logits {@code [B, K, H, W]}
   * @param labels {@code [B, 1, H, W]} class indices as floats
   */
  public static SDVariable crossEntropy(SameDiff sd, SDVariable logits, SDVariable labels, int classes) {
    SDVariable rows = sd.reshape(sd.permute(logits, 0, 2, 3, 1), -1, classes); // [B*H*W, K]
    SDVariable logp = sd.nn.logSoftmax(rows); // over the last axis
    SDVariable idx = sd.reshape(labels, -1).castTo(DataType.INT);
    SDVariable onehot = sd.oneHot(idx, classes, -1, 1.0, 0.0, logits.dataType()); // 255 -> all-zero row
    SDVariable nll = sd.sum(onehot.mul(logp)).neg();
    SDVariable count = sd.sum(onehot);
    return nll.div(sd.math.max(count, sd.constant(1.0).castTo(logits.dataType())));
  }

  /**
   * The reference's balanced binary cross-entropy with logits: {@code y = label >= 0.5}, per-pixel {@code l =
   * max(x, 0) - x y + log(1 + exp(-|x|))}, {@code w = #negatives / #pixels} over the batch, loss {@code (w sum_{y=1} l
   * + (1 - w) sum_{y=0} l) / #pixels}.
   *
   * @param logits {@code [B, 1, H, W]}
   * @param labels {@code [B, 1, H, W]} in [0, 1]
   */
  public static SDVariable balancedBce(SameDiff sd, SDVariable logits, SDVariable labels) {
    DataType dt = logits.dataType();
    SDVariable y = sd.gte(labels, 0.5).castTo(dt);
    SDVariable notY = y.rsub(1.0);
    SDVariable abs = sd.math.abs(logits);
    SDVariable l = sd.nn.relu(logits, 0).sub(logits.mul(y)).add(sd.math.log(sd.math.exp(abs.neg()).add(1.0)));
    SDVariable total = sd.sum(y).add(sd.sum(notY));
    SDVariable w = sd.sum(notY).div(total);
    SDVariable pos = sd.sum(y.mul(l));
    SDVariable neg = sd.sum(notY.mul(l));
    return w.mul(pos).add(w.rsub(1.0).mul(neg)).div(total);
  }

  /**
   * L1 between the L2-normalised prediction ({@code p / (|p| + 1e-12)} over channels) and the target, over the
   * elements whose target is not 255, divided by their number.
   *
   * @param prediction {@code [B, 3, H, W]}
   * @param target {@code [B, 3, H, W]} unit vectors, 255 in all channels where ignored
   */
  public static SDVariable normalsL1(SameDiff sd, SDVariable prediction, SDVariable target) {
    DataType dt = prediction.dataType();
    SDVariable norm = sd.math.sqrt(sd.sum(prediction.mul(prediction), true, 1)); // [B, 1, H, W]
    SDVariable unit = prediction.div(norm.add(1e-12));
    SDVariable mask = sd.neq(target, (double) IGNORE).castTo(dt);
    SDVariable l1 = sd.sum(sd.math.abs(unit.sub(target)).mul(mask));
    return l1.div(sd.math.max(sd.sum(mask), sd.constant(1.0).castTo(dt)));
  }
}
