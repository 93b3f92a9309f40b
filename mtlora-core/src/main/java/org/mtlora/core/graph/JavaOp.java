package org.mtlora.core.graph;

import org.nd4j.linalg.api.ops.OpContext;

/**
 * An op of this project that libnd4j has no kernel for: it computes its outputs in Java, from its context's inputs
 * into the outputs the session allocated (with JVM kernels where they take the arrays, else with ND4J's array ops, on
 * any backend). {@link KernelSession} — the session every run of this project gets ({@link SessionMemory}) — and its
 * replays call {@link #compute}; SameDiff's stock session cannot run such an op, so a graph holding one runs under
 * {@link SessionMemory#boundCache} (or {@link ForwardRunner}, {@link Gradients#calculate}).
 */
public interface JavaOp {
  /** Computes the op's outputs from its context's inputs into the context's (allocated) outputs. */
  void compute(OpContext context);
}
