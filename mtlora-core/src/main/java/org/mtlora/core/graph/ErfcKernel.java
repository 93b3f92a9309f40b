package org.mtlora.core.graph;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Decides where a float {@code erfc} runs in {@link KernelSession}: on {@link VectorErfc} when the JVM has the vector
 * API ({@code --add-modules jdk.incubator.vector}, which {@code ./mtlora} and the tests pass) and its optimising
 * compiler (not under {@code -XX:TieredStopAtLevel=1} to 3 or {@code -Xint}: without it the vector API is 500-1000
 * times slower), ND4J runs on the CPU, the CPU has vectors of 8 floats or more (AVX2, AVX-512; narrower or emulated
 * vectors are slower than libnd4j) and the system property {@value #PROPERTY} is not {@code false}; otherwise, and for
 * any array that is not a whole float buffer in its own order, libnd4j's {@code erfc} as before. Both compute the
 * same function; they differ by a few ulp ({@code VectorErfcTest}). The decision is taken once per JVM. Until the JIT
 * compiler has compiled the kernel it runs 500-1000 times slower (a first 4.8M-element array took 1 s), so {@link
 * #prepare} — called when a graph is built — starts a daemon thread that runs it on small arrays until it is compiled
 * ({@link VectorErfc#warmUp}, about 0.5 s on 2 cores), overlapping graph construction rather than the first forward.
 * Compiled or not, the kernel computes the same bits.
 */
public final class ErfcKernel {
  /** Set it to {@code false} to keep libnd4j's erfc everywhere (for comparisons). */
  static final String PROPERTY = "mtlora.vectorErfc";

  private static final String MODULE = "jdk.incubator.vector";
  private static final int MIN_LANES = 8;
  private static final long WARM_UP_MAX_NANOS = 3_000_000_000L;
  private static final boolean ENABLED = decide();

  private ErfcKernel() {}

  /** Whether this JVM runs float erfc on the vector kernel. */
  public static boolean enabled() {
    return ENABLED;
  }

  /**
   * Where float erfc runs in this JVM and, when on libnd4j, why (for {@code ./mtlora info} and benchmark output), e.g.
   * {@code "vector API, 16 float lanes"} or {@code "libnd4j (no --add-modules jdk.incubator.vector)"}.
   */
  public static String describe() {
    if (ENABLED) {
      return "vector API, " + VectorErfc.lanes() + " float lanes";
    }
    if ("false".equalsIgnoreCase(System.getProperty(PROPERTY))) {
      return "libnd4j (" + PROPERTY + "=false)";
    }
    if (ModuleLayer.boot().findModule(MODULE).isEmpty()) {
      return "libnd4j (no --add-modules " + MODULE + ")";
    }
    if (!optimisingCompiler()) {
      return "libnd4j (no optimising JIT compiler)";
    }
    return Nd4j.getEnvironment().isCPU() ? "libnd4j (vectors narrower than " + MIN_LANES + " floats)" : "libnd4j (GPU)";
  }

  private static boolean decide() {
    if ("false".equalsIgnoreCase(System.getProperty(PROPERTY))
        || ModuleLayer.boot().findModule(MODULE).isEmpty()
        || !optimisingCompiler()
        || !Nd4j.getEnvironment().isCPU()
        || VectorErfc.lanes() < MIN_LANES) {
      return false;
    }
    return true;
  }

  /** Starts the kernel's warm-up in the background, once per JVM, when the kernel is on. */
  static void prepare() {
    if (ENABLED) {
      WarmUp.start();
    }
  }

  /** Holder whose initialisation starts the warm-up thread: the JVM initialises it once, on first use. */
  private static final class WarmUp {
    static {
      Thread thread = new Thread(() -> VectorErfc.warmUp(WARM_UP_MAX_NANOS), "mtlora-erfc-warm-up");
      thread.setDaemon(true);
      thread.start();
    }

    private WarmUp() {}

    static void start() {
      // initialising the class started the thread
    }
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

  /**
   * Writes {@code erfc(in)} into {@code out} and returns true, or returns false without touching either when this
   * pair is not for the kernel (kernel off, not float, a view, an offset, other strides than its shape's own, lengths
   * that differ or exceed an int).
   */
  static boolean tryApply(INDArray in, INDArray out) {
    if (!ENABLED || in == null || out == null || !wholeFloatBuffer(in) || !wholeFloatBuffer(out)
        || in.length() != out.length() || in.length() > Integer.MAX_VALUE) {
      return false;
    }
    prepare();
    VectorErfc.apply(in.data().asNioFloat(), out.data().asNioFloat(), (int) in.length());
    return true;
  }

  private static boolean wholeFloatBuffer(INDArray a) {
    return a.dataType() == DataType.FLOAT
        && !a.isView()
        && a.offset() == 0
        && Shape.hasDefaultStridesForShape(a)
        && a.data().length() >= a.length();
  }
}
