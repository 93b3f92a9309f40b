package org.mtlora.core.graph;

import java.nio.FloatBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The float {@code reduce_mean} over the last axis that {@link KernelSession} computes on the JVM: the two means of
 * every {@code LayerNorm} of an evaluation graph (rows of 96 to 1536 floats). libnd4j 1.0.0-M2.1 takes 0.16-0.53 ms for
 * such a mean over 0.6-4.8 MB, well below the memory's speed; here each row is summed in vector lanes, the lanes then
 * added, and the sum divided by the row's length.
 *
 * <p>The sum's order differs from libnd4j's, so the two differ by float rounding ({@code RowMeansTest}); each row is
 * summed by one thread in a fixed order, so results are deterministic. Arrays must be whole float buffers in their own
 * order, rows {@value #MIN_WIDTH} to {@value #CHUNK} floats long; anything else stays with libnd4j. Inputs of at least
 * {@value #PARALLEL_MIN} floats are split over the common fork-join pool.
 */
final class RowMeans {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  /** Shortest row the kernel takes: shorter ones stay with libnd4j. */
  static final int MIN_WIDTH = 16;
  private static final int CHUNK = 8192;
  private static final int PARALLEL_MIN = 4 * CHUNK;

  private RowMeans() {}

  /**
   * Writes the means of {@code in} over {@code axis} into {@code out} and returns true, or returns false without
   * touching either when the kernel does not take them: {@code axis} not the last, not whole float buffers, {@code out}
   * not of one value per row, or rows outside {@value #MIN_WIDTH}-{@value #CHUNK} floats.
   */
  static boolean tryApply(INDArray in, int axis, INDArray out) {
    int rank = in.rank();
    if (rank == 0 || (axis != rank - 1 && axis != -1)
        || !VectorKernels.wholeFloatBuffer(in) || !VectorKernels.wholeFloatBuffer(out)
        || in.length() > Integer.MAX_VALUE) {
      return false;
    }
    long width = in.size(rank - 1);
    if (width < MIN_WIDTH || width > CHUNK || out.length() * width != in.length()) {
      return false;
    }
    means(in.data().asNioFloat(), out.data().asNioFloat(), (int) out.length(), (int) width);
    return true;
  }

  /** {@code dst[r] = mean(src[r·width .. (r+1)·width))} for {@code r < rows}. */
  static void means(FloatBuffer src, FloatBuffer dst, int rows, int width) {
    VectorKernels.inParts(rows, (long) rows * width, PARALLEL_MIN, (first, end) -> range(src, dst, width, first, end));
  }

  /** Rows {@code [first, end)}, read {@value #CHUNK} floats at a time into an array of this task's own. */
  private static void range(FloatBuffer src, FloatBuffer dst, int width, int first, int end) {
    int perChunk = CHUNK / width;
    float[] values = new float[perChunk * width];
    float[] means = new float[perChunk];
    for (int row = first; row < end; row += perChunk) {
      int count = Math.min(perChunk, end - row);
      src.get(row * width, values, 0, count * width);
      for (int r = 0; r < count; r++) {
        means[r] = mean(values, r * width, width);
      }
      dst.put(row, means, 0, count);
    }
  }

  /**
   * The mean of {@code values[start .. start + width)}: summed in vector lanes, the lanes then added, the scalar tail
   * last — the order every mean of this kernel uses (and {@link LayerNormFusion}'s variances), so equal rows give
   * equal bits.
   */
  static float mean(float[] values, int start, int width) {
    int lanes = SPECIES.length();
    FloatVector sum = FloatVector.zero(SPECIES);
    int i = 0;
    for (; i + lanes <= width; i += lanes) {
      sum = sum.add(FloatVector.fromArray(SPECIES, values, start + i));
    }
    float total = sum.reduceLanes(VectorOperators.ADD);
    for (; i < width; i++) {
      total += values[start + i];
    }
    return total / width;
  }
}
