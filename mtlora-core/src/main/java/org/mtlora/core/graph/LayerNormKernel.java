package org.mtlora.core.graph;

import java.nio.ByteBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A training layer norm on float rows {@code x [N, C]} (statistics per row) on the JVM, each row read once forward
 * and once backward while it is in the cache: the kernels of {@code org.mtlora.core.nn.LayerNormTraining} and its
 * backward where this JVM runs {@link VectorKernels} and the arrays are whole float buffers.
 *
 * <pre>
 *   forward    μ = Σ_c x / C,  r = 1/√(Σ_c (x − μ)² / C + ε)     per row, float sums in vector lanes
 *              y = (x − μ) · (r · γ) + β                         the composite's evaluation order
 *   backward   x̂ = (x − μ) · r,  g = dy · γ
 *              dx = r · (g − Σ_c g / C − x̂ · Σ_c g·x̂ / C)        per row
 *              dγ = Σ_n dy · x̂,  dβ = Σ_n dy                     per column, over the rows
 * </pre>
 *
 * The backward is the closed form of the gradient through the row statistics. Row sums are float sums in vector lanes,
 * then the lanes added (as libnd4j's products with a column of {@code 1/C} that they replace, within float rounding);
 * the column sums of {@code dγ} and {@code dβ} are float sums over blocks of {@value #BLOCK_ROWS} rows added in float64
 * in block order, as {@link SumOverRows} does, so every result is the same whatever the number of threads.
 *
 * <p>The loops over a row are {@link LayerNormLanes}'; this class refers to the vector API only through them, and
 * calls them only when the kernels are on, so that a JVM without the vector API's module runs ND4J's path instead.
 */
public final class LayerNormKernel {
  /** Rows whose column sums one task accumulates in float before they are added, in float64, to the total. */
  static final int BLOCK_ROWS = 256;
  /** Below this many elements a pass runs on one thread. */
  private static final int PARALLEL_MIN = 1 << 15;

  private LayerNormKernel() {}

  /**
   * Writes the training layer norm of {@code x [N, C]} ({@code y}, and the per-row {@code mean} and {@code rstd},
   * each {@code [N]}) and returns true, or returns false having written nothing when the JVM kernels are off or an
   * array is not a whole float buffer of the expected shape.
   */
  public static boolean tryForward(INDArray x, INDArray gamma, INDArray beta, double eps, INDArray y,
      INDArray mean, INDArray rstd) {
    if (!VectorKernels.floatMatrices(Integer.MAX_VALUE / 4, x, y)
        || !VectorKernels.wholeFloatBuffers(x.size(1), gamma, beta)
        || !VectorKernels.wholeFloatBuffers(x.size(0), mean, rstd)) {
      return false;
    }
    int n = (int) x.size(0);
    int c = (int) x.size(1);
    ByteBuffer in = VectorKernels.nativeBytes(x);
    ByteBuffer out = VectorKernels.nativeBytes(y);
    ByteBuffer meanOut = VectorKernels.nativeBytes(mean);
    ByteBuffer rstdOut = VectorKernels.nativeBytes(rstd);
    float[] g = gamma.data().asFloat();
    float[] b = beta.data().asFloat();
    VectorKernels.inParts(n, (long) n * c, PARALLEL_MIN,
        (first, end) -> LayerNormLanes.forwardRows(in, g, b, (float) eps, out, meanOut, rstdOut, first, end, c));
    return true;
  }

  /**
   * Writes the gradients of the training layer norm of {@code x [N, C]} with respect to {@code x}, {@code gamma} and
   * {@code beta}, given the forward's per-row {@code mean} and {@code rstd} and the output's gradient {@code dy}, and
   * returns true, or returns false having written nothing on the terms of {@link #tryForward}.
   */
  public static boolean tryBackward(INDArray x, INDArray gamma, INDArray mean, INDArray rstd, INDArray dy,
      INDArray dx, INDArray dGamma, INDArray dBeta) {
    if (!VectorKernels.floatMatrices(Integer.MAX_VALUE / 4, x, dy, dx)
        || !VectorKernels.wholeFloatBuffers(x.size(1), gamma, dGamma, dBeta)
        || !VectorKernels.wholeFloatBuffers(x.size(0), mean, rstd)) {
      return false;
    }
    int n = (int) x.size(0);
    int c = (int) x.size(1);
    ByteBuffer in = VectorKernels.nativeBytes(x);
    ByteBuffer grad = VectorKernels.nativeBytes(dy);
    ByteBuffer out = VectorKernels.nativeBytes(dx);
    ByteBuffer m = VectorKernels.nativeBytes(mean);
    ByteBuffer r = VectorKernels.nativeBytes(rstd);
    float[] g = gamma.data().asFloat();
    int blocks = (n + BLOCK_ROWS - 1) / BLOCK_ROWS;
    float[] gammaParts = new float[blocks * c]; // Σ dy·x̂ of each block of rows, one row of them per block
    float[] betaParts = new float[blocks * c]; // Σ dy of each block
    VectorKernels.inParts(blocks, (long) n * c, PARALLEL_MIN, (first, end) -> {
      for (int block = first; block < end; block++) {
        LayerNormLanes.backwardRows(in, grad, g, m, r, out, gammaParts, betaParts, block * c, block * BLOCK_ROWS,
            Math.min(n, (block + 1) * BLOCK_ROWS), c);
      }
    });
    ByteBuffer dGammaOut = VectorKernels.nativeBytes(dGamma);
    ByteBuffer dBetaOut = VectorKernels.nativeBytes(dBeta);
    for (int j = 0; j < c; j++) {
      double sumGamma = 0;
      double sumBeta = 0;
      for (int block = 0; block < blocks; block++) {
        sumGamma += gammaParts[block * c + j];
        sumBeta += betaParts[block * c + j];
      }
      dGammaOut.putFloat(4 * j, (float) sumGamma);
      dBetaOut.putFloat(4 * j, (float) sumBeta);
    }
    return true;
  }
}
