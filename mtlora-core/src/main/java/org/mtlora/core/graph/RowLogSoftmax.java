package org.mtlora.core.graph;

import java.nio.FloatBuffer;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The float log-softmax over the last axis, and its gradient, that {@link KernelSession} computes on the JVM: rows of
 * class scores, one per pixel, as a cross-entropy's composite holds them in a graph never differentiated (training
 * graphs' losses take {@link PixelLogLikelihoodKernel}, which computes these rows' bits on the scores where they lie).
 * When the training losses took this kernel, libnd4j 1.0.0-M2.1 took 38 and 29 ms for the 21-class pair at 448 ({@code
 * [200704, 21]}), 81 ms per 448 training step for both losses, and this kernel 27 ms (docs/performance.md, lever row
 * "Log-softmax on the JVM"). For each row of {@code x}:
 *
 * <pre>
 *   m = max_k x_k,   e_k = exp(x_k − m),   s = Σ_k e_k
 *   forward:    y_k  = (x_k − m) − ln s
 *   backward:   dx_k = dy_k − (e_k / s) · Σ_j dy_j          (from x and dy, as libnd4j's log_softmax_bp)
 * </pre>
 *
 * The exponentials are {@link VectorExp}'s (vector lanes over a chunk of whole rows), {@code ln} is {@link Math#log}
 * rounded to float, and the row's sums are float sums in column order. libnd4j computes the forward as {@code ln(e_k /
 * s)}, which is {@code −∞} wherever {@code e_k} underflows (a score more than about 103 below its row's maximum) —
 * and the loss's one-hot product then gives {@code 0 · −∞ = NaN}; here such a value is finite, as PyTorch's {@code
 * log_softmax}, which computes {@code (x − m) − ln s} too. Elsewhere the two differ by float rounding ({@code
 * RowLogSoftmaxTest}); a NaN in a row makes that row NaN in both. Each row is computed by one thread in a fixed order,
 * so results are deterministic.
 *
 * <p>Arrays must be whole float buffers in C order of at least {@value #MIN_ELEMENTS} elements with rows of {@value
 * #MIN_WIDTH} to {@value #CHUNK} floats, and the op's axis the last; anything else stays with libnd4j.
 */
final class RowLogSoftmax {
  /** Smaller arrays stay with libnd4j: the kernel's set-up outweighs the work. */
  static final int MIN_ELEMENTS = 1 << 14;
  /** Shortest row the kernel takes. */
  static final int MIN_WIDTH = 2;
  /** Floats per chunk of whole rows, copied into Java arrays; also the widest row the kernel takes. */
  static final int CHUNK = 8192;
  private static final int PARALLEL_MIN = 4 * CHUNK;

  private RowLogSoftmax() {}

  /**
   * Writes the log-softmax of {@code x} over its last axis into {@code y} and returns true, or returns false without
   * touching either when the kernel does not take them (see the class comment). {@code axisArguments} are the op's
   * integer arguments: none, or the axis ({@code rank − 1} or {@code −1}).
   */
  static boolean tryForward(INDArray x, List<Long> axisArguments, INDArray y) {
    if (!takes(x, axisArguments) || !VectorKernels.accepts(x, y)) {
      return false;
    }
    VectorKernels.prepare();
    int width = (int) x.size(x.rank() - 1);
    forward(x.data().asNioFloat(), y.data().asNioFloat(), (int) (x.length() / width), width);
    return true;
  }

  /**
   * Writes the gradient {@code dx} of the log-softmax over the last axis at {@code x}, given the gradient {@code dy} of
   * its output, and returns true, or returns false without touching any array on the terms of {@link #tryForward}.
   */
  static boolean tryBackward(INDArray x, INDArray dy, List<Long> axisArguments, INDArray dx) {
    if (!takes(x, axisArguments) || !VectorKernels.accepts(x, dy) || !VectorKernels.accepts(x, dx)) {
      return false;
    }
    VectorKernels.prepare();
    int width = (int) x.size(x.rank() - 1);
    backward(x.data().asNioFloat(), dy.data().asNioFloat(), dx.data().asNioFloat(), (int) (x.length() / width),
        width);
    return true;
  }

  private static boolean takes(INDArray x, List<Long> axisArguments) {
    int rank = x.rank();
    if (rank < 2 || x.length() < MIN_ELEMENTS || x.length() > Integer.MAX_VALUE) {
      return false;
    }
    long width = x.size(rank - 1);
    boolean lastAxis = axisArguments.isEmpty()
        || (axisArguments.size() == 1 && (axisArguments.get(0) == rank - 1 || axisArguments.get(0) == -1));
    return lastAxis && width >= MIN_WIDTH && width <= CHUNK;
  }

  /** {@code y} from {@code x}, both {@code rows · width} floats from index 0 (they may be the same buffer). */
  static void forward(FloatBuffer x, FloatBuffer y, int rows, int width) {
    inChunks(x, null, y, rows, width);
  }

  /**
   * {@code dx} from {@code x} and {@code dy}, all {@code rows · width} floats from index 0 ({@code dx} may share a
   * buffer with either input).
   */
  static void backward(FloatBuffer x, FloatBuffer dy, FloatBuffer dx, int rows, int width) {
    inChunks(x, dy, dx, rows, width);
  }

  /**
   * The forward into {@code out} ({@code dy} null) or the backward: chunks of whole rows of {@code x} copied into a
   * Java array, shifted by their rows' maxima and exponentiated ({@link #shiftAndExp}), then finished row by row.
   */
  private static void inChunks(FloatBuffer x, FloatBuffer dy, FloatBuffer out, int rows, int width) {
    int rowsPerChunk = CHUNK / width;
    int chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
    VectorKernels.inParts(chunks, (long) rows * width, PARALLEL_MIN, (first, end) -> {
      float[] shifted = new float[padded(rowsPerChunk * width)];
      float[] e = new float[shifted.length];
      float[] g = dy == null ? null : new float[shifted.length];
      for (int c = first; c < end; c++) {
        int firstRow = c * rowsPerChunk;
        int n = Math.min(rowsPerChunk, rows - firstRow) * width;
        x.get(firstRow * width, shifted, 0, n);
        shiftAndExp(shifted, e, n, width);
        if (dy == null) {
          logSoftmax(shifted, e, n, width);
          out.put(firstRow * width, shifted, 0, n);
        } else {
          dy.get(firstRow * width, g, 0, n);
          gradient(g, e, n, width);
          out.put(firstRow * width, g, 0, n);
        }
      }
    });
  }

  /** {@code y_k = (x_k − m) − ln s} in place of the shifted scores, for the {@code n / width} rows of a chunk. */
  private static void logSoftmax(float[] shifted, float[] e, int n, int width) {
    for (int at = 0; at < n; at += width) {
      float logSum = (float) Math.log(sum(e, at, width));
      for (int k = at; k < at + width; k++) {
        shifted[k] -= logSum;
      }
    }
  }

  /** {@code dx_k = dy_k − (e_k / s) · Σ dy} in place of {@code g = dy}, for the {@code n / width} rows of a chunk. */
  private static void gradient(float[] g, float[] e, int n, int width) {
    for (int at = 0; at < n; at += width) {
      float s = sum(e, at, width);
      float gradientSum = sum(g, at, width);
      for (int k = at; k < at + width; k++) {
        float p = e[k] / s;
        g[k] -= p * gradientSum;
      }
    }
  }

  /**
   * Subtracts each row's maximum from the first {@code n} floats of {@code shifted} in place, then writes their
   * exponentials into {@code e}.
   */
  private static void shiftAndExp(float[] shifted, float[] e, int n, int width) {
    for (int at = 0; at < n; at += width) {
      float max = shifted[at];
      for (int k = at + 1; k < at + width; k++) {
        max = Math.max(max, shifted[k]);
      }
      for (int k = at; k < at + width; k++) {
        shifted[k] -= max;
      }
    }
    VectorExp.exp(shifted, e, n);
  }

  /** {@code a[at] + ... + a[at + width − 1]}, in order, in float. */
  private static float sum(float[] a, int at, int width) {
    float s = 0;
    for (int k = at; k < at + width; k++) {
      s += a[k];
    }
    return s;
  }

  /** {@code n} rounded up to a multiple of the vector lanes, as {@link VectorExp#exp} reads and writes. */
  private static int padded(int n) {
    int lanes = VectorExp.lanes();
    return (n + lanes - 1) / lanes * lanes;
  }
}
