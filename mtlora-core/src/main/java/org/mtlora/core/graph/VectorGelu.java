package org.mtlora.core.graph;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The exact GELU of a training graph and its backward, each in one pass on the JDK's vector API, for replayed training
 * steps ({@link TrainingGelu}). Op by op, {@code Gelu} and {@code GeluProduct} give a training graph thirteen
 * element-wise ops per GELU, each a pass over the 4C-wide hidden layer:
 *
 * <pre>
 *   forward    a = x·α   e = erfc(a)   p = x·e   y = p·β
 *   derivative s = x·x   t = s·γ   g = exp(t)   u = x·g   v = u·κ   D = e + v
 *   backward   q = dy·β'   r = q·D   dx = r + c      (c: the scalar zero NoGradient returns for x)
 * </pre>
 *
 * ({@code α = −1/√2}, {@code β = β' = ½}, {@code γ = −½}, {@code κ = √(2/π)}). {@link #forward} reads {@code x} and
 * writes {@code y} and {@code D}; {@link #backward} reads {@code dy} and {@code D} and writes {@code dx}. Each product
 * and sum is rounded to float in the ops' order, and {@code erfc} and {@code exp} are {@link VectorErfc#erfc} and
 * {@link VectorExp#exp} — the kernels a session runs for those two ops — so the results have the bits of the ops run
 * one after the other ({@code VectorGeluTest}). Only {@link VectorKernels} runs these passes ({@link TrainingGelu}
 * holds their {@link Constants}), and only when the vector module is present.
 */
final class VectorGelu {
  private static final VectorSpecies<Float> SPECIES = VectorExp.SPECIES;
  private static final ByteOrder ORDER = ByteOrder.nativeOrder();
  /** Elements per chunk of the forward pass, copied into Java arrays as {@link VectorKernels#apply} does. */
  private static final int CHUNK = 8192;
  private static final int PARALLEL_MIN = 4 * CHUNK;

  /** The scalars of a training GELU's ops, named as in the class comment. */
  record Constants(float alpha, float beta, float gamma, float kappa) {}

  private VectorGelu() {}

  /**
   * {@code y = (x·erfc(x·α))·β} and, when {@code d} is not null, {@code D = erfc(x·α) + (x·exp((x·x)·γ))·κ}, for
   * {@code length} floats from index 0 of each buffer ({@code x} differs from both outputs).
   */
  static void forward(FloatBuffer x, FloatBuffer y, FloatBuffer d, Constants c, int length) {
    int chunks = (length + CHUNK - 1) / CHUNK;
    int lanes = SPECIES.length();
    int size = Math.min(CHUNK, (length + lanes - 1) / lanes * lanes); // a chunk, or less for a short array
    VectorKernels.inParts(chunks, length, PARALLEL_MIN, (first, end) -> {
      float[] xs = new float[size];
      float[] e = new float[size];
      float[] t = new float[size];
      for (int chunk = first; chunk < end; chunk++) {
        int offset = chunk * CHUNK;
        int n = Math.min(CHUNK, length - offset);
        x.get(offset, xs, 0, n);
        chunk(xs, e, t, c, n, d != null);
        y.put(offset, t, 0, n);
        if (d != null) {
          d.put(offset, e, 0, n);
        }
      }
    });
  }

  /**
   * One chunk of {@link #forward}: leaves {@code y} in {@code t} and, when {@code derivative}, {@code D} in {@code e}
   * (else {@code e} holds {@code erfc(x·α)}). The arrays are padded to a multiple of the lane count.
   */
  static void chunk(float[] x, float[] e, float[] t, Constants c, int n, boolean derivative) {
    VectorSpecies<Float> s = SPECIES;
    for (int i = 0; i < n; i += s.length()) {
      FloatVector.fromArray(s, x, i).mul(c.alpha()).intoArray(e, i);
    }
    VectorErfc.erfc(e, e, n);
    if (derivative) {
      for (int i = 0; i < n; i += s.length()) {
        FloatVector xv = FloatVector.fromArray(s, x, i);
        xv.mul(xv).mul(c.gamma()).intoArray(t, i);
      }
      VectorExp.exp(t, t, n);
      for (int i = 0; i < n; i += s.length()) {
        FloatVector xv = FloatVector.fromArray(s, x, i);
        FloatVector ev = FloatVector.fromArray(s, e, i);
        FloatVector dv = ev.add(xv.mul(FloatVector.fromArray(s, t, i)).mul(c.kappa()));
        xv.mul(ev).mul(c.beta()).intoArray(t, i);
        dv.intoArray(e, i);
      }
    } else {
      for (int i = 0; i < n; i += s.length()) {
        FloatVector.fromArray(s, x, i).mul(FloatVector.fromArray(s, e, i)).mul(c.beta()).intoArray(t, i);
      }
    }
  }

  /**
   * Runs {@link #forward} and {@link #backward} on small arrays until the JIT compiler has compiled them, at most
   * {@code maxNanos} (the way {@link VectorKernels#warmUp} does for the other kernels): a replayed training step is the
   * first to run them, and until compiled they run 500-1000 times slower — the first replayed 448 step took ~0.4 s
   * longer without this. Returns the nanoseconds it took.
   */
  static long warmUp(Constants c, long maxNanos) {
    long start = System.nanoTime();
    int length = 2 * CHUNK + 3; // two chunks and a tail shorter than a vector
    ByteBuffer x = ByteBuffer.allocateDirect(4 * length).order(ORDER);
    ByteBuffer y = ByteBuffer.allocateDirect(4 * length).order(ORDER);
    ByteBuffer d = ByteBuffer.allocateDirect(4 * length).order(ORDER);
    for (int i = 0; i < length; i++) {
      x.putFloat(4 * i, -12f + 24f * i / length);
    }
    int small = 2 * SPECIES.length() + 3;
    for (int i = 0; i < 6_000 && System.nanoTime() - start < maxNanos; i++) {
      forward(x.asFloatBuffer(), y.asFloatBuffer(), d.asFloatBuffer(), c, small);
      backward(x, d, y, c.beta(), i % 2 == 0 ? 0f : null, small);
    }
    while (System.nanoTime() - start < maxNanos) {
      long t0 = System.nanoTime();
      forward(x.asFloatBuffer(), y.asFloatBuffer(), d.asFloatBuffer(), c, length);
      backward(y, d, y, c.beta(), 0f, length);
      if (System.nanoTime() - t0 < 20L * length) { // compiled: a few ns per element; interpreted, microseconds
        break;
      }
    }
    return System.nanoTime() - start;
  }

  /**
   * {@code dx = ((dy·beta)·D) + plus}, or without the sum when {@code plus} is null, for {@code length} floats of
   * native memory read and written in place ({@link VectorKernels#nativeBytes}).
   */
  static void backward(ByteBuffer dy, ByteBuffer d, ByteBuffer dx, float beta, Float plus, int length) {
    int chunks = (length + CHUNK - 1) / CHUNK;
    VectorKernels.inParts(chunks, length, PARALLEL_MIN, (first, end) -> {
      int lanes = SPECIES.length();
      int stop = Math.min(length, end * CHUNK);
      int i = first * CHUNK;
      for (; i + lanes <= stop; i += lanes) {
        FloatVector r = FloatVector.fromByteBuffer(SPECIES, dy, 4 * i, ORDER).mul(beta)
            .mul(FloatVector.fromByteBuffer(SPECIES, d, 4 * i, ORDER));
        (plus == null ? r : r.add(plus.floatValue())).intoByteBuffer(dx, 4 * i, ORDER);
      }
      for (; i < stop; i++) {
        float r = dy.getFloat(4 * i) * beta * d.getFloat(4 * i);
        dx.putFloat(4 * i, plus == null ? r : r + plus);
      }
    });
  }
}
