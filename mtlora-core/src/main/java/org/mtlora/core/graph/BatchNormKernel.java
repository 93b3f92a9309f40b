package org.mtlora.core.graph;

import java.nio.FloatBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A training batch norm on float rows {@code x [M, C]} (statistics per column, over the rows) in a few passes over
 * the arrays, on the JVM: the kernels of {@code org.mtlora.core.nn.BatchNormTraining} and its backward where this JVM
 * runs {@link VectorKernels} and the arrays are whole float buffers. Every sum is accumulated in float64 from float32
 * values, as PyTorch's CPU batch norm accumulates (a float32 sum over {@code M} values is off by about {@code √M}
 * units in the last place, which {@code 1/σ} then amplifies); each column is summed over the rows in row order,
 * whatever the number of threads, so results are deterministic.
 *
 * <pre>
 *   forward    μ = Σ_m x / M,  v = Σ_m (x − μ)² / M        float64, then rounded: mean, var, invStd = 1/√(v + ε)
 *              α = invStd · γ,  s = β − mean · α            float32, per column
 *              y = x · α + s                                 float32, PyTorch's CPU evaluation order
 *   backward   d = x − mean,  Σdy,  Σ dy · d                 float64 per column
 *              dβ = Σdy,  dγ = invStd · Σ dy·d
 *              dx = γ · invStd · (dy − Σdy / M − d · invStd² · Σ dy·d / M)     per element in float64, rounded
 * </pre>
 *
 * The backward is the closed form of the forward's gradient through the batch statistics: the gradient of {@code x̂
 * = (x − μ)/σ} is {@code (g − mean(g) − x̂ · mean(g ⊙ x̂)) / σ} with {@code g = dy ⊙ γ}.
 *
 * <p>Plain loops over the native floats: on the heads' {@code [6272, 1080]} the forward's three passes take ~10 ms and
 * the backward's two ~14 ms, about the memory's speed for the bytes they move, so the vector API would not gain (a
 * version that widened float vectors of half the preferred width to float64 ones was no faster, and its second float
 * species made the other kernels' vector calls megamorphic: every vector kernel of the run slowed down severalfold).
 */
public final class BatchNormKernel {
  /** Below this many elements a pass runs on one thread. */
  private static final int PARALLEL_MIN = 1 << 15;

  private BatchNormKernel() {}

  /**
   * Writes the training batch norm of {@code x [M, C]} ({@code y}, and the batch statistics {@code mean}, the biased
   * {@code var} and {@code invStd}, each {@code [C]}) and returns true, or returns false having written nothing when
   * the JVM kernels are off or an array is not a whole float buffer of the expected shape.
   */
  public static boolean tryForward(INDArray x, INDArray gamma, INDArray beta, double eps, INDArray y,
      INDArray mean, INDArray var, INDArray invStd) {
    if (!VectorKernels.floatMatrices(Integer.MAX_VALUE, x, y)
        || !VectorKernels.wholeFloatBuffers(x.size(1), gamma, beta, mean, var, invStd)) {
      return false;
    }
    int rows = (int) x.size(0);
    int columns = (int) x.size(1);
    FloatBuffer in = x.data().asNioFloat();
    double[] mu = columnSums(in, null, null, rows, columns);
    for (int c = 0; c < columns; c++) {
      mu[c] /= rows;
    }
    double[] v = columnSums(in, mu, null, rows, columns);
    FloatBuffer g = gamma.data().asNioFloat();
    FloatBuffer b = beta.data().asNioFloat();
    FloatBuffer meanOut = mean.data().asNioFloat();
    FloatBuffer varOut = var.data().asNioFloat();
    FloatBuffer invStdOut = invStd.data().asNioFloat();
    float[] alpha = new float[columns];
    float[] shift = new float[columns];
    for (int c = 0; c < columns; c++) {
      double biased = v[c] / rows;
      float m = (float) mu[c];
      float r = (float) (1 / Math.sqrt(biased + eps));
      meanOut.put(c, m);
      varOut.put(c, (float) biased);
      invStdOut.put(c, r);
      alpha[c] = r * g.get(c);
      shift[c] = b.get(c) - m * alpha[c];
    }
    FloatBuffer out = y.data().asNioFloat();
    VectorKernels.inParts(rows, (long) rows * columns, PARALLEL_MIN, (first, end) -> {
      for (int r = first; r < end; r++) {
        int at = r * columns;
        for (int c = 0; c < columns; c++) {
          out.put(at + c, in.get(at + c) * alpha[c] + shift[c]);
        }
      }
    });
    return true;
  }

  /**
   * Writes the gradients of the training batch norm of {@code x [M, C]} with respect to {@code x}, {@code gamma} and
   * {@code beta}, given the forward's {@code mean} and {@code invStd} and the output's gradient {@code dy}, and returns
   * true, or returns false having written nothing on the terms of {@link #tryForward}.
   */
  public static boolean tryBackward(INDArray x, INDArray gamma, INDArray mean, INDArray invStd, INDArray dy,
      INDArray dx, INDArray dGamma, INDArray dBeta) {
    if (!VectorKernels.floatMatrices(Integer.MAX_VALUE, x, dy, dx)
        || !VectorKernels.wholeFloatBuffers(x.size(1), gamma, mean, invStd, dGamma, dBeta)) {
      return false;
    }
    int rows = (int) x.size(0);
    int columns = (int) x.size(1);
    FloatBuffer in = x.data().asNioFloat();
    FloatBuffer grad = dy.data().asNioFloat();
    FloatBuffer m = mean.data().asNioFloat();
    FloatBuffer r = invStd.data().asNioFloat();
    FloatBuffer g = gamma.data().asNioFloat();
    double[] mu = new double[columns];
    for (int c = 0; c < columns; c++) {
      mu[c] = m.get(c);
    }
    double[] sumDy = columnSums(grad, null, null, rows, columns);
    double[] sumDyD = columnSums(in, mu, grad, rows, columns);
    FloatBuffer dGammaOut = dGamma.data().asNioFloat();
    FloatBuffer dBetaOut = dBeta.data().asNioFloat();
    double[] k = new double[columns];
    double[] a = new double[columns];
    double[] b = new double[columns];
    for (int c = 0; c < columns; c++) {
      double invStdC = r.get(c);
      dBetaOut.put(c, (float) sumDy[c]);
      dGammaOut.put(c, (float) (invStdC * sumDyD[c]));
      k[c] = g.get(c) * invStdC;
      a[c] = sumDy[c] / rows;
      b[c] = invStdC * invStdC * sumDyD[c] / rows;
    }
    FloatBuffer out = dx.data().asNioFloat();
    VectorKernels.inParts(rows, (long) rows * columns, PARALLEL_MIN, (first, end) -> {
      for (int row = first; row < end; row++) {
        int at = row * columns;
        for (int c = 0; c < columns; c++) {
          double d = (double) in.get(at + c) - mu[c];
          out.put(at + c, (float) (k[c] * (grad.get(at + c) - a[c] - d * b[c])));
        }
      }
    });
    return true;
  }

  /**
   * Per column {@code c < columns} of the row-major {@code [rows, columns]} floats {@code x}, in float64: {@code Σ_m
   * x} when {@code centre} is null; else {@code Σ_m (x − centre[c])²} when {@code weights} is null, or {@code Σ_m
   * weights · (x − centre[c])} (weights of x's shape). Parts of the columns go to the threads; each column is summed
   * over the rows in order.
   */
  static double[] columnSums(FloatBuffer x, double[] centre, FloatBuffer weights, int rows, int columns) {
    double[] sums = new double[columns];
    VectorKernels.inParts(columns, (long) rows * columns, PARALLEL_MIN, (first, end) -> {
      double[] acc = new double[end - first];
      for (int r = 0; r < rows; r++) {
        int at = r * columns + first;
        if (centre == null) {
          for (int c = 0; c < acc.length; c++) {
            acc[c] += x.get(at + c);
          }
        } else if (weights == null) {
          for (int c = 0; c < acc.length; c++) {
            double d = x.get(at + c) - centre[first + c];
            acc[c] += d * d;
          }
        } else {
          for (int c = 0; c < acc.length; c++) {
            acc[c] += weights.get(at + c) * (x.get(at + c) - centre[first + c]);
          }
        }
      }
      System.arraycopy(acc, 0, sums, first, acc.length);
    });
    return sums;
  }
}
