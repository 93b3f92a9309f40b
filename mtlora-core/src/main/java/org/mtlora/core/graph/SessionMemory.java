package org.mtlora.core.graph;

import com.google.common.base.Preconditions;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.InferenceSession;

/**
 * Releases what SameDiff 1.0.0-M2.1 keeps between runs. Its per-thread sessions (of the graph and of its gradient
 * function) hold the last run's arrays, and off-heap memory is only freed when Java's garbage collector finalises the
 * array objects, which a small heap rarely triggers. Without this, resident memory grows by a whole step's
 * activations every step (224x224 Swin-T: 5.4 → 9.8 → 14.3 → 18.7 GB) and steps slow down threefold
 * (docs/performance.md). Call {@link #release} between steps.
 *
 * <p>A session keeps the arrays it releases in an array cache, to hand them out again; SameDiff's own cache serves only
 * an output of the same shape and is bounded only by a quarter of javacpp's {@code maxbytes} (4 GiB under {@code
 * ./mtlora}). In a Swin forward most shapes occur in one stage only, so that cache fills with arrays that are never
 * reused: at 448x448 it held 1.09 GiB at its peak against 0.61 GiB of live arrays. {@link #boundCache} gives the next
 * run a session with a {@link BufferCache} instead: bounded, and reusing a released buffer for any array of the same
 * length. Gradient functions release nothing under SameDiff's own {@code calculateGradients};
 * {@link Gradients#calculate} runs them with the release on, so the bound applies to them too.
 */
public final class SessionMemory {
  /** The array cache of a session {@link #ensureSession} gives: as SameDiff's own, bounded by memory alone. */
  private static final long UNBOUNDED_CACHE_BYTES = Long.MAX_VALUE;

  private SessionMemory() {}

  /** Drops the sessions of {@code sd} and of its gradient function, then runs the garbage collector. */
  public static void release(SameDiff sd) {
    clear(sd);
    System.gc();
  }

  /**
   * Gives the calling thread a fresh session of {@code sd}, and of its gradient function when it has one, whose array
   * cache ({@link BufferCache}) holds at most {@code maxCacheBytes} of released arrays (beyond that, released arrays
   * are closed). The session is a {@link KernelSession}: float erfc and exp run on {@link VectorKernels} where this JVM
   * can. Call it before {@code sd.output} or {@link Gradients#calculate} (which runs in the gradient function's
   * session, so the function must exist already: {@link Gradients#prepare}); {@link #release} after the run drops the
   * sessions again.
   */
  public static void boundCache(SameDiff sd, long maxCacheBytes) {
    boundCache(sd, maxCacheBytes, null);
  }

  /**
   * As {@link #boundCache(SameDiff, long)}, the cache's new float buffers taken from {@code arena} (none: {@code
   * null}). Before the arena is {@linkplain Arena#reset reset}, copy out what the run returned ({@link Arena#escape})
   * and drop the sessions ({@link #release} or {@link #clear}).
   */
  public static void boundCache(SameDiff sd, long maxCacheBytes, Arena arena) {
    Preconditions.checkArgument(maxCacheBytes >= 0, "maxCacheBytes must be >= 0, got %s", maxCacheBytes);
    newSession(sd, maxCacheBytes, arena);
    SameDiff grad = sd.getFunction("grad");
    if (grad != null) {
      newSession(grad, maxCacheBytes, arena);
    }
  }

  /**
   * Gives the calling thread this project's session of {@code sd}, and of its gradient function when it has one, where
   * it has another (SameDiff's stock one, or none yet); a session it has already is kept, with its arrays. A graph
   * holding ops computed in Java ({@link JavaOp}) runs only under this project's session: call this before {@code
   * sd.output} where {@link #boundCache}, {@link ForwardRunner} or {@link Gradients#calculate} do not run it.
   */
  public static void ensureSession(SameDiff sd) {
    ensureOne(sd);
    SameDiff grad = sd.getFunction("grad");
    if (grad != null) {
      ensureOne(grad);
    }
  }

  private static void ensureOne(SameDiff sd) {
    if (!(sd.getSessions().get(Thread.currentThread().getId()) instanceof KernelSession)) {
      newSession(sd, UNBOUNDED_CACHE_BYTES, null);
    }
  }

  private static void newSession(SameDiff sd, long maxCacheBytes, Arena arena) {
    InferenceSession session = new KernelSession(sd);
    session.setMmgr(new BufferCache(maxCacheBytes, arena));
    sd.getSessions().put(Thread.currentThread().getId(), session);
  }

  /**
   * Drops the sessions of {@code sd} and of its gradient function, leaving the collection to a later call. The buffers
   * a {@link BufferCache} kept are freed at once.
   */
  public static void clear(SameDiff sd) {
    drop(sd);
    SameDiff grad = sd.getFunction("grad");
    if (grad != null) {
      drop(grad);
    }
  }

  private static void drop(SameDiff sd) {
    for (InferenceSession session : sd.getSessions().values()) {
      if (session.getMmgr() instanceof BufferCache cache) {
        cache.close();
      }
    }
    sd.getSessions().clear();
  }
}
