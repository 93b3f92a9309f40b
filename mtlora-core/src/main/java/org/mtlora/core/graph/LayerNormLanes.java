package org.mtlora.core.graph;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector loops of {@link LayerNormKernel} over rows of {@code c} floats read from and written to native buffers
 * (its class comment has the formulas). Only {@link LayerNormKernel} and {@link VectorKernels}' warm-up touch this
 * class, and only when the kernels are on (the vector API's module is present).
 */
final class LayerNormLanes {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  private static final ByteOrder ORDER = ByteOrder.nativeOrder();

  private LayerNormLanes() {}

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
