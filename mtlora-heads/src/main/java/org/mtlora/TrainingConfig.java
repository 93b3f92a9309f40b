package org.mtlora;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.mtlora.core.train.LrSchedule;
import org.mtlora.core.train.TrainingListener;
import org.mtlora.heads.ActivationCheckpointing;

/**
 * How {@link MtLoraModel#fit} trains: the number of steps, the learning-rate schedule, the seed, activation
 * checkpointing, and optionally a run folder (checkpoints, {@code log.csv}, {@code loss.png}, the adapters at the
 * end) with resume. The optimiser is the reference's AdamW (weight decay 0.05 except biases and 1-D tensors) with
 * gradient clipping at norm 5.
 *
 * <p>Immutable; from {@link #builder(long)}.
 */
public final class TrainingConfig {
  private final long steps;
  private final LrSchedule schedule;
  private final long seed;
  private final ActivationCheckpointing checkpointing;
  private final Path runDir;
  private final long checkpointEvery;
  private final boolean resume;
  private final boolean progress;
  private final ImmutableList<TrainingListener> listeners;

  private TrainingConfig(Builder b) {
    this.steps = b.steps;
    this.schedule = b.schedule != null ? b.schedule
        : new LrSchedule(b.learningRate, b.learningRate / 100, b.learningRate / 1000, b.steps / 10,
            b.steps);
    this.seed = b.seed;
    this.checkpointing = b.checkpointing;
    this.runDir = b.runDir;
    this.checkpointEvery = b.checkpointEvery > 0 ? b.checkpointEvery : Math.max(1, b.steps / 4);
    this.resume = b.resume;
    this.progress = b.progress;
    this.listeners = ImmutableList.copyOf(b.listeners);
  }

  /** A builder for a run of {@code steps} optimiser steps. */
  public static Builder builder(long steps) {
    return new Builder(steps);
  }

  public long steps() {
    return steps;
  }

  /** The learning rate per step. */
  public LrSchedule schedule() {
    return schedule;
  }

  /** Seeds dropout and drop-path masks (and nothing else: data order is the batch source's). */
  public long seed() {
    return seed;
  }

  public ActivationCheckpointing activationCheckpointing() {
    return checkpointing;
  }

  /** The run folder, if any. */
  public Optional<Path> runDir() {
    return Optional.ofNullable(runDir);
  }

  /** Steps between checkpoints (with a run folder). */
  public long checkpointEvery() {
    return checkpointEvery;
  }

  /** Whether to continue from the run folder's newest checkpoint. */
  public boolean resume() {
    return resume;
  }

  /** Whether to print a progress bar. */
  public boolean progress() {
    return progress;
  }

  /** Extra listeners (called after the built-in ones). */
  public ImmutableList<TrainingListener> listeners() {
    return listeners;
  }

  /** What must not change between a run and its resumption, for the run folder's {@code run.json}. */
  String describe() {
    return String.format(java.util.Locale.ROOT, "{\"steps\":%d,\"seed\":%d,\"schedule\":\"%s\"}", steps, seed,
        schedule);
  }

  /**
   * Builds a {@link TrainingConfig}. Defaults: learning rate 1e-3 with linear warmup from 1e-5 over a tenth of the
   * steps, then cosine to 1e-6 (or {@link #schedule}); seed 0; automatic activation checkpointing; no run folder;
   * checkpoints every quarter of the run; a progress bar.
   */
  public static final class Builder {
    private final long steps;
    private double learningRate = 1e-3;
    private LrSchedule schedule;
    private long seed;
    private ActivationCheckpointing checkpointing = ActivationCheckpointing.AUTO;
    private Path runDir;
    private long checkpointEvery;
    private boolean resume;
    private boolean progress = true;
    private final List<TrainingListener> listeners = new ArrayList<>();

    private Builder(long steps) {
      Preconditions.checkArgument(steps >= 1, "steps must be >= 1, found %s", steps);
      this.steps = steps;
    }

    /** Peak learning rate of the default schedule (warmup from a hundredth, cosine to a thousandth). */
    public Builder learningRate(double peak) {
      Preconditions.checkArgument(peak > 0 && Double.isFinite(peak), "learning rate must be > 0, found %s", peak);
      this.learningRate = peak;
      return this;
    }

    /** A schedule of its own (its total steps must equal {@link #builder(long)}'s). */
    public Builder schedule(LrSchedule schedule) {
      Preconditions.checkArgument(schedule.totalSteps() == steps, "the schedule has %s steps but the run %s",
          schedule.totalSteps(), steps);
      this.schedule = schedule;
      return this;
    }

    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * Recompute backbone activations in the backward (default AUTO: NONE, the fastest, when its estimated peak fits
     * this process's memory for the first batch's size, else STAGE, else BLOCK, which needs the least;
     * docs/fine-tuning.md#activation-checkpointing).
     */
    public Builder activationCheckpointing(ActivationCheckpointing mode) {
      this.checkpointing = Preconditions.checkNotNull(mode, "mode");
      return this;
    }

    /**
     * A run folder: checkpoints, {@code log.csv}, {@code loss.png}, {@code run.json} and, at the end, the adapters
     * in {@code adapters/}. A folder that already holds a run is refused unless {@link #resume} is set.
     */
    public Builder runDir(Path dir) {
      this.runDir = Preconditions.checkNotNull(dir, "dir");
      return this;
    }

    /** Steps between checkpoints (default a quarter of the run). */
    public Builder checkpointEvery(long every) {
      Preconditions.checkArgument(every >= 1, "checkpointEvery must be >= 1, found %s", every);
      this.checkpointEvery = every;
      return this;
    }

    /** Continue from the run folder's newest checkpoint, if there is one (needs {@link #runDir}). */
    public Builder resume(boolean resume) {
      this.resume = resume;
      return this;
    }

    /** Print a progress bar (default true). */
    public Builder progress(boolean progress) {
      this.progress = progress;
      return this;
    }

    /** Adds a listener of every step. */
    public Builder listener(TrainingListener listener) {
      listeners.add(Preconditions.checkNotNull(listener, "listener"));
      return this;
    }

    public TrainingConfig build() {
      Preconditions.checkArgument(!resume || runDir != null, "resume needs a run folder (runDir)");
      return new TrainingConfig(this);
    }
  }
}
