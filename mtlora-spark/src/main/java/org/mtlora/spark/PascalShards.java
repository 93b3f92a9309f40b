package org.mtlora.spark;

import com.google.common.base.Preconditions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.mtlora.core.train.ShardedBatchSource;
import org.mtlora.data.NormalsValidClasses;
import org.mtlora.data.PascalBatches;
import org.mtlora.data.PascalContextDataset;

/**
 * The training split of a PASCAL-Context folder that every executor can read (shared storage, or the same copy on
 * each machine), batched as {@link PascalBatches} with the global batch size: the shards of one step together are
 * the single-machine batch of that step.
 *
 * @param root the PASCAL_MT folder, as a path every executor can open
 * @param normalsValidClasses the label-map classes whose normals count ({@link NormalsValidClasses#ids()})
 * @param imageSize the model's input side
 * @param globalBatch samples per step over all workers
 * @param seed the data order's and transforms' seed
 */
public record PascalShards(String root, List<Integer> normalsValidClasses, int imageSize, int globalBatch, long seed)
    implements ShardData {
  private static final long serialVersionUID = 1L;

  public PascalShards {
    Preconditions.checkNotNull(root, "root");
    normalsValidClasses = List.copyOf(normalsValidClasses);
    Preconditions.checkArgument(imageSize > 0 && globalBatch > 0, "image size %s and batch %s must be positive",
        imageSize, globalBatch);
  }

  /** The training split at {@code root}, as {@link PascalBatches} reads it on one machine. */
  public static PascalShards of(Path root, NormalsValidClasses normals, int imageSize, int globalBatch, long seed) {
    return new PascalShards(root.toAbsolutePath().toString(), List.copyOf(normals.ids()), imageSize, globalBatch,
        seed);
  }

  @Override
  public ShardedBatchSource open() throws IOException {
    PascalContextDataset train = new PascalContextDataset(Path.of(root), "train",
        NormalsValidClasses.of(normalsValidClasses));
    return new PascalBatches(train, imageSize, globalBatch, seed, true);
  }
}
