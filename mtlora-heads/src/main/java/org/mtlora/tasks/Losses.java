package org.mtlora.tasks;

import org.mtlora.core.nn.PixelLogLikelihood;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The reference's task losses (reference-spec §5), built from ops with a verified backward. Every loss divides by a
 * count clamped to at least 1, so an all-ignored batch gives 0, never NaN.
 *
 * <p>Accuracy: every sum over pixels accumulates in float64 ({@link #wideSum}), whatever the graph's type, and the
 * loss is rounded to the graph's type once, at the end. A float32 sum over the ~10⁵–10⁷ terms of a batch carries an
 * error that grows with the count (3.9e-6 on the fixture's normals loss, 270,771 terms, against the reference's own
 * 6e-8); the float64 sum keeps it at the final rounding. Where a per-pixel term is itself a short sum (the one
 * non-zero class of a one-hot row, three normal components), that is added in the graph's type first, so that only a
 * per-pixel array is widened.
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
    DataType dt = logits.dataType();
    SDVariable idx = sd.reshape(labels, -1).castTo(DataType.INT);
    // picked: log p of the true class, 0 where ignored (255); valid: 1 or 0 — the one-hot row sums, exact in any type
    SDVariable[] pick = PixelLogLikelihood.apply(sd, logits, idx, classes, dt); // [B*H*W] each
    SDVariable picked = pick[0];
    SDVariable valid = pick[1];
    return meanOver(sd, wideSum(sd, picked).neg(), wideSum(sd, valid), dt);
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
    SDVariable positives = wideSum(sd, y);
    SDVariable negatives = wideSum(sd, notY);
    SDVariable total = positives.add(negatives);
    SDVariable w = negatives.div(total);
    SDVariable pos = wideSum(sd, y.mul(l));
    SDVariable neg = wideSum(sd, notY.mul(l));
    return narrow(w.mul(pos).add(w.rsub(1.0).mul(neg)).div(total), dt);
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
    SDVariable perPixel = sd.sum(sd.math.abs(unit.sub(target)).mul(mask), 1); // [B, H, W], three terms each
    SDVariable validPerPixel = sd.sum(mask, 1); // 0 or 3, exact
    return meanOver(sd, wideSum(sd, perPixel), wideSum(sd, validPerPixel), dt);
  }

  /**
   * The sum of all elements of {@code x}, accumulated in float64: a float64 scalar whose error does not grow with the
   * element count the way a float32 accumulator's does.
   */
  static SDVariable wideSum(SameDiff sd, SDVariable x) {
    return sd.sum(x.dataType() == DataType.DOUBLE ? x : x.castTo(DataType.DOUBLE));
  }

  /** {@code sum / max(count, 1)} in float64, rounded once to {@code type}. */
  private static SDVariable meanOver(SameDiff sd, SDVariable sum, SDVariable count, DataType type) {
    SDVariable one = sd.constant(1.0).castTo(DataType.DOUBLE);
    return narrow(sum.div(sd.math.max(count, one)), type);
  }

  private static SDVariable narrow(SDVariable v, DataType type) {
    return v.dataType() == type ? v : v.castTo(type);
  }
}
