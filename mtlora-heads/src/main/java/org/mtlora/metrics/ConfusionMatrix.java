package org.mtlora.metrics;

import com.google.common.base.Preconditions;

/**
 * Accumulates a {@code K x K} confusion matrix over a whole evaluation set, ignoring pixels whose ground truth is 255,
 * and derives per-class IoU {@code TP / max(TP + FP + FN, 1e-8)} and their mean over all K classes (a class absent
 * from both prediction and ground truth counts as 0, as in the reference).
 */
public final class ConfusionMatrix {
  /** Ground-truth value of ignored pixels. */
  public static final int IGNORE = 255;

  private final int classes;
  private final long[][] counts; // [gt][pred]

  public ConfusionMatrix(int classes) {
    Preconditions.checkArgument(classes > 0, "classes must be positive, found %s", classes);
    this.classes = classes;
    this.counts = new long[classes][classes];
  }

  /** Adds one prediction map and its ground truth (same length; predicted classes in [0, K)). */
  public void add(int[] predicted, int[] groundTruth) {
    Preconditions.checkArgument(predicted.length == groundTruth.length,
        "prediction has %s pixels but the ground truth %s", predicted.length, groundTruth.length);
    for (int i = 0; i < predicted.length; i++) {
      int g = groundTruth[i];
      if (g == IGNORE) {
        continue;
      }
      Preconditions.checkArgument(g >= 0 && g < classes, "ground truth %s at pixel %s is outside [0, %s) and not 255",
          g, i, classes);
      int p = predicted[i];
      Preconditions.checkArgument(p >= 0 && p < classes, "prediction %s at pixel %s is outside [0, %s)", p, i,
          classes);
      counts[g][p]++;
    }
  }

  /** IoU of class {@code c}. */
  public double iou(int c) {
    long tp = counts[c][c];
    long fn = 0;
    long fp = 0;
    for (int k = 0; k < classes; k++) {
      if (k != c) {
        fn += counts[c][k];
        fp += counts[k][c];
      }
    }
    return tp / Math.max((double) (tp + fp + fn), 1e-8);
  }

  /** Mean IoU over all classes, in [0, 1]. */
  public double meanIou() {
    double sum = 0;
    for (int c = 0; c < classes; c++) {
      sum += iou(c);
    }
    return sum / classes;
  }

  /** Count of pixels with ground truth {@code gt} predicted as {@code pred}. */
  public long count(int gt, int pred) {
    return counts[gt][pred];
  }
}
