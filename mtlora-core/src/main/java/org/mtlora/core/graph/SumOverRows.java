package org.mtlora.core.graph;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The float {@code reduce_sum} over the rows of a row-major matrix {@code x [M, C]}, {@code out[c] = Σ_m x[m, c]},
 * that {@link KernelSession} computes on the JVM: in training graphs, the gradient of a per-channel factor ({@code
 * BroadcastProduct}'s {@code Σ dy ⊙ x}: the HRNet heads' batch-norm scales on pixel rows). libnd4j 1.0.0-M2.1 takes
 * 3.3-4.3 ms for it on the heads' {@code [3136, 1080]}, eight times one pass over those 13.5 MB (0.5 ms here). Not
 * to be confused with {@code org.mtlora.core.nn.ColumnSums}, the graph's bias gradients as a product {@code 1ᵀ dy}.
 *
 * <p>Rows are read in place from native memory, vector lanes along the columns. The rows are cut into blocks of
 * {@value #BLOCK_ROWS}, each summed in float, and the blocks' sums added in double and rounded to float once: the
 * error is that of a float sum of {@value #BLOCK_ROWS} terms at most, not of all rows (a float sum of 262,144 equal
 * terms drifts by more than ten times as much), and the bits are not libnd4j's ({@code SumOverRowsTest}); the blocks
 * are added in the same order whatever the number of threads, so results are deterministic. Arrays must be whole float
 * buffers in C order of at least {@value #MIN_ELEMENTS} elements; anything else stays with libnd4j.
 */
final class SumOverRows {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  private static final ByteOrder ORDER = ByteOrder.nativeOrder();
  /** Rows summed in float before their sum is added, in double, to the total. */
  static final int BLOCK_ROWS = 256;
  /** Columns one task sums at a time: 16 KB of partial sums, in the first-level cache. */
  private static final int BLOCK_COLUMNS = 4096;
  /** Smaller matrices stay with libnd4j: the kernel's set-up outweighs the pass. */
  static final int MIN_ELEMENTS = 1 << 14;
  private static final int PARALLEL_MIN = 1 << 15;

  private SumOverRows() {}

  /**
   * Writes the sums of the rank-2 {@code x} over its first axis into {@code out} (one value per column, any rank) and
   * returns true, or returns false without touching either when {@code axes} is not {@code {0}}, the arrays are not
   * whole float buffers in C order, or {@code x} has fewer than {@value #MIN_ELEMENTS} elements.
   */
  static boolean trySum(INDArray x, int[] axes, INDArray out) {
    if (x.rank() != 2 || axes == null || axes.length != 1 || axes[0] != 0 || out.length() != x.size(1)
        || x.length() < MIN_ELEMENTS || x.length() > Integer.MAX_VALUE / 4
        || !VectorKernels.wholeFloatBuffer(x) || !VectorKernels.wholeFloatBuffer(out)) {
      return false;
    }
    sums(VectorKernels.nativeBytes(x), VectorKernels.nativeBytes(out), (int) x.size(0), (int) x.size(1));
    return true;
  }

  /**
   * {@code out[c] = Σ_r x[r, c]} for {@code c < columns}, over {@code rows} rows of {@code x} (native floats in this
   * machine's order). The rows are cut into blocks of {@value #BLOCK_ROWS} and the columns into blocks of {@value
   * #BLOCK_COLUMNS}; each pair is one task, which reads its rows' column segments in order into float sums (a Java
   * array in the first-level cache), and the blocks' sums are then added in double in row order — the same order
   * whatever the number of threads.
   */
  static void sums(ByteBuffer x, ByteBuffer out, int rows, int columns) {
    int rowBlocks = (rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
    int columnBlocks = (columns + BLOCK_COLUMNS - 1) / BLOCK_COLUMNS;
    float[] partial = new float[rowBlocks * columns]; // the sums of each block of rows, one row of them per block
    VectorKernels.inParts(rowBlocks * columnBlocks, (long) rows * columns, PARALLEL_MIN, (first, end) -> {
      int lanes = SPECIES.length();
      for (int task = first; task < end; task++) {
        int rowBlock = task / columnBlocks;
        int c0 = (task % columnBlocks) * BLOCK_COLUMNS;
        int n = Math.min(BLOCK_COLUMNS, columns - c0);
        int at = rowBlock * columns + c0;
        for (int r = rowBlock * BLOCK_ROWS; r < Math.min(rows, (rowBlock + 1) * BLOCK_ROWS); r++) {
          int offset = 4 * (r * columns + c0);
          int j = 0;
          for (; j + lanes <= n; j += lanes) {
            FloatVector.fromArray(SPECIES, partial, at + j)
                .add(FloatVector.fromByteBuffer(SPECIES, x, offset + 4 * j, ORDER)).intoArray(partial, at + j);
          }
          for (; j < n; j++) {
            partial[at + j] += x.getFloat(offset + 4 * j);
          }
        }
      }
    });
    for (int c = 0; c < columns; c++) {
      double total = 0;
      for (int b = 0; b < rowBlocks; b++) {
        total += partial[b * columns + c];
      }
      out.putFloat(4 * c, (float) total);
    }
  }

  /**
   * Runs {@link #sums} on small arrays until the JIT compiler has compiled it, at most {@code maxNanos}, as {@link
   * VectorKernels#warmUp} does for the other kernels (until compiled, the vector API runs 500-1000 times slower).
   * Returns the nanoseconds it took.
   */
  static long warmUp(long maxNanos) {
    long start = System.nanoTime();
    int rows = 300;
    int columns = 517;
    ByteBuffer x = ByteBuffer.allocateDirect(4 * rows * columns).order(ORDER);
    ByteBuffer out = ByteBuffer.allocateDirect(4 * columns).order(ORDER);
    for (int i = 0; i < rows * columns; i++) {
      x.putFloat(4 * i, (i % 13) - 6f);
    }
    for (int i = 0; i < 3_000 && System.nanoTime() - start < maxNanos; i++) {
      sums(x, out, 2, 2 * SPECIES.length() + 3);
    }
    while (System.nanoTime() - start < maxNanos) {
      long t0 = System.nanoTime();
      sums(x, out, rows, columns);
      if (System.nanoTime() - t0 < 20L * rows * columns) { // compiled: about a nanosecond per element
        break;
      }
    }
    return System.nanoTime() - start;
  }
}
