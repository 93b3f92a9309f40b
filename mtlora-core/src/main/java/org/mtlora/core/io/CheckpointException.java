package org.mtlora.core.io;

import java.io.IOException;

/** A checkpoint that does not fit the model: missing or unexpected tensors, or shapes that differ. */
public final class CheckpointException extends IOException {
  private static final long serialVersionUID = 1L;

  public CheckpointException(String message) {
    super(message);
  }
}
