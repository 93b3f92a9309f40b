package org.mtlora.core.graph;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The float {@code erfc} and {@code exp} that {@link KernelSession} computes on the JVM instead of libnd4j, which
 * computes both one element at a time with glibc's scalar functions: {@link VectorErfc} (the exact GELU) and {@link
 * VectorExp} (the GELU's derivative in training graphs), written on the JDK's vector API — and the decision, taken
 * once per JVM, whether the session's JVM kernels run at all: these two, {@link BatchedMatmul} (the window attention's
 * products), {@link PermuteKernel}, {@link RowMeans} (the layer norms' means), {@link SumOverRows} (sums over a
 * matrix's rows), {@link RowLogSoftmax} (log-softmax over rows), {@link PixelLogLikelihoodKernel} (the training
 * losses' log-softmax and pick, through {@link PixelSoftmax}), {@link BernoulliDraws} (dropout masks, on AVX-512) and
 * the fused groups of evaluation graphs ({@link GeluFusion}, whose one pass is {@link VectorErfc#erfcProduct}, and
 * {@link LayerNormFusion}) and of replayed training runs ({@link TrainingGelu}, whose passes are {@link VectorGelu}'s).
 *
 * <p>They run when the JVM has the vector API ({@code --add-modules jdk.incubator.vector}, which {@code ./mtlora} and
 * the tests pass) and its optimising compiler (not under {@code -XX:TieredStopAtLevel=1} to 3 or {@code -Xint}: without
 * it the vector API is 500-1000 times slower), ND4J runs on the CPU, the CPU has vectors of 8 floats or more (AVX2,
 * AVX-512; narrower or emulated vectors are slower than libnd4j) and the system property {@value #PROPERTY} is not
 * {@code false}; otherwise, and for any array that is not a whole float buffer in C order, libnd4j's ops run as
 * before. Both compute the same functions; they differ by a few ulp ({@code VectorErfcTest}, {@code VectorExpTest}).
 * Until the JIT compiler has compiled a kernel it runs 500-1000 times slower (a first 4.8M-element erfc took 1 s), so
 * {@link #prepare} — called when a graph is built — starts a daemon thread that runs the vector kernels on small arrays
 * until they are compiled (about 0.5 s each on 2 cores), overlapping graph construction rather than the first forward.
 * Compiled or not, a kernel computes the same bits.
 *
 * <p>The compute-bound kernels here copy arrays through chunks of {@value #CHUNK} floats into Java arrays (the vector
 * API of JDK 17 reads native memory only through byte buffers, which measured 2x slower for erfc); the memory-bound
 * ones ({@link RowMeans}, {@link LayerNormFusion}, the GELU's backward in {@link VectorGelu}) read and write native
 * memory in place ({@link #nativeBytes}), where the copies halved their speed. Arrays of {@value #PARALLEL_MIN}
 * elements or more are split over the common fork-join pool.
 */
public final class VectorKernels {
  /** Set it to {@code false} to keep libnd4j's ops everywhere (for comparisons). */
  static final String PROPERTY = "mtlora.vectorKernels";
  /** Set it to {@code false} to run fused groups op by op (for comparisons); read when a session is created. */
  static final String FUSIONS_PROPERTY = "mtlora.fusions";

  /** What a kernel does to one chunk: {@code dst[i]} from {@code src[i]} for {@code i < n}. */
  interface ChunkFunction {
    /** The arrays are padded to a multiple of the lane count; {@code src} and {@code dst} are different arrays. */
    void apply(float[] src, float[] dst, int n);
  }

  /** A function the kernels compute. */
  enum Function implements ChunkFunction {
    ERFC,
    EXP;

    /** {@code dst[i] = f(src[i])} for {@code i < n} (the arrays padded to a multiple of the lane count). */
    @Override
    public void apply(float[] src, float[] dst, int n) {
      if (this == ERFC) {
        VectorErfc.erfc(src, dst, n);
      } else {
        VectorExp.exp(src, dst, n);
      }
    }
  }

  private static final String MODULE = "jdk.incubator.vector";
  private static final int MIN_LANES = 8;
  /** Elements per chunk: copied from the array into a Java array, transformed, copied back. */
  private static final int CHUNK = 8192;
  /** Below this many elements one thread does the whole array. */
  private static final int PARALLEL_MIN = 4 * CHUNK;
  private static final long WARM_UP_MAX_NANOS = 3_000_000_000L;
  /** The exact GELU's constants in an evaluation graph, {@code x · (0.5 · erfc(−x/√2))}, for the warm-up. */
  private static final float GELU_ALPHA = (float) (-1 / Math.sqrt(2));
  private static final float GELU_BETA = 0.5f;
  /** Why the kernels are off in this JVM, or null when they are on. */
  private static final String OFF_BECAUSE = offBecause();
  private static final boolean ENABLED = OFF_BECAUSE == null;

  private VectorKernels() {}

  /** Whether this JVM runs float erfc and exp, the attention products, permutes and row means on the JVM kernels. */
  public static boolean enabled() {
    return ENABLED;
  }

  /**
   * Whether a session created now computes groups of an evaluation graph's ops together ({@link Fusion}): when the
   * kernels are on and the system property {@value #FUSIONS_PROPERTY} is not {@code false}.
   */
  public static boolean fusions() {
    return ENABLED && !"false".equalsIgnoreCase(System.getProperty(FUSIONS_PROPERTY));
  }

  /**
   * Where the kernels' ops run in this JVM and, when on libnd4j, why (for {@code ./mtlora info} and benchmark
   * output), e.g. {@code "vector API, 16 float lanes"} or {@code "libnd4j (no --add-modules jdk.incubator.vector)"}.
   */
  public static String describe() {
    return ENABLED ? "vector API, " + VectorExp.lanes() + " float lanes" : "libnd4j (" + OFF_BECAUSE + ")";
  }

  private static String offBecause() {
    if ("false".equalsIgnoreCase(System.getProperty(PROPERTY))) {
      return PROPERTY + "=false";
    }
    if (ModuleLayer.boot().findModule(MODULE).isEmpty()) {
      return "no --add-modules " + MODULE;
    }
    if (!optimisingCompiler()) {
      return "no optimising JIT compiler";
    }
    if (!Nd4j.getEnvironment().isCPU()) {
      return "GPU";
    }
    return VectorExp.lanes() < MIN_LANES ? "vectors narrower than " + MIN_LANES + " floats" : null;
  }

  /** Whether HotSpot's C2 compiles hot code here (false under {@code -Xint} or a tiered stop below level 4). */
  private static boolean optimisingCompiler() {
    try {
      HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
      if ("false".equals(vm.getVMOption("UseCompiler").getValue())) {
        return false;
      }
      return !"true".equals(vm.getVMOption("TieredCompilation").getValue())
          || Integer.parseInt(vm.getVMOption("TieredStopAtLevel").getValue()) >= 4;
    } catch (RuntimeException e) {
      return true; // not HotSpot: assume an optimising compiler
    }
  }

  /** Starts the kernels' warm-up in the background, once per JVM, when they are on. */
  static void prepare() {
    if (ENABLED) {
      WarmUp.start();
    }
  }

  /** Holder whose initialisation starts the warm-up thread: the JVM initialises it once, on first use. */
  private static final class WarmUp {
    static {
      Thread thread = new Thread(() -> {
        BernoulliDraws.warmUp(WARM_UP_MAX_NANOS); // first: a training run draws its first masks before any op runs
        for (Function f : Function.values()) {
          warmUp(f, WARM_UP_MAX_NANOS);
        }
        warmUp(erfcProduct(GELU_ALPHA, GELU_BETA), WARM_UP_MAX_NANOS);
        // a training graph's GELU and its derivative (VectorGelu): γ = −½, κ = √(2/π)
        VectorGelu.Constants gelu =
            new VectorGelu.Constants(GELU_ALPHA, GELU_BETA, -0.5f, (float) Math.sqrt(2 / Math.PI));
        VectorGelu.warmUp(gelu, WARM_UP_MAX_NANOS);
        SumOverRows.warmUp(WARM_UP_MAX_NANOS);
        LayerNormLanes.warmUp(WARM_UP_MAX_NANOS);
        PixelLogLikelihoodKernel.warmUp(WARM_UP_MAX_NANOS);
        BatchedMatmul.warmUp(WARM_UP_MAX_NANOS);
      }, "mtlora-vector-kernels-warm-up");
      thread.setDaemon(true);
      thread.start();
    }

    private WarmUp() {}

    static void start() {
      // initialising the class started the thread
    }
  }

  /**
   * Runs {@code f} on small inputs until the JIT compiler has compiled it, at most {@code maxNanos}: thousands of
   * one-vector calls bring the loop past the optimising compiler's invocation threshold, then chunk-sized calls show
   * when the compiled code is in (under 20 ns per element). Returns the nanoseconds it took.
   */
  static long warmUp(ChunkFunction f, long maxNanos) {
    long start = System.nanoTime();
    float[] src = new float[CHUNK];
    float[] dst = new float[CHUNK];
    for (int i = 0; i < CHUNK; i++) {
      src[i] = -12f + 24f * i / CHUNK;
    }
    int lanes = VectorExp.lanes();
    for (int i = 0; i < 6_000 && System.nanoTime() - start < maxNanos; i++) {
      f.apply(src, dst, lanes);
    }
    while (System.nanoTime() - start < maxNanos) {
      long t0 = System.nanoTime();
      f.apply(src, dst, CHUNK);
      if (System.nanoTime() - t0 < 20L * CHUNK) {
        break;
      }
      for (int i = 0; i < 200; i++) {
        f.apply(src, dst, lanes);
      }
    }
    return System.nanoTime() - start;
  }

  /**
   * Writes {@code f(in)} into {@code out} and returns true, or returns false without touching either when this pair is
   * not for the kernels (either not a whole float buffer in C order, lengths that differ or exceed an
   * int).
   */
  static boolean tryApply(Function f, INDArray in, INDArray out) {
    if (!accepts(in, out)) {
      return false;
    }
    prepare();
    apply(f, in.data().asNioFloat(), out.data().asNioFloat(), (int) in.length());
    return true;
  }

  /**
   * Writes {@code in · (beta · erfc(alpha · in))} into {@code out} ({@link VectorErfc#erfcProduct}: the bits of the
   * four ops it replaces) and returns true, or returns false without touching either on the terms of {@link
   * #tryApply}.
   */
  static boolean tryErfcProduct(INDArray in, float alpha, float beta, INDArray out) {
    if (!accepts(in, out)) {
      return false;
    }
    prepare();
    apply(erfcProduct(alpha, beta), in.data().asNioFloat(), out.data().asNioFloat(), (int) in.length());
    return true;
  }

  /**
   * Writes a training graph's GELU {@code y} and, unless {@code d} is null, its derivative {@code D} from {@code x}
   * ({@link VectorGelu#forward}: the bits of the ten ops it replaces) and returns true, or returns false without
   * touching any when the arrays are not whole float buffers of one length.
   */
  static boolean tryGeluForward(INDArray x, VectorGelu.Constants c, INDArray y, INDArray d) {
    if (!accepts(x, y) || (d != null && !accepts(x, d))) {
      return false;
    }
    prepare();
    VectorGelu.forward(x.data().asNioFloat(), y.data().asNioFloat(), d == null ? null : d.data().asNioFloat(), c,
        (int) x.length());
    return true;
  }

  /**
   * Writes {@code dx = ((dy·beta)·d) + plus} (no sum when {@code plus} is null: {@link VectorGelu#backward}, the bits
   * of the ops it replaces) and returns true, or returns false without touching any when the arrays are not whole
   * float buffers of one length.
   */
  static boolean tryGeluBackward(INDArray dy, INDArray d, float beta, Float plus, INDArray dx) {
    if (!accepts(dy, dx) || !accepts(d, dx)) {
      return false;
    }
    VectorGelu.backward(nativeBytes(dy), nativeBytes(d), nativeBytes(dx), beta, plus, (int) dx.length());
    return true;
  }

  private static ChunkFunction erfcProduct(float alpha, float beta) {
    return (src, dst, n) -> VectorErfc.erfcProduct(src, dst, alpha, beta, n);
  }

  /**
   * {@code a}'s native memory as bytes in this machine's order, for a memory-bound kernel to read and write in place
   * with the vector API ({@code FloatVector.fromByteBuffer}): on JDK 17 that runs at libnd4j's speed, where copying
   * chunks into Java arrays, as the compute-bound kernels here do, made a streaming pass about twice as slow.
   */
  static ByteBuffer nativeBytes(INDArray a) {
    return a.data().asNio().duplicate().order(ByteOrder.nativeOrder());
  }

  /** Whether an element-wise kernel takes {@code in} and {@code out}: whole float buffers of one length. */
  static boolean accepts(INDArray in, INDArray out) {
    return in != null && out != null && wholeFloatBuffer(in) && wholeFloatBuffer(out)
        && in.length() == out.length() && in.length() <= Integer.MAX_VALUE;
  }

  /**
   * Whether {@code a} is a float array laid out row-major (C order) from index 0 of its buffer, as the kernels read it:
   * not a view, and every axis longer than 1 with the stride C order gives it (an F-order array, or a strided one,
   * is not).
   */
  static boolean wholeFloatBuffer(INDArray a) {
    if (a.dataType() != DataType.FLOAT || a.isView() || a.offset() != 0 || a.data().length() < a.length()) {
      return false;
    }
    long expected = 1;
    for (int i = a.rank() - 1; i >= 0; i--) {
      if (a.size(i) != 1 && a.stride(i) != expected) {
        return false;
      }
      expected *= a.size(i);
    }
    return true;
  }

  /**
   * Whether the kernels are on and {@code x} and {@code others} are whole float buffers of one rank-2 shape with at most
   * {@code maxElements} elements: the matrices a row or column kernel ({@link BatchNormKernel}, {@link
   * LayerNormKernel}) reads and writes in place.
   */
  static boolean floatMatrices(long maxElements, INDArray x, INDArray... others) {
    if (!ENABLED || x.rank() != 2 || x.length() > maxElements || !wholeFloatBuffer(x)) {
      return false;
    }
    for (INDArray a : others) {
      if (!wholeFloatBuffer(a) || !a.equalShapes(x)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether {@code a} is a vector (rank 1) of {@code type} from index 0 of its own buffer, as the kernels read indices
   * and labels in place.
   */
  static boolean wholeVector(INDArray a, DataType type) {
    return a.dataType() == type && a.rank() == 1 && !a.isView() && a.offset() == 0 && a.data().length() >= a.length();
  }

  /** Whether every array is a whole float buffer of exactly {@code length} elements (a per-row or per-column vector). */
  static boolean wholeFloatBuffers(long length, INDArray... arrays) {
    for (INDArray a : arrays) {
      if (!wholeFloatBuffer(a) || a.length() != length) {
        return false;
      }
    }
    return true;
  }

  /**
   * Writes {@code f(in[i])} to {@code out[i]} for {@code i < length}; both buffers hold at least {@code length} floats
   * from index 0 (they may be the same buffer).
   */
  static void apply(ChunkFunction f, FloatBuffer in, FloatBuffer out, int length) {
    int chunks = (length + CHUNK - 1) / CHUNK;
    inParts(chunks, length, PARALLEL_MIN, (first, end) -> chunkRange(f, in, out, length, first, end));
  }

  /** Part {@code [first, end)} of a kernel's items (chunks, rows, matrices, runs). */
  interface Part {
    void run(int first, int end);
  }

  /**
   * Runs {@code part} over the items {@code [0, items)}: in one go when {@code work} (the kernel's own measure: floats,
   * multiply-adds) is below {@code parallelMin}, else in equal parts over the common fork-join pool, one per core (at
   * most one per item). Every kernel splits its work this way, so each part's items are its own.
   */
  static void inParts(int items, long work, long parallelMin, Part part) {
    int parts = work < parallelMin ? 1 : Math.min(items, Runtime.getRuntime().availableProcessors());
    if (parts <= 1) {
      part.run(0, items);
      return;
    }
    IntStream.range(0, parts)
        .parallel()
        .forEach(p -> part.run((int) ((long) items * p / parts), (int) ((long) items * (p + 1) / parts)));
  }

  /** Chunks {@code [first, end)}, through two Java arrays of this task's own. */
  private static void chunkRange(ChunkFunction f, FloatBuffer in, FloatBuffer out, int length, int first, int end) {
    float[] src = new float[CHUNK];
    float[] dst = new float[CHUNK];
    for (int c = first; c < end; c++) {
      int offset = c * CHUNK;
      int n = Math.min(CHUNK, length - offset);
      in.get(offset, src, 0, n);
      f.apply(src, dst, n);
      out.put(offset, dst, 0, n);
    }
  }
}
