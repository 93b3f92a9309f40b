package org.mtlora.core.graph;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
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
 */
public final class LayerNormKernel {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  private static final ByteOrder ORDER = ByteOrder.nativeOrder();
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
        (first, end) -> forwardRows(in, g, b, (float) eps, out, meanOut, rstdOut, first, end, c));
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
        backwardRows(in, grad, g, m, r, out, gammaParts, betaParts, block * c, block * BLOCK_ROWS,
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

  /** The forward on rows {@code [first, end)} of {@code c} floats. */
  static void forwardRows(ByteBuffer x, float[] gamma, float[] beta, float eps, ByteBuffer y, ByteBuffer mean,
      ByteBuffer rstd, int first, int end, int c) {
    int lanes = SPECIES.length();
    int vectorEnd = c - c % lanes;
    for (int row = first; row < end; row++) {
      int at = 4 * row * c;
      FloatVector sum = FloatVector.zero(SPECIES);
      for (int j = 0; j < vectorEnd; j += lanes) {
        sum = sum.add(FloatVector.fromByteBuffer(SPECIES, x, at + 4 * j, ORDER));
      }
      float s = sum.reduceLanes(VectorOperators.ADD);
      for (int j = vectorEnd; j < c; j++) {
        s += x.getFloat(at + 4 * j);
      }
      float mu = s / c;
      FloatVector squares = FloatVector.zero(SPECIES);
      for (int j = 0; j < vectorEnd; j += lanes) {
        FloatVector d = FloatVector.fromByteBuffer(SPECIES, x, at + 4 * j, ORDER).sub(mu);
        squares = squares.add(d.mul(d));
      }
      float ss = squares.reduceLanes(VectorOperators.ADD);
      for (int j = vectorEnd; j < c; j++) {
        float d = x.getFloat(at + 4 * j) - mu;
        ss += d * d;
      }
      float r = (float) (1 / Math.sqrt(ss / c + eps));
      mean.putFloat(4 * row, mu);
      rstd.putFloat(4 * row, r);
      for (int j = 0; j < vectorEnd; j += lanes) {
        FloatVector.fromByteBuffer(SPECIES, x, at + 4 * j, ORDER).sub(mu)
            .mul(FloatVector.fromArray(SPECIES, gamma, j).mul(r)).add(FloatVector.fromArray(SPECIES, beta, j))
            .intoByteBuffer(y, at + 4 * j, ORDER);
      }
      for (int j = vectorEnd; j < c; j++) {
        y.putFloat(at + 4 * j, (x.getFloat(at + 4 * j) - mu) * (r * gamma[j]) + beta[j]);
      }
    }
  }

  /**
   * The backward on rows {@code [first, end)} of {@code c} floats, adding their {@code dy·x̂} and {@code dy} column by
   * column to {@code gammaParts} and {@code betaParts} from index {@code part}.
   */
  static void backwardRows(ByteBuffer x, ByteBuffer dy, float[] gamma, ByteBuffer mean, ByteBuffer rstd,
      ByteBuffer dx, float[] gammaParts, float[] betaParts, int part, int first, int end, int c) {
    int lanes = SPECIES.length();
    int vectorEnd = c - c % lanes;
    for (int row = first; row < end; row++) {
      int at = 4 * row * c;
      float mu = mean.getFloat(4 * row);
      float r = rstd.getFloat(4 * row);
      FloatVector sumG = FloatVector.zero(SPECIES);
      FloatVector sumGX = FloatVector.zero(SPECIES);
      for (int j = 0; j < vectorEnd; j += lanes) {
        FloatVector xhat = FloatVector.fromByteBuffer(SPECIES, x, at + 4 * j, ORDER).sub(mu).mul(r);
        FloatVector d = FloatVector.fromByteBuffer(SPECIES, dy, at + 4 * j, ORDER);
        FloatVector g = d.mul(FloatVector.fromArray(SPECIES, gamma, j));
        sumG = sumG.add(g);
        sumGX = sumGX.add(g.mul(xhat));
        FloatVector.fromArray(SPECIES, gammaParts, part + j).add(d.mul(xhat)).intoArray(gammaParts, part + j);
        FloatVector.fromArray(SPECIES, betaParts, part + j).add(d).intoArray(betaParts, part + j);
      }
      float a = sumG.reduceLanes(VectorOperators.ADD);
      float b = sumGX.reduceLanes(VectorOperators.ADD);
      for (int j = vectorEnd; j < c; j++) {
        float xhat = (x.getFloat(at + 4 * j) - mu) * r;
        float d = dy.getFloat(at + 4 * j);
        float g = d * gamma[j];
        a += g;
        b += g * xhat;
        gammaParts[part + j] += d * xhat;
        betaParts[part + j] += d;
      }
      float meanG = a / c;
      float meanGX = b / c;
      for (int j = 0; j < vectorEnd; j += lanes) {
        FloatVector xhat = FloatVector.fromByteBuffer(SPECIES, x, at + 4 * j, ORDER).sub(mu).mul(r);
        FloatVector g = FloatVector.fromByteBuffer(SPECIES, dy, at + 4 * j, ORDER)
            .mul(FloatVector.fromArray(SPECIES, gamma, j));
        g.sub(meanG).sub(xhat.mul(meanGX)).mul(r).intoByteBuffer(dx, at + 4 * j, ORDER);
      }
      for (int j = vectorEnd; j < c; j++) {
        float xhat = (x.getFloat(at + 4 * j) - mu) * r;
        float g = dy.getFloat(at + 4 * j) * gamma[j];
        dx.putFloat(at + 4 * j, (g - meanG - xhat * meanGX) * r);
      }
    }
  }

  /**
   * Runs both kernels' loops on small arrays until the JIT compiler has compiled them, at most {@code maxNanos}, as
   * {@link VectorKernels#warmUp} does for the other kernels (until compiled, the vector API runs hundreds of times
   * slower). Returns the nanoseconds it took.
   */
  static long warmUp(long maxNanos) {
    long start = System.nanoTime();
    int rows = 64;
    int c = 2 * SPECIES.length() + 3;
    ByteBuffer x = ByteBuffer.allocateDirect(4 * rows * c).order(ORDER);
    ByteBuffer y = ByteBuffer.allocateDirect(4 * rows * c).order(ORDER);
    ByteBuffer stats = ByteBuffer.allocateDirect(4 * rows).order(ORDER);
    for (int i = 0; i < rows * c; i++) {
      x.putFloat(4 * i, (i % 13) - 6f);
    }
    float[] gamma = new float[c];
    float[] parts = new float[c];
    while (System.nanoTime() - start < maxNanos) {
      long t0 = System.nanoTime();
      forwardRows(x, gamma, gamma, 1e-5f, y, stats, stats, 0, rows, c);
      backwardRows(x, x, gamma, stats, stats, y, parts, parts, 0, 0, rows, c);
      if (System.nanoTime() - t0 < 20L * rows * c) { // compiled: a few nanoseconds per element
        break;
      }
    }
    return System.nanoTime() - start;
  }
}
