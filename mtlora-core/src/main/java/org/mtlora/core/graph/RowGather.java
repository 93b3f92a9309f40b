package org.mtlora.core.graph;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The {@code gather} along one axis with a vector of indices that {@link KernelSession} makes on the JVM when each
 * output run — the axes after the gathered one — is a contiguous copy of one input run: the Swin blocks' cyclic shift
 * and window partition as one row reordering of {@code [B, L, C]} tokens, and its reverse ({@code
 * org.mtlora.core.nn.RowPermutation} forward and backward, the stock {@code gather} in evaluation graphs). libnd4j
 * 1.0.0-M2.1 copies such a gather at the memory's speed when the axes before the gathered one are all of length 1 (a
 * batch of one), and 6-7 times slower per float otherwise: {@code [2, 12544, 96]} along axis 1 took 4.0-4.3 ms per call
 * in a replayed 448/b2 training step, against 0.62 ms for {@code [1, 12544, 96]} at b1. Here each run is one bulk copy
 * between the native buffers.
 *
 * <pre>
 *   out[o, l, i] = in[o, index[l], i]     o over the axes before, l over the indices, i over the axes after
 * </pre>
 *
 * <p>A copy gives the same bits whoever makes it. Arrays must be whole float buffers in C order, the indices a whole
 * int or long vector with every index in range, runs at least {@value #MIN_RUN} floats long and the output of the
 * gathered shape; anything else stays with libnd4j (which also reports an index out of range). Outputs of at least
 * {@value #PARALLEL_MIN} floats are split over the common fork-join pool.
 */
final class RowGather {
  /** Shortest run worth a bulk copy. */
  static final int MIN_RUN = 8;
  private static final int PARALLEL_MIN = 1 << 15;

  private RowGather() {}

  /**
   * Writes {@code in} gathered along the axis in {@code axisArguments} (its one integer argument; negative counts from
   * the end) at {@code indices} into {@code out} and returns true, or returns false without touching either when the
   * kernel does not take them (see the class comment).
   */
  static boolean tryGather(INDArray in, INDArray indices, List<Long> axisArguments, INDArray out) {
    int rank = in.rank();
    if (axisArguments.size() != 1 || rank < 2 || in.length() > Integer.MAX_VALUE
        || !VectorKernels.wholeFloatBuffer(in) || !VectorKernels.wholeFloatBuffer(out) || indices.length() == 0
        || !(VectorKernels.wholeVector(indices, DataType.INT) || VectorKernels.wholeVector(indices, DataType.LONG))) {
      return false;
    }
    int axis = (int) (long) axisArguments.get(0);
    axis = axis < 0 ? axis + rank : axis;
    if (axis < 0 || axis >= rank) {
      return false;
    }
    long[] gathered = in.shape().clone();
    gathered[axis] = indices.length();
    long run = 1;
    for (int a = axis + 1; a < rank; a++) {
      run *= in.size(a);
    }
    if (!Arrays.equals(out.shape(), gathered) || run < MIN_RUN) {
      return false;
    }
    int axisLength = (int) in.size(axis);
    int[] index = indices.toIntVector();
    for (int i : index) {
      if (i < 0 || i >= axisLength) {
        return false;
      }
    }
    int runs = (int) (out.length() / run);
    copyRuns(in.data().asNioFloat(), out.data().asNioFloat(), (int) run, axisLength, index, runs);
    return true;
  }

  /**
   * Output run {@code r = o · n + l} ({@code n} indices) from input run {@code o · axisLength + index[l]}, each {@code
   * run} floats.
   */
  static void copyRuns(FloatBuffer src, FloatBuffer dst, int run, int axisLength, int[] index, int runs) {
    int n = index.length;
    VectorKernels.inParts(runs, (long) runs * run, PARALLEL_MIN, (first, end) -> {
      for (int r = first; r < end; r++) {
        int from = (r / n * axisLength + index[r % n]) * run;
        dst.put(r * run, src, from, run);
      }
    });
  }
}
