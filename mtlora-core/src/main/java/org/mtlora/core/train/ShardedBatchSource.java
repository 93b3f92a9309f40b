package org.mtlora.core.train;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Training data for data-parallel workers: the batch of step {@code k} is split into {@code workers} equal shards,
 * and worker {@code rank} reads only its own. Like a {@link BatchSource}, a pure function of its arguments, so a
 * retried task or a resumed run reads exactly the same samples. With one worker the shard is the whole batch.
 */
@FunctionalInterface
public interface ShardedBatchSource {
  /** The placeholders of worker {@code rank}'s shard of the batch at global step {@code step}. */
  Map<String, INDArray> shard(long step, int rank, int workers);

  /**
   * Shards of any {@link BatchSource}: worker {@code rank} takes rows {@code [rank * B / workers, (rank + 1) * B /
   * workers)} of every placeholder of {@code source.batch(step)} (each worker reads the whole batch; a data set that
   * can read one shard alone should implement this interface itself).
   */
  static ShardedBatchSource split(BatchSource source) {
    com.google.common.base.Preconditions.checkNotNull(source, "source");
    return (step, rank, workers) -> {
      Map<String, INDArray> batch = source.batch(step);
      Map<String, INDArray> shard = new java.util.HashMap<>();
      batch.forEach((name, a) -> {
        long b = a.size(0);
        com.google.common.base.Preconditions.checkArgument(b % workers == 0, "%s: a batch of %s does not split "
            + "evenly over %s workers", name, b, workers);
        long per = b / workers;
        shard.put(name, a.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(rank * per, (rank + 1) * per)).dup());
      });
      return shard;
    };
  }
}
