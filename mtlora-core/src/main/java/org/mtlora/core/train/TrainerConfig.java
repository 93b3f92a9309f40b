package org.mtlora.core.train;

import com.google.common.base.Preconditions;
import java.nio.file.Path;

/**
 * Settings of a training run. Immutable; {@link #builder(LrSchedule)} with the reference's defaults: AdamW (0.9,
 * 0.999, 1e-8, weight decay 0.05), gradient clipping at global norm 5, seed 0, no checkpoints.
 */
public final class TrainerConfig {
  private final LrSchedule schedule;
  private final double beta1;
  private final double beta2;
  private final double eps;
  private final double weightDecay;
  private final double clipNorm;
  private final long seed;
  private final Path checkpointDir;
  private final long checkpointEvery;
  private final int keepLast;
  private final String modelDescription;

  private TrainerConfig(Builder b) {
    this.schedule = b.schedule;
    this.beta1 = b.beta1;
    this.beta2 = b.beta2;
    this.eps = b.eps;
    this.weightDecay = b.weightDecay;
    this.clipNorm = b.clipNorm;
    this.seed = b.seed;
    this.checkpointDir = b.checkpointDir;
    this.checkpointEvery = b.checkpointEvery;
    this.keepLast = b.keepLast;
    this.modelDescription = b.modelDescription;
  }

  /** A builder for a run of {@code schedule.totalSteps()} steps. */
  public static Builder builder(LrSchedule schedule) {
    return new Builder(schedule);
  }

  public LrSchedule schedule() {
    return schedule;
  }

  public long totalSteps() {
    return schedule.totalSteps();
  }

  /** A fresh optimiser with these settings. */
  public AdamW newOptimizer() {
    return new AdamW(beta1, beta2, eps, weightDecay);
  }

  /** Global-norm clipping threshold; 0 disables clipping. */
  public double clipNorm() {
    return clipNorm;
  }

  /** Seed of every random mask (dropout, drop path). */
  public long seed() {
    return seed;
  }

  /** Folder for checkpoints, or null for none. */
  public Path checkpointDir() {
    return checkpointDir;
  }

  public long checkpointEvery() {
    return checkpointEvery;
  }

  public int keepLast() {
    return keepLast;
  }

  /** A JSON description of the model, stored in checkpoints and adapter files. */
  public String modelDescription() {
    return modelDescription;
  }

  /** Builder; see {@link TrainerConfig} for the defaults. */
  public static final class Builder {
    private final LrSchedule schedule;
    private double beta1 = 0.9;
    private double beta2 = 0.999;
    private double eps = 1e-8;
    private double weightDecay = 0.05;
    private double clipNorm = 5.0;
    private long seed;
    private Path checkpointDir;
    private long checkpointEvery = 1000;
    private int keepLast = 3;
    private String modelDescription = "{}";

    private Builder(LrSchedule schedule) {
      this.schedule = Preconditions.checkNotNull(schedule, "schedule");
    }

    public Builder adamW(double beta1, double beta2, double eps, double weightDecay) {
      this.beta1 = beta1;
      this.beta2 = beta2;
      this.eps = eps;
      this.weightDecay = weightDecay;
      return this;
    }

    /** Global gradient-norm threshold (default 5.0); 0 disables clipping. */
    public Builder clipNorm(double v) {
      this.clipNorm = v;
      return this;
    }

    public Builder seed(long v) {
      this.seed = v;
      return this;
    }

    /** Writes a checkpoint every {@code every} steps and at the end into {@code dir}, keeping the last {@code keep}. */
    public Builder checkpoints(Path dir, long every, int keep) {
      this.checkpointDir = dir;
      this.checkpointEvery = every;
      this.keepLast = keep;
      return this;
    }

    /** A JSON object describing the model (stored with checkpoints and adapters). */
    public Builder modelDescription(String json) {
      this.modelDescription = Preconditions.checkNotNull(json, "json");
      return this;
    }

    public TrainerConfig build() {
      Preconditions.checkArgument(clipNorm >= 0, "clipNorm must be >= 0, found %s", clipNorm);
      Preconditions.checkArgument(checkpointEvery > 0, "checkpointEvery must be positive, found %s", checkpointEvery);
      Preconditions.checkArgument(keepLast > 0, "keepLast must be positive, found %s", keepLast);
      new AdamW(beta1, beta2, eps, weightDecay); // validates the optimiser settings
      return new TrainerConfig(this);
    }
  }
}
