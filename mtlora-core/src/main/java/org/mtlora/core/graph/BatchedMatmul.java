package org.mtlora.core.graph;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The batched matrix product of small matrices on the JDK's vector API: {@code C[b] = op(A[b]) · op(B[b])} for every
 * index {@code b} of the leading axes, {@code op} the identity or the transpose. It is what the window attention
 * multiplies ({@code q·kᵀ} and {@code attention·v}: thousands of 49 × 32 and 49 × 49 matrices per stage), where
 * libnd4j 1.0.0-M2.1 loops over the batch in plain C++ on one core (15-30 GFLOP/s on this project's benchmark machine;
 * its BLAS and oneDNN paths take rank-2 operands only).
 *
 * <p>Per batch entry, {@code op(B)} is copied into a Java array as {@code K} rows padded to whole vectors, and each
 * block of four rows of the output is summed over {@code k} in registers: {@code C[m, j..j+V) += A[m, k] · B[k,
 * j..j+V)}, one fused multiply-add per vector, {@code k} in order. Each output element is summed by one thread in the
 * same order whatever the thread count, so results are deterministic; they differ from libnd4j's by float rounding
 * only ({@code BatchedMatmulTest}). Batches of at least {@value #PARALLEL_MIN} multiply-adds are split over the common
 * fork-join pool.
 */
final class BatchedMatmul {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  /** Largest matrix (elements) the kernel takes; larger products stay with libnd4j. */
  static final int MAX_MATRIX = 1 << 16;
  private static final long PARALLEL_MIN = 1L << 20;

  private BatchedMatmul() {}

  /**
   * Whether the kernel computes {@code C = op(A)·op(B)} for these arrays: whole float buffers in C order, rank
   * 3 or more, the same leading axes on all three, matching inner sizes, matrices of 1 to {@value #MAX_MATRIX}
   * elements.
   */
  static boolean accepts(INDArray a, INDArray b, INDArray c, boolean transposeA, boolean transposeB) {
    if (!VectorKernels.wholeFloatBuffer(a) || !VectorKernels.wholeFloatBuffer(b)
        || !VectorKernels.wholeFloatBuffer(c)) {
      return false;
    }
    int rank = a.rank();
    if (rank < 3 || b.rank() != rank || c.rank() != rank) {
      return false;
    }
    for (int i = 0; i < rank - 2; i++) {
      if (a.size(i) != b.size(i) || a.size(i) != c.size(i)) {
        return false;
      }
    }
    long m = a.size(transposeA ? rank - 1 : rank - 2);
    long k = a.size(transposeA ? rank - 2 : rank - 1);
    long kb = b.size(transposeB ? rank - 1 : rank - 2);
    long n = b.size(transposeB ? rank - 2 : rank - 1);
    return k == kb && c.size(rank - 2) == m && c.size(rank - 1) == n && m * n * k > 0
        && m * k <= MAX_MATRIX && k * padded((int) Math.min(n, MAX_MATRIX)) <= MAX_MATRIX && m * n <= MAX_MATRIX
        && c.length() <= Integer.MAX_VALUE;
  }

  /** {@code C = op(A)·op(B)} for arrays that {@link #accepts} takes. */
  static void multiply(INDArray a, INDArray b, INDArray c, boolean transposeA, boolean transposeB) {
    int rank = a.rank();
    int m = (int) c.size(rank - 2);
    int n = (int) c.size(rank - 1);
    int k = (int) a.size(transposeA ? rank - 2 : rank - 1);
    int batch = (int) (c.length() / ((long) m * n));
    multiply(a.data().asNioFloat(), b.data().asNioFloat(), c.data().asNioFloat(), batch, m, k, n, transposeA,
        transposeB);
  }

  /**
   * {@code C[b] = op(A[b])·op(B[b])} for {@code b < batch}, the matrices stored one after the other in row-major
   * order: {@code A[b]} as {@code m × k} ({@code k × m} when {@code transposeA}), {@code B[b]} as {@code k × n} ({@code
   * n × k} when {@code transposeB}), {@code C[b]} as {@code m × n}.
   */
  static void multiply(FloatBuffer a, FloatBuffer b, FloatBuffer c, int batch, int m, int k, int n,
      boolean transposeA, boolean transposeB) {
    VectorKernels.inParts(batch, (long) batch * m * n * k, PARALLEL_MIN,
        (first, end) -> range(a, b, c, m, k, n, transposeA, transposeB, first, end));
  }

  /** Batch entries {@code [first, end)}, through Java arrays of this task's own. */
  private static void range(
      FloatBuffer a, FloatBuffer b, FloatBuffer c, int m, int k, int n, boolean transposeA, boolean transposeB,
      int first, int end) {
    int np = padded(n);
    float[] aMatrix = new float[m * k];
    float[] bMatrix = new float[k * n];
    float[] bRows = new float[k * np]; // op(B) as k rows of np floats; the padding stays 0
    float[] cRows = new float[m * np];
    float[] cMatrix = new float[m * n];
    // A[i, p] = aMatrix[i * rowStride + p * colStride]
    int rowStride = transposeA ? 1 : k;
    int colStride = transposeA ? m : 1;
    for (int e = first; e < end; e++) {
      a.get(e * m * k, aMatrix, 0, m * k);
      b.get(e * k * n, bMatrix, 0, k * n);
      if (transposeB) {
        for (int j = 0; j < n; j++) {
          for (int p = 0; p < k; p++) {
            bRows[p * np + j] = bMatrix[j * k + p];
          }
        }
      } else {
        for (int p = 0; p < k; p++) {
          System.arraycopy(bMatrix, p * n, bRows, p * np, n);
        }
      }
      product(aMatrix, rowStride, colStride, bRows, cRows, m, k, np);
      for (int i = 0; i < m; i++) {
        System.arraycopy(cRows, i * np, cMatrix, i * n, n);
      }
      c.put(e * m * n, cMatrix, 0, m * n);
    }
  }

  /** {@code cRows[i, :] = Σ_p A[i, p] · bRows[p, :]}, rows of {@code np} floats (a multiple of the lane count). */
  private static void product(
      float[] a, int rowStride, int colStride, float[] bRows, float[] cRows, int m, int k, int np) {
    int lanes = SPECIES.length();
    for (int j = 0; j < np; j += lanes) {
      int i = 0;
      for (; i + 4 <= m; i += 4) {
        FloatVector c0 = FloatVector.zero(SPECIES);
        FloatVector c1 = FloatVector.zero(SPECIES);
        FloatVector c2 = FloatVector.zero(SPECIES);
        FloatVector c3 = FloatVector.zero(SPECIES);
        int row = i * rowStride;
        for (int p = 0; p < k; p++) {
          FloatVector bv = FloatVector.fromArray(SPECIES, bRows, p * np + j);
          int at = row + p * colStride;
          c0 = bv.fma(FloatVector.broadcast(SPECIES, a[at]), c0);
          c1 = bv.fma(FloatVector.broadcast(SPECIES, a[at + rowStride]), c1);
          c2 = bv.fma(FloatVector.broadcast(SPECIES, a[at + 2 * rowStride]), c2);
          c3 = bv.fma(FloatVector.broadcast(SPECIES, a[at + 3 * rowStride]), c3);
        }
        c0.intoArray(cRows, i * np + j);
        c1.intoArray(cRows, (i + 1) * np + j);
        c2.intoArray(cRows, (i + 2) * np + j);
        c3.intoArray(cRows, (i + 3) * np + j);
      }
      for (; i < m; i++) {
        FloatVector c0 = FloatVector.zero(SPECIES);
        for (int p = 0; p < k; p++) {
          c0 = FloatVector.fromArray(SPECIES, bRows, p * np + j)
              .fma(FloatVector.broadcast(SPECIES, a[i * rowStride + p * colStride]), c0);
        }
        c0.intoArray(cRows, i * np + j);
      }
    }
  }

  /** A float buffer over native memory, like an array's {@code data().asNioFloat()}. */
  private static FloatBuffer directBuffer(int floats) {
    return ByteBuffer.allocateDirect(4 * floats).order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  /** {@code n} rounded up to whole vectors. */
  private static int padded(int n) {
    int lanes = SPECIES.length();
    return (n + lanes - 1) / lanes * lanes;
  }

  /**
   * Runs the kernel on window-attention-sized products until the JIT compiler has compiled it, at most {@code
   * maxNanos} (see {@link VectorKernels#warmUp}). Returns the nanoseconds it took.
   */
  static long warmUp(long maxNanos) {
    long start = System.nanoTime();
    int m = 49;
    int k = 32;
    FloatBuffer a = directBuffer(m * m);
    FloatBuffer b = directBuffer(m * m);
    FloatBuffer c = directBuffer(m * m);
    for (int i = 0; i < m * m; i++) {
      a.put(i, (i % 7) - 3f);
      b.put(i, (i % 5) - 2f);
    }
    for (int i = 0; i < 2_000 && System.nanoTime() - start < maxNanos; i++) {
      multiply(a, b, c, 1, 4, 4, SPECIES.length(), false, i % 2 == 0);
    }
    while (System.nanoTime() - start < maxNanos) {
      long t0 = System.nanoTime();
      multiply(a, b, c, 1, m, k, m, false, true);
      multiply(a, b, c, 1, m, m, k, true, false); // A stored m × m, B m × k
      if (System.nanoTime() - t0 < 100_000) { // two compiled 49-by-49 products take ~10 µs; interpreted, ~10 ms
        break;
      }
    }
    return System.nanoTime() - start;
  }
}
