package org.mtlora.spark;

import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.Success$;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * Counts what Spark reports of a run's tasks: the serialized bytes of the results sent to the driver (the gradient
 * shards), and tasks that ended in failure (and were retried). Spark delivers these events asynchronously.
 */
final class ExchangeListener extends SparkListener {
  private final AtomicLong resultBytes = new AtomicLong();
  private final AtomicLong succeeded = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();

  @Override
  public void onTaskEnd(SparkListenerTaskEnd end) {
    if (end.reason() == Success$.MODULE$) {
      succeeded.incrementAndGet();
      if (end.taskMetrics() != null) {
        resultBytes.addAndGet(end.taskMetrics().resultSize());
      }
    } else {
      failed.incrementAndGet();
    }
  }

  long resultBytes() {
    return resultBytes.get();
  }

  long succeededTasks() {
    return succeeded.get();
  }

  long failedTasks() {
    return failed.get();
  }
}
