package org.mtlora.core.graph;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The float {@code reduce_mean} over the last axis that {@link KernelSession} computes on the JVM: the two means of
 * every {@code LayerNorm} of an evaluation graph (rows of 96 to 1536 floats). libnd4j 1.0.0-M2.1 takes 0.16-0.53 ms for
 * such a mean over 0.6-4.8 MB, well below the memory's speed; here each row is read in place from native memory,
 * summed in vector lanes, the lanes then added, and the sum divided by the row's length.
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
  private static final ByteOrder ORDER = ByteOrder.nativeOrder();

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
    if (!takesWidth(width) || out.length() * width != in.length()) {
      return false;
    }
    means(VectorKernels.nativeBytes(in), out.data().asNioFloat(), (int) out.length(), (int) width);
    return true;
  }

  /** Whether the kernel takes rows of {@code width} floats ({@value #MIN_WIDTH} to {@value #CHUNK}). */
  static boolean takesWidth(long width) {
    return width >= MIN_WIDTH && width <= CHUNK;
  }

  /** {@code dst[r] = mean(src[r·width .. (r+1)·width))} for {@code r < rows}. */
  static void means(ByteBuffer src, FloatBuffer dst, int rows, int width) {
    VectorKernels.inParts(rows, (long) rows * width, PARALLEL_MIN, (first, end) -> {
      for (int row = first; row < end; row++) {
        dst.put(row, mean(src, 4 * row * width, width));
      }
    });
  }

  /**
   * The mean of the {@code width} floats from byte {@code start} of {@code bytes} (native memory, read in place —
   * {@link VectorKernels#nativeBytes}), summed in the order of {@link #mean(float[], int, int)}: the same bits.
   */
  static float mean(ByteBuffer bytes, int start, int width) {
    int lanes = SPECIES.length();
    FloatVector sum = FloatVector.zero(SPECIES);
    int i = 0;
    for (; i + lanes <= width; i += lanes) {
      sum = sum.add(FloatVector.fromByteBuffer(SPECIES, bytes, start + 4 * i, ORDER));
    }
    float total = sum.reduceLanes(VectorOperators.ADD);
    for (; i < width; i++) {
      total += bytes.getFloat(start + 4 * i);
    }
    return total / width;
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
