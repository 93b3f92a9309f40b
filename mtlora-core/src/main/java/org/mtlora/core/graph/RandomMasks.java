package org.mtlora.core.graph;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The Bernoulli keep-masks of a training graph (dropout and drop path), fed as placeholders.
 *
 * <p>SameDiff's own dropout ops have no working backward pass, and in-graph random ops would make a run depend on
 * hidden native RNG state. Instead every stochastic site declares a mask placeholder here, and the training engine
 * fills all of them for each step from {@code (seed, step)} alone ({@link #sample}): a resumed run draws exactly the
 * masks it would have drawn without the interruption.
 *
 * <p>A mask placeholder has shape {@code [B * rowsPerSample, rowShape...]}: activations are held as rows (for
 * example tokens {@code [B*L, C]}, {@code rowsPerSample = L}). {@link Kind#ELEMENT} masks draw every element
 * independently (dropout); {@link Kind#SAMPLE} masks draw one value per sample, repeated over its rows (drop path).
 * A kept element has the value {@code 1 / keepProb} and a dropped one 0, so that applying a mask is one product
 * (inverted dropout's rescaling is already in the mask).
 */
public final class RandomMasks {
  /** How mask elements are drawn. */
  public enum Kind {
    /** Every element independently (dropout). */
    ELEMENT,
    /** One draw per sample, shared by all its rows (drop path / stochastic depth). */
    SAMPLE
  }

  /**
   * One mask placeholder.
   *
   * @param name placeholder name
   * @param kind how elements are drawn
   * @param rowsPerSample rows of the activation per batch sample
   * @param rowShape shape of one row
   * @param keepProb probability that an element is kept (mask value 1)
   */
  public record Spec(String name, Kind kind, long rowsPerSample, long[] rowShape, double keepProb) {
    /** The placeholder's shape for a batch of {@code batch} samples. */
    public long[] shape(int batch) {
      long[] s = new long[rowShape.length + 1];
      s[0] = batch * rowsPerSample;
      System.arraycopy(rowShape, 0, s, 1, rowShape.length);
      return s;
    }
  }

  private final List<Spec> specs = new ArrayList<>();

  /**
   * Declares a mask and returns its placeholder ({@code [-1, rowShape...]}). A name already declared gets a suffix
   * {@code #1}, {@code #2}, ... : a module applied several times (a shared layer on several task streams) draws an
   * independent mask on every application, as PyTorch does.
   */
  public SDVariable placeholder(SameDiff sd, String name, DataType type, Kind kind, long rowsPerSample,
      long[] rowShape, double keepProb) {
    Preconditions.checkArgument(keepProb > 0 && keepProb <= 1, "%s: keep probability must be in (0, 1], found %s",
        name, keepProb);
    Preconditions.checkArgument(rowsPerSample > 0, "%s: rowsPerSample must be positive, found %s", name,
        rowsPerSample);
    String unique = name;
    for (int k = 1; sd.hasVariable(unique); k++) {
      unique = name + "#" + k;
    }
    name = unique;
    specs.add(new Spec(name, kind, rowsPerSample, rowShape.clone(), keepProb));
    long[] shape = new long[rowShape.length + 1];
    shape[0] = -1;
    System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
    return sd.placeHolder(name, type, shape);
  }

  /** The declared masks, in declaration order. */
  public ImmutableList<Spec> specs() {
    return ImmutableList.copyOf(specs);
  }

  /**
   * Draws every mask for one step. The values depend only on {@code (seed, step)} and the declaration order, never
   * on earlier calls.
   */
  public Map<String, INDArray> sample(int batch, long seed, long step, DataType type) {
    return sample(batch, seed, step, type, Map.of());
  }

  /**
   * As {@link #sample(int, long, long, DataType)} (the same values), written into the arrays of {@code reuse} — an
   * earlier result of these masks whose values nothing reads any more — where one has the mask's name, shape and type
   * float32 (the others are new arrays). A training loop that draws every step this way keeps one set of mask buffers:
   * a fresh set is ~40 M floats per Swin-T 448 step at batch 1, new pages to fault in, and native memory that the
   * garbage collector frees only in a full collection, since the masks live through the whole step.
   */
  public Map<String, INDArray> sample(int batch, long seed, long step, DataType type, Map<String, INDArray> reuse) {
    Preconditions.checkNotNull(reuse, "reuse");
    // One generator per mask, seeded by (seed, step, index): the masks are independent, so they are drawn in
    // parallel (~40 M elements per step for Swin-T 448 at batch 1) with the values a sequential draw gives.
    INDArray[] masks = new INDArray[specs.size()];
    IntStream.range(0, specs.size()).parallel().forEach(i -> {
      Spec s = specs.get(i);
      masks[i] = draw(s, batch, mix(seed, step, i), type, reuse.get(s.name()));
    });
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (int i = 0; i < masks.length; i++) {
      out.put(specs.get(i).name(), masks[i]);
    }
    return out;
  }

  /**
   * One mask of {@code spec} for {@code batch} samples from {@code new SplittableRandom(seed)}, in {@code old} where
   * it fits.
   */
  private static INDArray draw(Spec s, int batch, long seed, DataType type, INDArray old) {
    SplittableRandom rng = new SplittableRandom(seed);
    long[] shape = s.shape(batch);
    int n = Math.toIntExact(Arrays.stream(shape).reduce(1, (a, b) -> a * b));
    double kept = 1.0 / s.keepProb();
    if (type == DataType.FLOAT) {
      // written straight into the native array: no Java-heap copy, no double-to-float cast (same values)
      boolean reusable = old != null && VectorKernels.wholeFloatBuffer(old) && Arrays.equals(old.shape(), shape);
      INDArray mask = reusable ? old : Nd4j.createUninitialized(DataType.FLOAT, shape);
      float keptF = (float) kept;
      if (s.kind() == Kind.ELEMENT) {
        // the decisions are rng's, computed eight at a time where the CPU can and copied in bulk (BernoulliDraws)
        ByteBuffer bytes = mask.data().asNio().order(ByteOrder.nativeOrder());
        int chunk = 1 << 16;
        long[] pairs = new long[Math.min(n, chunk) / 2];
        long threshold = BernoulliDraws.threshold(s.keepProb());
        for (int start = 0; start < n; start += chunk) {
          int len = Math.min(chunk, n - start);
          ByteBuffer part = bytes.slice(4 * start, 4 * len).order(ByteOrder.nativeOrder());
          BernoulliDraws.fill(seed, start, threshold, keptF, part, len, pairs);
        }
      } else {
        FloatBuffer v = mask.data().asNioFloat();
        int perSample = n / batch;
        for (int b = 0; b < batch; b++) {
          float value = rng.nextDouble() < s.keepProb() ? keptF : 0f;
          for (int j = b * perSample; j < (b + 1) * perSample; j++) {
            v.put(j, value);
          }
        }
      }
      return mask;
    }
    double[] v = new double[n];
    if (s.kind() == Kind.ELEMENT) {
      for (int j = 0; j < v.length; j++) {
        v[j] = rng.nextDouble() < s.keepProb() ? kept : 0;
      }
    } else {
      int perSample = v.length / batch;
      for (int b = 0; b < batch; b++) {
        Arrays.fill(v, b * perSample, (b + 1) * perSample, rng.nextDouble() < s.keepProb() ? kept : 0);
      }
    }
    return Nd4j.createFromArray(v).reshape(shape).castTo(type);
  }

  /**
   * Masks that keep every element (value {@code 1 / keepProb}): a deterministic training graph, e.g. for parity
   * checks (with probability 0 no mask exists at all).
   */
  public Map<String, INDArray> keepAll(int batch, DataType type) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (Spec s : specs) {
      out.put(s.name(), Nd4j.valueArrayOf(s.shape(batch), 1.0 / s.keepProb(), type));
    }
    return out;
  }

  /**
   * The mask seed of data-parallel worker {@code rank}: {@code seed} itself for rank 0 (one worker draws the masks of a
   * single-machine run), an independent stream for every other rank. Masks thus depend on {@code (seed, step, rank)}
   * only, never on which machine or task attempt draws them.
   */
  public static long shardSeed(long seed, int rank) {
    Preconditions.checkArgument(rank >= 0, "rank must be >= 0, found %s", rank);
    return rank == 0 ? seed : mix(seed, -1 - rank, 0x5EED);
  }

  private static long mix(long seed, long step, long index) {
    long z = seed * 0x9E3779B97F4A7C15L + step;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L + index;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
