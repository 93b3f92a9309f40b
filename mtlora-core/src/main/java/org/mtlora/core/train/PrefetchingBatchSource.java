package org.mtlora.core.train;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Prepares the next batches on background threads while the current step trains. Because batches are a function of
 * the step, prefetching changes nothing but time: {@code batch(k)} returns exactly what the wrapped source returns.
 * Close it to stop its threads.
 */
public final class PrefetchingBatchSource implements BatchSource, AutoCloseable {
  private final BatchSource source;
  private final int ahead;
  private final ExecutorService pool;
  private final Map<Long, Future<Map<String, INDArray>>> pending = new ConcurrentHashMap<>();

  /**
   * @param ahead how many future steps to prepare
   * @param threads background threads
   */
  public PrefetchingBatchSource(BatchSource source, int ahead, int threads) {
    this.source = source;
    this.ahead = ahead;
    this.pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "mtlora-prefetch");
      t.setDaemon(true);
      return t;
    });
  }

  @Override
  public Map<String, INDArray> batch(long step) {
    for (long k = step + 1; k <= step + ahead; k++) {
      final long s = k;
      pending.computeIfAbsent(s, x -> pool.submit(() -> source.batch(s)));
    }
    Future<Map<String, INDArray>> f = pending.remove(step);
    pending.keySet().removeIf(k -> k < step);
    if (f == null) {
      return source.batch(step);
    }
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while preparing the batch of step " + step, e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException("preparing the batch of step " + step + " failed: " + c.getMessage(), c);
    }
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
