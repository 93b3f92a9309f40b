package org.mtlora.core.graph;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The loops of {@link org.mtlora.core.nn.PixelLogLikelihood} and its gradient on the CPU: class scores {@code [B, K,
 * H, W]} read where they lie, in chunks of pixels of one image copied class by class into Java arrays, the softmax
 * over classes computed with the vector lanes running over pixels ({@link PixelSoftmax}), and each pixel's label read
 * in place:
 *
 * <pre>
 *   m = max_k x_k,   e_k = exp(x_k − m),   s = 0 + e_0 + ... + e_{K−1},   ln s = Math.log(s) rounded to float
 *   forward    picked = (x_t − m) − ln s,   valid = 1          where 0 ≤ t &lt; K, else 0 and 0
 *   backward   dx_k = [k = t] · dp − (e_k / s) · dp          (dp = dpicked where 0 ≤ t &lt; K, else 0)
 * </pre>
 *
 * These are, bit for bit, {@link RowLogSoftmax}'s forward and backward on the pixel's row followed by the pick of the
 * label's entry and its scatter — what the loss computed before, after a permute of the scores into rows and before
 * one back — in one read of the scores forward and one read and one write backward. Each chunk is computed by one
 * thread in a fixed order, so results are deterministic.
 *
 * <p>Where the JVM kernels are off or the arrays are not what the kernel takes — float scores of rank 3 or more as
 * whole buffers in C order, at least {@value #MIN_ELEMENTS} of them, 2 to {@link #maxClasses()} classes, int labels
 * and float outputs as whole buffers of one element per pixel — the {@code try} methods write nothing and return false:
 * the op then takes ND4J's array ops.
 */
public final class PixelLogLikelihoodKernel {
  /** Smaller arrays stay with ND4J: the kernel's set-up outweighs the work. */
  static final int MIN_ELEMENTS = 1 << 14;
  /** Scores per chunk ({@code K} classes times the chunk's pixels, at most). */
  private static final int CHUNK = 8192;
  private static final int PARALLEL_MIN = 4 * CHUNK;

  private PixelLogLikelihoodKernel() {}

  /**
   * {@code picked} and {@code valid} ({@code [B · H · W]}) from scores {@code x [B, K, H, W]} (any spatial rank) and
   * int labels {@code t [B · H · W]}; returns whether it wrote them.
   */
  public static boolean tryForward(INDArray x, INDArray labels, INDArray picked, INDArray valid) {
    if (!takes(x, labels) || !VectorKernels.wholeFloatBuffers(labels.length(), picked, valid)) {
      return false;
    }
    VectorKernels.prepare();
    Layout layout = new Layout(x);
    FloatBuffer p = picked.data().asNioFloat();
    FloatBuffer v = valid.data().asNioFloat();
    inChunks(x.data().asNioFloat(), labels.data().asNioInt(), layout, (chunk, n) -> {
      for (int i = 0; i < n; i++) {
        float t = chunk.labels[i];
        boolean in = t >= 0;
        p.put(chunk.pixelAt + i, in ? chunk.a[(int) t * layout.width + i] - (float) Math.log(chunk.sums[i]) : 0f);
        v.put(chunk.pixelAt + i, in ? 1f : 0f);
      }
    });
    return true;
  }

  /**
   * {@code dx [B, K, H, W]}, the gradient of {@code picked} with respect to the scores {@code x}, given {@code
   * dpicked [B · H · W]}; returns whether it wrote it.
   */
  public static boolean tryBackward(INDArray x, INDArray labels, INDArray dPicked, INDArray dx) {
    if (!takes(x, labels) || !VectorKernels.wholeFloatBuffers(labels.length(), dPicked)
        || !VectorKernels.wholeFloatBuffer(dx) || !dx.equalShapes(x)) {
      return false;
    }
    VectorKernels.prepare();
    Layout layout = new Layout(x);
    FloatBuffer dp = dPicked.data().asNioFloat();
    FloatBuffer out = dx.data().asNioFloat();
    inChunks(x.data().asNioFloat(), labels.data().asNioInt(), layout, (chunk, n) -> {
      for (int i = 0; i < n; i++) {
        chunk.dp[i] = chunk.labels[i] >= 0 ? dp.get(chunk.pixelAt + i) : 0f;
      }
      PixelSoftmax.gradient(chunk.e, chunk.sums, chunk.labels, chunk.dp, chunk.a, layout.classes, layout.width);
      for (int k = 0; k < layout.classes; k++) {
        out.put(layout.offset(chunk.image, k) + chunk.firstPixel, chunk.a, k * layout.width, n);
      }
    });
    return true;
  }

  /** The most classes the kernel takes: a chunk holds at least one vector of pixels per class. */
  static int maxClasses() {
    return CHUNK / VectorExp.lanes();
  }

  private static boolean takes(INDArray x, INDArray labels) {
    if (!VectorKernels.enabled() || x.rank() < 3 || x.length() < MIN_ELEMENTS || x.length() > Integer.MAX_VALUE
        || !VectorKernels.wholeFloatBuffer(x) || x.size(1) < 2 || x.size(1) > maxClasses()) {
      return false;
    }
    return VectorKernels.wholeVector(labels, DataType.INT) && labels.length() == x.length() / x.size(1);
  }

  /** How the scores lie: {@code images} blocks of {@code classes} planes of {@code pixels} floats. */
  private static final class Layout {
    final int images;
    final int classes;
    final int pixels;
    /** Pixels per chunk: a multiple of the vector lanes, with {@code classes · width ≤ CHUNK}. */
    final int width;
    final int chunksPerImage;

    Layout(INDArray x) {
      this((int) x.size(0), (int) x.size(1), (int) (x.length() / x.size(0) / x.size(1)));
    }

    Layout(int images, int classes, int pixels) {
      this.images = images;
      this.classes = classes;
      this.pixels = pixels;
      int lanes = VectorExp.lanes();
      width = Math.max(lanes, Math.min(CHUNK / classes, pixels + lanes - 1) / lanes * lanes);
      chunksPerImage = (pixels + width - 1) / width;
    }

    int offset(int image, int k) {
      return (image * classes + k) * pixels;
    }
  }

  /**
   * A part's arrays and the chunk they hold: scores (shifted in place, then the backward's gradient), exponentials,
   * and per pixel the label as a float (−1 where outside {@code [0, K)}), the sum of the exponentials and {@code
   * dpicked}.
   */
  private static final class Chunk {
    final float[] a;
    final float[] e;
    final float[] labels;
    final float[] sums;
    final float[] dp;
    int image;
    int firstPixel;
    /** The chunk's first pixel in the labels' and outputs' order: {@code image · pixels + firstPixel}. */
    int pixelAt;

    Chunk(Layout layout) {
      a = new float[layout.classes * layout.width];
      e = new float[a.length];
      labels = new float[layout.width];
      sums = new float[layout.width];
      dp = new float[layout.width];
    }
  }

  /** What is done with a chunk's {@code n} pixels once its scores are shifted, exponentiated and summed. */
  private interface Finish {
    void apply(Chunk chunk, int n);
  }

  /**
   * Every chunk of {@code width} pixels of one image: its scores copied class by class, shifted, exponentiated and
   * summed ({@link PixelSoftmax#shiftExpSum}), its labels read as floats (−1 where outside {@code [0, K)}), then {@code
   * finish}; split over the common pool by chunk.
   */
  private static void inChunks(FloatBuffer x, IntBuffer labels, Layout layout, Finish finish) {
    int chunks = layout.images * layout.chunksPerImage;
    VectorKernels.inParts(chunks, (long) layout.images * layout.classes * layout.pixels, PARALLEL_MIN,
        (first, end) -> {
          Chunk chunk = new Chunk(layout);
          for (int c = first; c < end; c++) {
            chunk.image = c / layout.chunksPerImage;
            chunk.firstPixel = c % layout.chunksPerImage * layout.width;
            chunk.pixelAt = chunk.image * layout.pixels + chunk.firstPixel;
            int n = Math.min(layout.width, layout.pixels - chunk.firstPixel);
            for (int k = 0; k < layout.classes; k++) {
              x.get(layout.offset(chunk.image, k) + chunk.firstPixel, chunk.a, k * layout.width, n);
            }
            for (int i = 0; i < n; i++) {
              int label = labels.get(chunk.pixelAt + i);
              chunk.labels[i] = label >= 0 && label < layout.classes ? label : -1f;
            }
            PixelSoftmax.shiftExpSum(chunk.a, chunk.e, chunk.sums, layout.classes, layout.width);
            finish.apply(chunk, n);
          }
        });
  }

  /**
   * Runs both passes on a small array until the JIT compiler has compiled them, at most {@code maxNanos}, as {@link
   * VectorKernels#warmUp} does for the other kernels. Returns the nanoseconds it took.
   */
  static long warmUp(long maxNanos) {
    long start = System.nanoTime();
    int classes = 21;
    int pixels = 1024;
    FloatBuffer x = FloatBuffer.allocate(classes * pixels);
    FloatBuffer out = FloatBuffer.allocate(classes * pixels);
    IntBuffer labels = IntBuffer.allocate(pixels);
    for (int i = 0; i < classes * pixels; i++) {
      x.put(i, (i % 13) - 6f);
    }
    for (int i = 0; i < pixels; i++) {
      labels.put(i, i % 23); // some outside [0, 21)
    }
    Layout layout = new Layout(1, classes, pixels);
    while (System.nanoTime() - start < maxNanos) {
      long t0 = System.nanoTime();
      for (int i = 0; i < 50; i++) {
        inChunks(x, labels, layout, (chunk, n) -> {
          PixelSoftmax.gradient(chunk.e, chunk.sums, chunk.labels, chunk.dp, chunk.a, classes, layout.width);
          out.put(chunk.firstPixel, chunk.a, 0, n);
        });
      }
      if (System.nanoTime() - t0 < 50L * 10 * classes * pixels) { // compiled: a few nanoseconds per score
        break;
      }
    }
    return System.nanoTime() - start;
  }
}
