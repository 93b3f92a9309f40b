package org.mtlora.spark;

import java.io.Serializable;

/**
 * What the driver broadcasts each step: the step, the masks' seed, the current trainable values (float32, registry
 * order) and buffers. The only per-step traffic to the workers.
 */
record StepInput(long step, long seed, float[] trainable, double[] buffers) implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Bytes of the arrays (the serialized broadcast adds a few hundred). */
  long payloadBytes() {
    return 4L * trainable.length + 8L * buffers.length;
  }
}
