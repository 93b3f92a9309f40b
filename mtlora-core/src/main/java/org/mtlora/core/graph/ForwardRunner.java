package org.mtlora.core.graph;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runs a graph forward, again and again: what an evaluation loop or a predictor does, and a training loop with each
 * step's gradient function (a graph whose forward computes the gradients; {@link Gradients#calculate(SameDiff,
 * ForwardRunner, long, Arena, Map, java.util.Collection, java.util.Collection)}). The first run goes through the
 * session every run of this project uses ({@link KernelSession}, its memory from an {@link Arena} through a {@link
 * BufferCache}) and records its ops; a later run whose placeholders, constants and variables have the same shapes,
 * strides, orders and data types, asking for the same outputs, replays them ({@link ReplayPlan}): the same ops with the
 * same arguments, kernels and memory, in the same order, so the same bits, without SameDiff's per-op bookkeeping.
 * Anything else runs through the session as before: the first run of other shapes or outputs (recorded too; the last
 * {@value #MAX_PLANS} plans are kept), a graph with listeners (they see every op), a graph whose ops do not replay
 * exactly, and every run when {@code -Dmtlora.replay=false} ({@link #REPLAY_PROPERTY}).
 *
 * <p>{@link #output} returns arrays of the caller's (copied out of the runner's arena, which keeps the memory of its
 * largest run from one call to the next, until {@link #forget} or the runner is collected); {@link #outputInArena}
 * leaves them in the caller's arena. One run at a time: concurrent callers wait.
 */
public final class ForwardRunner {
  /** System property that turns replaying off ({@code -Dmtlora.replay=false}); read at each run. */
  public static final String REPLAY_PROPERTY = "mtlora.replay";

  /**
   * Plans kept, most recently used last: an evaluation loop alternates the batch size and the last, smaller batch
   * of a data set.
   */
  static final int MAX_PLANS = 4;

  private final SameDiff sd;
  /** Recorded plans, least recently used first; at most {@link #MAX_PLANS}. */
  private final List<ReplayPlan> plans = new ArrayList<>();
  /** Replays every plan (fusions keep one run's state, found once per graph); null until a plan is recorded. */
  private KernelSession session;
  /**
   * Where {@link #output}'s runs take their new arrays from: kept from one call to the next and reset after each, so
   * that a replay is handed the blocks of the last one and keeps its array objects ({@link ReplayPlan#run}); null until
   * the first call and after {@link #forget}.
   */
  private Arena arena;
  /** The plan that ran or was recorded in the last run, or null when it went through the session alone. */
  private ReplayPlan last;
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
    if (arena == null) {
      arena = new Arena(); // new buffers without zero-filling; the outputs copied out before each reset
    }
    try {
      if (!enabled() || !sd.getListeners().isEmpty()) {
        last = null;
        SessionMemory.boundCache(sd, maxCacheBytes, arena);
        try {
          return arena.escapeAll(sd.output(placeholders, names));
        } finally {
          SessionMemory.release(sd);
        }
      }
      BufferCache memory = new BufferCache(maxCacheBytes, arena);
      try {
        return arena.escapeAll(replayOrRecord(placeholders, names, memory));
      } finally {
        memory.close();
        // what SessionMemory#release does: off-heap memory outside the arena — the copies earlier calls returned, once
        // their callers drop them — is freed on collection (without it, 25 MB more per 448 forward until one)
        System.gc();
      }
    } finally {
      arena.reset();
    }
  }

  /**
   * As {@link #output(Map, List, long)}, the run's new arrays taken from {@code arena}, which the caller owns: copy
   * out what the result holds before resetting it ({@link Arena#escape}), and collect garbage as between any runs
   * ({@link SessionMemory#release}). Returns null, having run nothing, where a run goes through SameDiff's session
   * (replaying off, listeners): run it there.
   */
  public synchronized Map<String, INDArray> outputInArena(Map<String, INDArray> placeholders, List<String> outputs,
      long maxCacheBytes, Arena arena) {
    Preconditions.checkArgument(maxCacheBytes >= 0, "maxCacheBytes must be >= 0, got %s", maxCacheBytes);
    Preconditions.checkNotNull(arena, "arena");
    if (!enabled() || !sd.getListeners().isEmpty()) {
      last = null;
      return null;
    }
    BufferCache memory = new BufferCache(maxCacheBytes, arena);
    try {
      return replayOrRecord(placeholders, List.copyOf(outputs), memory);
    } finally {
      memory.close();
    }
  }

  /** Replays the plan that matches, or runs through a recording session and keeps its plan. */
  private Map<String, INDArray> replayOrRecord(Map<String, INDArray> placeholders, List<String> names,
      BufferCache memory) {
    for (ReplayPlan plan : plans) {
      if (plan.matches(names, placeholders)) {
        plans.remove(plan);
        plans.add(plan);
        last = plan;
        replays++;
        return plan.run(session, memory, placeholders);
      }
    }
    KernelSession recorder = new KernelSession(sd);
    recorder.setMmgr(memory);
    KernelSession.Recording recorded = recorder.record(names, placeholders);
    last = recorded.plan();
    if (last != null) {
      // the replays ask for other buffers in another order: without this the recorded run's pages that they do not
      // reuse would stay resident beside theirs (the union of both layouts, +60-300 MB at 448)
      Arena runArena = memory.arena(); // this run's: output()'s own or outputInArena()'s
      if (runArena != null) {
        runArena.discardPagesAtReset();
      }
      plans.add(last);
      if (plans.size() > MAX_PLANS) {
        plans.remove(0).close();
      }
      if (session == null) {
        session = new KernelSession(sd);
      }
    }
    return recorded.outputs();
  }

  /**
   * Whether a run like the last one (arrays of the same shapes and data types, the same outputs) is replayed:
   * false when its ops could not be planned, or replaying is off.
   */
  public synchronized boolean replays() {
    return last != null && enabled();
  }

  /** The graph this runner runs. */
  public SameDiff graph() {
    return sd;
  }

  /** How many runs were replayed so far. */
  public synchronized long replayedRuns() {
    return replays;
  }

  /** Ops the last run's plan executes (0 without one). */
  synchronized int plannedOps() {
    return last == null ? 0 : last.size();
  }

  /** Steps of the last run's plan that compute a group of ops in one pass (0 without one). */
  synchronized int fusedGroups() {
    return last == null ? 0 : last.fusedGroups();
  }

  /** Steps of the last run's plan that follow from shapes alone and run in its first replay only (0 without one). */
  synchronized int stepsRunOnce() {
    return last == null ? 0 : last.stepsRunOnce();
  }

  /** Reshapes the last run's plan makes without a copy (0 without one). */
  synchronized int sharedReshapes() {
    return last == null ? 0 : last.sharedReshapes();
  }

  /** Bytes of native memory {@link #output}'s arena keeps between calls (0 before the first and after forget). */
  synchronized long keptBytes() {
    return arena == null ? 0 : arena.reservedBytes();
  }

  /**
   * Drops the recorded plans and their native op contexts, and frees the memory {@link #output}'s runs keep between
   * calls; the next runs record again.
   */
  public synchronized void forget() {
    plans.forEach(ReplayPlan::close);
    plans.clear();
    last = null;
    if (arena != null) {
      arena.close();
      arena = null;
    }
  }

  /** Whether runners replay recorded runs: unless {@code -Dmtlora.replay=false} ({@link #REPLAY_PROPERTY}). */
  public static boolean enabled() {
    return !"false".equalsIgnoreCase(System.getProperty(REPLAY_PROPERTY, "true"));
  }
}
