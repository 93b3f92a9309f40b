package org.mtlora.core.graph;

import java.io.OutputStream;
import java.io.PrintStream;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Creates a graph's backward function without SameDiff's noise: 1.0.0-M2.1 prints one "Added differentiated op"
 * line to {@code System.out} for every op it differentiates (thousands for a Swin model). Call {@link #prepare} once
 * after building a training graph and before {@code calculateGradients} or {@code fit}.
 */
public final class Gradients {
  private Gradients() {}

  /** Builds {@code sd}'s gradient function with {@code System.out} muted for the duration. */
  public static void prepare(SameDiff sd) {
    synchronized (System.class) {
      PrintStream original = System.out;
      System.setOut(new PrintStream(OutputStream.nullOutputStream()));
      try {
        sd.createGradFunction();
      } finally {
        System.setOut(original);
      }
    }
  }
}
