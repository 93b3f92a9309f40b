package org.mtlora.spark;

import java.io.IOException;
import java.io.Serializable;
import org.mtlora.core.train.ShardedBatchSource;

/**
 * How an executor opens the training data: a serializable recipe (paths on shared storage, sizes, seeds) that every
 * executor turns into the same {@link ShardedBatchSource}. {@link PascalShards} opens a PASCAL-Context folder.
 */
@FunctionalInterface
public interface ShardData extends Serializable {
  /** Opens the data (once per worker; the source may cache decoded samples). */
  ShardedBatchSource open() throws IOException;
}
