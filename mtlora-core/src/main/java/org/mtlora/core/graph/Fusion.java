package org.mtlora.core.graph;

import java.util.Set;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.linalg.api.ops.OpContext;

/**
 * Groups of a graph's ops that a {@link KernelSession} computes together, in fewer passes over memory than op by op,
 * with the same bits: {@link GeluFusion}, {@link LayerNormFusion}. A fusion finds its groups when the session is
 * created and keeps the state of one run; the graph itself keeps SameDiff's ops.
 */
abstract class Fusion {
  /** What the current run returns or hands to listeners: a group that would skip one of them runs op by op. */
  private Set<String> requested = Set.of();
  private int fused;

  /** Forgets the last run's state; {@code requested} is what the new run returns or hands to listeners. */
  final void startRun(Set<String> requested) {
    this.requested = requested;
    fused = 0;
    forgetRun();
  }

  /** How many groups the last run computed together. */
  final int fusedInLastRun() {
    return fused;
  }

  /** Whether the current run asks for any of {@code names}. */
  final boolean requested(Set<String> names) {
    return names.stream().anyMatch(requested::contains);
  }

  /** Counts a group computed together. */
  final void countFused() {
    fused++;
  }

  /** Drops what the last run kept. */
  abstract void forgetRun();

  /**
   * When {@code op} belongs to a group computed together in this run: computes its share (or nothing, when another op
   * of the group writes what it is read for) and returns true; otherwise returns false, leaving it to the session.
   */
  abstract boolean exec(DifferentialFunction op, OpContext context);

  /** The variables a fused run leaves unwritten (a run that asks for one computes that group op by op). */
  abstract Set<String> skippable();
}
