package org.mtlora.bench;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.bytedeco.javacpp.Pointer;
import org.mtlora.core.graph.ForwardRunner;
import org.mtlora.core.graph.VectorKernels;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code mtlora info}: what this JVM and ND4J will compute with. */
@Command(
    name = "info",
    mixinStandardHelpOptions = true,
    description = "Print the ND4J backend, BLAS vendor, thread counts, library versions and memory limits.")
final class InfoCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    Properties build = MtloraCommand.buildInfo();
    Properties env = Nd4j.getExecutioner().getEnvironmentInformation();
    row(out, "mtlora version", build.getProperty("mtlora.version"));
    row(out, "nd4j version", build.getProperty("nd4j.version") + " (" + build.getProperty("nd4j.backend.artifact")
        + ")");
    row(out, "nd4j backend", Nd4j.getBackend().getClass().getSimpleName());
    row(out, "blas vendor", String.valueOf(Nd4j.factory().blas().getBlasVendor()));
    row(out, "blas threads", String.valueOf(Nd4j.factory().blas().getMaxThreads()));
    row(out, "nd4j max threads", String.valueOf(Nd4j.getEnvironment().maxThreads()));
    row(out, "nd4j master threads", String.valueOf(Nd4j.getEnvironment().maxMasterThreads()));
    row(out, "omp threads", String.valueOf(env.get("omp.threads")));
    String wait = System.getenv("OMP_WAIT_POLICY");
    row(out, "OMP_WAIT_POLICY", wait == null ? "(unset: OpenMP threads spin; PASSIVE is faster on few cores)" : wait);
    StringBuilder malloc = new StringBuilder();
    for (String k : new String[] {"MALLOC_MMAP_MAX_", "MALLOC_ARENA_MAX", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"}) {
      if (System.getenv(k) != null) {
        malloc.append(malloc.length() == 0 ? "" : " ").append(k).append('=').append(System.getenv(k));
      }
    }
    row(out, "glibc malloc", malloc.length() == 0 ? "(defaults: fresh pages for large arrays)" : malloc.toString());
    row(out, "cpu cores", String.valueOf(Runtime.getRuntime().availableProcessors()));
    row(out, "default dtype", String.valueOf(Nd4j.dataType()));
    row(out, "javacpp platform", System.getProperty("org.bytedeco.javacpp.platform",
        org.bytedeco.javacpp.Loader.getPlatform()));
    String extension = System.getProperty("org.bytedeco.javacpp.platform.extension", "");
    row(out, "native build", extension.isEmpty() ? "generic" : extension.substring(1)
        + (extension.contains("onednn") ? " (oneDNN)" : ""));
    row(out, "jvm kernels", VectorKernels.describe()
        + (VectorKernels.enabled() ? " (erfc, exp, attention products, permute, row means)" : ""));
    row(out, "fused groups", VectorKernels.fusions() ? "evaluation GELUs and layer norms"
        : "none" + (VectorKernels.enabled() ? " (mtlora.fusions=false)" : " (jvm kernels off)"));
    row(out, "replayed forwards", ForwardRunner.enabled() ? "evaluation (from the second run of a shape on)"
        : "none (mtlora.replay=false)");
    row(out, "javacpp maxbytes", limit(Pointer.maxBytes()));
    row(out, "javacpp maxphysicalbytes", limit(Pointer.maxPhysicalBytes()));
    row(out, "javacpp in use", mib(Pointer.totalBytes()) + " (process RSS " + mib(Pointer.physicalBytes()) + ")");
    row(out, "jvm heap max", mib(Runtime.getRuntime().maxMemory()));
    row(out, "jvm collector", collector());
    row(out, "java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    out.println();
    out.println("nd4j environment:");
    new TreeMap<>(env).forEach((k, v) -> out.printf(Locale.ROOT, "  %-28s %s%n", k, v));
    out.flush();
    return 0;
  }

  /**
   * The JVM's garbage collector, with the young generation's size where the command line set it ({@code ./mtlora}
   * picks the parallel one with 64 MiB on machines with up to 4 CPUs).
   */
  static String collector() {
    List<String> beans = new ArrayList<>();
    ManagementFactory.getGarbageCollectorMXBeans().forEach(b -> beans.add(b.getName()));
    VMOption young = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).getVMOption("MaxNewSize");
    return collectorName(beans) + (young.getOrigin() == VMOption.Origin.VM_CREATION
        ? ", young generation " + mib(Long.parseLong(young.getValue())) : "");
  }

  /** serial, G1 or parallel from the names of the JVM's collector beans; otherwise the names themselves. */
  static String collectorName(List<String> beans) {
    if (beans.contains("MarkSweepCompact")) {
      return "serial";
    }
    if (!beans.isEmpty() && beans.stream().allMatch(b -> b.startsWith("G1 "))) {
      return "G1";
    }
    if (!beans.isEmpty() && beans.stream().allMatch(b -> b.startsWith("PS "))) {
      return "parallel";
    }
    return String.join(", ", beans);
  }

  private static void row(PrintWriter out, String key, String value) {
    out.printf(Locale.ROOT, "%-26s %s%n", key, value);
  }

  /** A javacpp limit: 0 means none (and, for the resident-memory limit, no check at each allocation). */
  private static String limit(long bytes) {
    return bytes > 0 ? mib(bytes) : "none";
  }

  private static String mib(long bytes) {
    return bytes <= 0 ? String.valueOf(bytes) : String.format(Locale.ROOT, "%,d MiB", bytes / (1024 * 1024));
  }
}
