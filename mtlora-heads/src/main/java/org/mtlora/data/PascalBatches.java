package org.mtlora.data;

import com.google.common.base.Preconditions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.mtlora.core.train.BatchSource;
import org.mtlora.core.train.ShardedBatchSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Batches of a {@link PascalContextDataset} at a fixed size, as the model's placeholders ({@code input}, {@code
 * target/semseg}, {@code target/human_parts}, {@code target/sal}, {@code target/normals}).
 *
 * <p>Training batches are a function of the step: epoch {@code e} visits the samples in an order shuffled from
 * {@code (seed, e)}, dropping the last partial batch as the reference's loader does, and each sample gets the
 * reference's training transforms drawn from {@code (seed, step, slot)} (flip with probability 0.5, rotation U(-20,
 * 20) degrees and scale U(0.75, 1.25), fixed resize); so a resumed run sees exactly the same batches. Decoded samples
 * are cached in memory after first use (the whole of PASCAL-Context at its original size needs a few GB).
 *
 * <p>For data-parallel training ({@link #shard}) the batch size is the global one: worker {@code r} of {@code n}
 * takes slots {@code [r * batch / n, (r + 1) * batch / n)} of the same batch, with the same transforms, so the shards
 * of a step together are exactly the single-machine batch of that step.
 */
public final class PascalBatches implements BatchSource, ShardedBatchSource {
  private final PascalContextDataset data;
  private final int size;
  private final int batch;
  private final long seed;
  private final boolean train;
  private final List<PascalSample> cache;
  private final List<PascalSample> resized;

  /**
   * @param size output side (the model's image size)
   * @param train shuffle and flip (training) or keep order (evaluation)
   */
  public PascalBatches(PascalContextDataset data, int size, int batch, long seed, boolean train) {
    Preconditions.checkArgument(batch > 0 && (!train || batch <= data.size()),
        "batch %s must be positive and at most the %s training samples", batch, data.size());
    this.data = data;
    this.size = size;
    this.batch = batch;
    this.seed = seed;
    this.train = train;
    this.cache = new ArrayList<>(java.util.Collections.nCopies(data.size(), null));
    this.resized = new ArrayList<>(java.util.Collections.nCopies(data.size(), null));
  }

  /** Full batches per epoch (training). */
  public int stepsPerEpoch() {
    return data.size() / batch;
  }

  /** Number of evaluation batches (the last may be partial). */
  public int evaluationBatches() {
    return (data.size() + batch - 1) / batch;
  }

  @Override
  public Map<String, INDArray> batch(long step) {
    return train ? slots(step, 0, batch) : evaluationBatch(step);
  }

  /**
   * Worker {@code rank}'s shard of training step {@code step}: slots {@code [rank * batch / workers, (rank + 1) *
   * batch / workers)} of {@link #batch}.
   *
   * @throws IllegalArgumentException for evaluation batches, or when {@code workers} does not divide the batch
   */
  @Override
  public Map<String, INDArray> shard(long step, int rank, int workers) {
    Preconditions.checkArgument(train, "evaluation batches are not sharded");
    Preconditions.checkArgument(workers >= 1 && batch % workers == 0, "the batch of %s samples does not split evenly "
        + "over %s workers", batch, workers);
    Preconditions.checkArgument(rank >= 0 && rank < workers, "rank %s of %s workers", rank, workers);
    int per = batch / workers;
    return slots(step, rank * per, (rank + 1) * per);
  }

  /** Slots {@code [from, to)} of training step {@code step}'s batch. */
  private Map<String, INDArray> slots(long step, int from, int to) {
    long epoch = step / stepsPerEpoch();
    int[] order = shuffled(data.size(), new SplittableRandom(seed * 1_000_003L + epoch));
    int start = (int) (step % stepsPerEpoch()) * batch;
    List<PascalSample> samples = new ArrayList<>();
    for (int slot = from; slot < to; slot++) {
      // the reference's training transforms, drawn from (seed, step, slot): flip, scale and rotate, fixed resize
      SplittableRandom r = new SplittableRandom(seed ^ (step * 31 + slot) * 0x9E3779B97F4A7C15L);
      PascalSample s = original(order[start + slot]);
      if (r.nextBoolean()) {
        s = Transforms.flipHorizontal(s);
      }
      double rot = -20 + 40 * r.nextDouble();
      double scale = 0.75 + 0.5 * r.nextDouble();
      samples.add(Transforms.resize(Transforms.scaleAndRotate(s, rot, scale), size));
    }
    return tensors(samples, size);
  }

  private Map<String, INDArray> evaluationBatch(long step) {
    int start = (int) step * batch;
    List<PascalSample> samples = new ArrayList<>();
    for (int i = start; i < Math.min(start + batch, data.size()); i++) {
      samples.add(sample(i));
    }
    return tensors(samples, size);
  }

  /** Evaluation sample {@code i}: decoded and resized to the model size (cached). */
  public synchronized PascalSample sample(int i) {
    PascalSample s = resized.get(i);
    if (s == null) {
      s = Transforms.resize(original(i), size);
      resized.set(i, s);
    }
    return s;
  }

  /** Sample {@code i} at its original resolution (cached). */
  private synchronized PascalSample original(int i) {
    PascalSample s = cache.get(i);
    if (s == null) {
      try {
        s = data.read(i);
      } catch (IOException e) {
        throw new UncheckedIOException(e.getMessage(), e);
      }
      cache.set(i, s);
    }
    return s;
  }

  /** Stacks samples into the model's placeholders. */
  public static Map<String, INDArray> tensors(List<PascalSample> samples, int size) {
    int b = samples.size();
    int n = size * size;
    float[] img = new float[b * 3 * n];
    float[] semseg = new float[b * n];
    float[] parts = new float[b * n];
    float[] sal = new float[b * n];
    float[] normals = new float[b * 3 * n];
    for (int k = 0; k < b; k++) {
      PascalSample s = samples.get(k);
      System.arraycopy(Transforms.normaliseImage(s.image()), 0, img, k * 3 * n, 3 * n);
      System.arraycopy(s.normals(), 0, normals, k * 3 * n, 3 * n);
      for (int i = 0; i < n; i++) {
        semseg[k * n + i] = s.semseg()[i];
        parts[k * n + i] = s.parts()[i];
        sal[k * n + i] = s.sal()[i];
      }
    }
    Map<String, INDArray> out = new HashMap<>();
    out.put("input", Nd4j.createFromArray(img).reshape(b, 3, size, size));
    out.put("target/semseg", Nd4j.createFromArray(semseg).reshape(b, 1, size, size));
    out.put("target/human_parts", Nd4j.createFromArray(parts).reshape(b, 1, size, size));
    out.put("target/sal", Nd4j.createFromArray(sal).reshape(b, 1, size, size));
    out.put("target/normals", Nd4j.createFromArray(normals).reshape(b, 3, size, size));
    return out;
  }

  private static int[] shuffled(int n, SplittableRandom r) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}
