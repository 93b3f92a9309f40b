package org.mtlora.core.graph;

import java.util.List;
import java.util.Set;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
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

  /**
   * The op that computes {@code variable} (its only output) when {@code variable} is read by the op {@code reader}
   * alone, without control dependencies — so a group may leave it unwritten; else null.
   */
  static SameDiffOp producerReadOnlyBy(SameDiff sd, String variable, String reader) {
    Variable v = sd.getVariables().get(variable);
    if (v == null || v.getOutputOfOp() == null || size(v.getInputsForOp()) == 0
        || !v.getInputsForOp().stream().allMatch(reader::equals) || size(v.getControlDepsForOp()) != 0
        || size(v.getControlDepsForVar()) != 0) {
      return null;
    }
    SameDiffOp producer = sd.getOps().get(v.getOutputOfOp());
    return producer == null || size(producer.getOutputsOfOp()) != 1 || size(producer.getControlDeps()) != 0
        ? null : producer;
  }

  /** The length of a list of names that SameDiff may leave null. */
  static int size(List<String> names) {
    return names == null ? 0 : names.size();
  }
}
