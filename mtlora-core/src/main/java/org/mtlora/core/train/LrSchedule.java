package org.mtlora.core.train;

import com.google.common.base.Preconditions;

/**
 * Linear warmup then cosine decay, per iteration (timm's {@code CosineLRScheduler} with {@code t_in_epochs=False},
 * {@code warmup_prefix=True}; reference-spec §5):
 *
 * <pre>
 *   lr(t) = warmupLr + t (peakLr - warmupLr) / warmupSteps                      t &lt; warmupSteps
 *   lr(t) = minLr + (peakLr - minLr) (1 + cos(pi (t - warmupSteps) / (totalSteps - warmupSteps))) / 2   otherwise
 * </pre>
 *
 * The reference updates the scheduler after each step, so the step at global iteration k trains with {@code
 * lr(max(k - 1, 0))}: {@link #forIteration}.
 */
public record LrSchedule(double peakLr, double warmupLr, double minLr, long warmupSteps, long totalSteps) {
  public LrSchedule {
    Preconditions.checkArgument(peakLr > 0, "peakLr must be positive, found %s", peakLr);
    Preconditions.checkArgument(warmupLr >= 0 && minLr >= 0, "warmupLr and minLr must be >= 0");
    Preconditions.checkArgument(warmupSteps >= 0 && totalSteps > warmupSteps,
        "need 0 <= warmupSteps < totalSteps, found %s and %s", warmupSteps, totalSteps);
  }

  /** The reference's recipe scaled linearly by {@code batch / 512}: base 5e-4, warmup 5e-7, min 5e-6. */
  public static LrSchedule reference(int batch, long warmupSteps, long totalSteps) {
    double scale = batch / 512.0;
    return new LrSchedule(5e-4 * scale, 5e-7 * scale, 5e-6 * scale, warmupSteps, totalSteps);
  }

  /** The schedule's value at scheduler time {@code t}. */
  public double lrAt(long t) {
    if (t < warmupSteps) {
      return warmupLr + t * (peakLr - warmupLr) / warmupSteps;
    }
    double progress = (double) (t - warmupSteps) / (totalSteps - warmupSteps);
    return minLr + 0.5 * (peakLr - minLr) * (1 + Math.cos(Math.PI * Math.min(progress, 1.0)));
  }

  /** The learning rate the step at global iteration {@code k} (from 0) trains with: {@code lr(max(k - 1, 0))}. */
  public double forIteration(long k) {
    return lrAt(Math.max(k - 1, 0));
  }
}
