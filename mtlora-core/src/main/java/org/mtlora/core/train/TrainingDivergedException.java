package org.mtlora.core.train;

/** A loss became NaN or infinite; the message names the step and the task, and the last good checkpoint. */
public final class TrainingDivergedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  TrainingDivergedException(String message) {
    super(message);
  }
}
