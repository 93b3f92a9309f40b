package org.mtlora.core.graph;

import com.google.common.base.Preconditions;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runs a graph forward, again and again: what an evaluation loop or a predictor does. The first run goes through the
 * session every run of this project uses ({@link KernelSession}, its memory from an {@link Arena} through a {@link
 * BufferCache}) and records its ops; a later run whose placeholders have the same shapes and data types, asking for the
 * same outputs, replays them ({@link ReplayPlan}): the same ops with the same arguments, kernels and memory, in the
 * same order, so the same bits, without SameDiff's per-op bookkeeping. Anything else runs through the session as
 * before: other shapes (recorded anew), a graph with listeners (they see every op), a graph whose ops do not replay
 * exactly, and every run when {@code -Dmtlora.replay=false} ({@link #REPLAY_PROPERTY}).
 *
 * <p>The returned arrays are the caller's (copied out of the run's arena). One run at a time: concurrent callers wait.
 */
public final class ForwardRunner {
  /** System property that turns replaying off ({@code -Dmtlora.replay=false}); read at each run. */
  public static final String REPLAY_PROPERTY = "mtlora.replay";

  private final SameDiff sd;
  /** The plan of the last recorded run, or null; replayed by {@link #session}. */
  private ReplayPlan plan;
  private KernelSession session;
  private long replays;

  /** A runner of {@code sd}'s forward pass. */
  public ForwardRunner(SameDiff sd) {
    this.sd = Preconditions.checkNotNull(sd, "sd");
  }

  /**
   * The arrays of {@code outputs} computed from {@code placeholders}, as {@code sd.output(placeholders, outputs)}
   * computes them.
   *
   * @param maxCacheBytes bound on the released arrays the run keeps for reuse ({@link SessionMemory#boundCache})
   */
  public synchronized Map<String, INDArray> output(Map<String, INDArray> placeholders, List<String> outputs,
      long maxCacheBytes) {
    Preconditions.checkArgument(maxCacheBytes >= 0, "maxCacheBytes must be >= 0, got %s", maxCacheBytes);
    List<String> names = List.copyOf(outputs);
    try (Arena arena = new Arena()) { // new buffers without zero-filling; the outputs copied out before it closes
      if (!replaying() || !sd.getListeners().isEmpty()) {
        SessionMemory.boundCache(sd, maxCacheBytes, arena);
        try {
          return arena.escapeAll(sd.output(placeholders, names));
        } finally {
          SessionMemory.release(sd);
        }
      }
      BufferCache memory = new BufferCache(maxCacheBytes, arena);
      try {
        if (plan != null && plan.matches(names, placeholders)) {
          replays++;
          return arena.escapeAll(plan.run(session, memory, placeholders));
        }
        KernelSession recorder = new KernelSession(sd);
        recorder.setMmgr(memory);
        ReplayPlan[] recorded = new ReplayPlan[1];
        Map<String, INDArray> out = arena.escapeAll(recorder.record(names, placeholders, recorded));
        forget();
        plan = recorded[0];
        session = plan == null ? null : new KernelSession(sd);
        return out;
      } finally {
        memory.close();
        System.gc(); // what SessionMemory#release does: off-heap memory outside the arena is freed on collection
      }
    }
  }

  /** Whether runs with the shapes of the last recorded one are replayed (false: every run goes through SameDiff). */
  public synchronized boolean replays() {
    return plan != null && replaying();
  }

  /** How many runs were replayed so far. */
  public synchronized long replayedRuns() {
    return replays;
  }

  /** Ops a replayed run executes (0 without a plan). */
  synchronized int plannedOps() {
    return plan == null ? 0 : plan.size();
  }

  /** Reshapes a replayed run makes without a copy (0 without a plan). */
  synchronized int sharedReshapes() {
    return plan == null ? 0 : plan.sharedReshapes();
  }

  /** Drops the recorded plan and its native op contexts; the next run records again. */
  public synchronized void forget() {
    if (plan != null) {
      plan.close();
    }
    plan = null;
    session = null;
  }

  private static boolean replaying() {
    return !"false".equalsIgnoreCase(System.getProperty(REPLAY_PROPERTY, "true"));
  }
}
