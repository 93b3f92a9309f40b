package org.mtlora.metrics;

import com.google.common.base.Preconditions;

/**
 * Surface-normal mean angular error (the paper's "Normals" column): over every valid pixel of the evaluation set
 * (ground truth not 255), the angle in degrees between the L2-normalised prediction and the ground truth, {@code
 * acos(clamp(p . g, -1, 1))}; the mean is the sum of angles over the number of valid pixels of the whole set.
 */
public final class NormalsMeter {
  private double angleSum;
  private long valid;

  /**
   * Adds pixels given channel-planar arrays: {@code x[0..n)}, {@code y[n..2n)}, {@code z[2n..3n)}.
   *
   * @param prediction raw predicted vectors (normalised here)
   * @param groundTruth unit vectors, 255 in the first channel where ignored
   */
  public void add(float[] prediction, float[] groundTruth) {
    Preconditions.checkArgument(prediction.length == groundTruth.length && prediction.length % 3 == 0,
        "prediction (%s values) and ground truth (%s) must be equal, 3 channels", prediction.length,
        groundTruth.length);
    int n = prediction.length / 3;
    for (int i = 0; i < n; i++) {
      if (groundTruth[i] == 255f) {
        continue;
      }
      double px = prediction[i];
      double py = prediction[n + i];
      double pz = prediction[2 * n + i];
      double norm = Math.max(Math.sqrt(px * px + py * py + pz * pz), 1e-12);
      double dot = (px * groundTruth[i] + py * groundTruth[n + i] + pz * groundTruth[2 * n + i]) / norm;
      angleSum += Math.toDegrees(Math.acos(Math.max(-1, Math.min(1, dot))));
      valid++;
    }
  }

  /** Mean angular error in degrees. */
  public double meanAngle() {
    Preconditions.checkState(valid > 0, "no valid pixel added");
    return angleSum / valid;
  }

  /** Number of valid pixels seen. */
  public long validPixels() {
    return valid;
  }
}
