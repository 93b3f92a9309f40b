package org.mtlora.spark;

import java.io.Serializable;

/**
 * Called on the executor before a worker computes its shard; for tests (injecting a failure) and instrumentation.
 * Throwing fails the Spark task, which Spark retries.
 */
@FunctionalInterface
public interface ShardHook extends Serializable {
  /** Does nothing. */
  ShardHook NONE = (step, rank, attempt) -> {};

  /**
   * @param step the global step
   * @param rank the worker
   * @param attempt Spark's attempt number of this task (0 the first time)
   */
  void beforeShard(long step, int rank, int attempt) throws Exception;
}
