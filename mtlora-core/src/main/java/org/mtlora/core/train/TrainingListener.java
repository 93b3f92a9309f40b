package org.mtlora.core.train;

import java.nio.file.Path;

/** Observes a training run. Implementations must not modify the model; exceptions stop the run. */
public interface TrainingListener {
  /** Before the first step ({@code startStep > 0} when resuming). */
  default void onStart(long startStep, long totalSteps) {}

  /** After every step. */
  void onStep(StepResult result);

  /** After a checkpoint was written. */
  default void onCheckpoint(long step, Path file) {}

  /** After the last step, or when the run stops on an error. */
  default void onEnd() {}
}
