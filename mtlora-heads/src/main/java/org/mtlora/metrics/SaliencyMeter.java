package org.mtlora.metrics;

import com.google.common.base.Preconditions;

/**
 * Saliency metrics of the reference's {@code SaliencyMeter}: for each threshold {@code tau} of {@code linspace(0.2,
 * 0.9, 15)} on the predicted probability, per image the Jaccard index of {@code p > tau} with the ground truth (1
 * when both are empty), precision and recall (smoothed by 1e-12). Saliency mIoU = max over tau of the mean Jaccard
 * over images (the paper's metric); maxF = max over tau of {@code 2PR / (P + R)} of the mean precision and recall.
 */
public final class SaliencyMeter {
  private static final int STEPS = 15;
  private final double[] jaccard = new double[STEPS];
  private final double[] precision = new double[STEPS];
  private final double[] recall = new double[STEPS];
  private long images;

  /** The thresholds, {@code linspace(0.2, 0.9, 15)}. */
  public static double threshold(int i) {
    return 0.2 + i * (0.9 - 0.2) / (STEPS - 1);
  }

  /**
   * Adds one image.
   *
   * @param probability sigmoid of the logit per pixel
   * @param groundTruth 0 or 1 per pixel
   */
  public void add(float[] probability, int[] groundTruth) {
    Preconditions.checkArgument(probability.length == groundTruth.length,
        "prediction has %s pixels but the ground truth %s", probability.length, groundTruth.length);
    for (int t = 0; t < STEPS; t++) {
      double tau = threshold(t);
      long tp = 0;
      long predicted = 0;
      long positive = 0;
      for (int i = 0; i < probability.length; i++) {
        boolean p = probability[i] > tau;
        boolean g = groundTruth[i] == 1;
        if (p) {
          predicted++;
        }
        if (g) {
          positive++;
        }
        if (p && g) {
          tp++;
        }
      }
      long union = predicted + positive - tp;
      jaccard[t] += union == 0 ? 1.0 : (double) tp / union;
      precision[t] += tp / (predicted + 1e-12);
      recall[t] += tp / (positive + 1e-12);
    }
    images++;
  }

  /** Saliency mIoU in [0, 1]: max over thresholds of the mean per-image Jaccard. */
  public double meanIou() {
    Preconditions.checkState(images > 0, "no image added");
    double best = 0;
    for (double j : jaccard) {
      best = Math.max(best, j / images);
    }
    return best;
  }

  /** maxF in [0, 1]: max over thresholds of the F-measure (beta 1) of the mean precision and recall. */
  public double maxF() {
    Preconditions.checkState(images > 0, "no image added");
    double best = 0;
    for (int t = 0; t < STEPS; t++) {
      double p = precision[t] / images;
      double r = recall[t] / images;
      best = Math.max(best, p + r == 0 ? 0 : 2 * p * r / (p + r));
    }
    return best;
  }
}
