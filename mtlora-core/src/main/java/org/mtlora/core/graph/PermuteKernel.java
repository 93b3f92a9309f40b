package org.mtlora.core.graph;

import java.nio.FloatBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The {@code permute} that {@link KernelSession} makes on the JVM when the last axis stays last — the window
 * attention's q, k, v split ({@code [B_, N, 3, nH, hd] → [3, B_, nH, N, hd]}). libnd4j 1.0.0-M2.1 copies a permuted
 * array one element at a time, computing each element's offset from its index (that split of a 448 stage-0 block:
 * 5-9 ms for 4.8 MB in the graph); here it is a sequence of runs of contiguous floats — the axes that stay in place at
 * the end — written in output order and read run by run (2.2 ms).
 *
 * <p>A copy gives the same bits whoever makes it. Arrays must be whole float buffers in C order and runs at
 * least {@value #MIN_RUN} and at most {@value #CHUNK} floats long; anything else stays with libnd4j. Outputs of at
 * least {@value #PARALLEL_MIN} floats are split over the common fork-join pool.
 */
final class PermuteKernel {
  /** Shortest run worth a bulk copy: shorter ones (a transpose of the last two axes) stay with libnd4j. */
  static final int MIN_RUN = 8;
  private static final int CHUNK = 8192;
  private static final int PARALLEL_MIN = 4 * CHUNK;

  private PermuteKernel() {}

  /**
   * Writes {@code in} permuted by {@code axes} into {@code out} and returns true, or returns false without touching
   * either when the kernel does not take them: not whole float buffers, {@code axes} not a permutation of the axes,
   * {@code out} not of the permuted shape, the identity, the last axis moved, or runs (the trailing axes kept in
   * place) outside {@value #MIN_RUN}-{@value #CHUNK} floats.
   */
  static boolean permute(INDArray in, long[] axes, INDArray out) {
    int rank = in.rank();
    if (axes.length != rank || rank < 2 || out.rank() != rank
        || !VectorKernels.wholeFloatBuffer(in) || !VectorKernels.wholeFloatBuffer(out)
        || in.length() != out.length() || in.length() > Integer.MAX_VALUE) {
      return false;
    }
    boolean[] seen = new boolean[rank];
    for (int i = 0; i < rank; i++) {
      int axis = (int) axes[i];
      if (axes[i] < 0 || axes[i] >= rank || seen[axis] || out.size(i) != in.size(axis)) {
        return false;
      }
      seen[axis] = true;
    }
    // the trailing axes that stay in place, in order, make one contiguous run
    int kept = 0;
    while (kept < rank && axes[rank - 1 - kept] == rank - 1 - kept) {
      kept++;
    }
    long run = 1;
    for (int i = rank - kept; i < rank; i++) {
      run *= in.size(i);
    }
    if (kept == rank || run < MIN_RUN || run > CHUNK) { // the identity, or runs too short or too long for the buffer
      return false;
    }
    long[] stride = in.stride();
    int outer = rank - kept;
    long[] shape = new long[outer];
    long[] from = new long[outer];
    for (int i = 0; i < outer; i++) {
      shape[i] = out.size(i);
      from[i] = stride[(int) axes[i]];
    }
    copyRuns(in.data().asNioFloat(), out.data().asNioFloat(), (int) run, shape, from);
    return true;
  }

  /**
   * Copies runs of {@code run} floats from {@code src} to {@code dst} in output order: the run whose index over {@code
   * shape} is {@code (i₀, i₁, …)} comes from {@code src} at offset {@code Σ iₐ·from[a]}.
   */
  private static void copyRuns(FloatBuffer src, FloatBuffer dst, int run, long[] shape, long[] from) {
    int runs = 1; // at most the array's length, an int
    for (long s : shape) {
      runs *= (int) s;
    }
    VectorKernels.inParts(runs, (long) runs * run, PARALLEL_MIN,
        (first, end) -> copyRange(src, dst, run, shape, from, first, end));
  }

  /** Runs {@code [first, end)}, gathered in a buffer of this task's own and written {@value #CHUNK} floats at once. */
  private static void copyRange(
      FloatBuffer src, FloatBuffer dst, int run, long[] shape, long[] from, int first, int end) {
    int outer = shape.length;
    long[] index = new long[outer];
    long rest = first;
    long offset = 0;
    for (int a = outer - 1; a >= 0; a--) {
      index[a] = rest % shape[a];
      rest /= shape[a];
      offset += index[a] * from[a];
    }
    float[] buffer = new float[CHUNK];
    int filled = 0;
    long written = (long) first * run;
    for (int r = first; r < end; r++) {
      if (filled + run > CHUNK) {
        dst.put((int) written, buffer, 0, filled);
        written += filled;
        filled = 0;
      }
      src.get((int) offset, buffer, filled, run);
      filled += run;
      for (int a = outer - 1; a >= 0; a--) { // the next index, the last axis fastest
        index[a]++;
        offset += from[a];
        if (index[a] < shape[a]) {
          break;
        }
        offset -= index[a] * from[a];
        index[a] = 0;
      }
    }
    if (filled > 0) {
      dst.put((int) written, buffer, 0, filled);
    }
  }
}
