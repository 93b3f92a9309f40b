package org.mtlora.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.graph.VectorKernels;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.heads.TrainerTest;
import org.mtlora.swin.SwinConfig;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The fine-tuning example in a JVM started without {@code --add-modules jdk.incubator.vector}, as an application that
 * embeds the library may be: ND4J's paths run where the JVM kernels would (training layer norms, the cross-entropy's
 * log-likelihood, dropout masks), and the first step's losses and gradient norm are this JVM's within float rounding.
 * Before the layer norm's vector loops had a class of their own, such a JVM failed in the first training step with
 * {@code NoClassDefFoundError: jdk/incubator/vector/Vector}.
 */
class WithoutVectorModuleTest {
  @TempDir Path dir;

  @Test
  void fineTunesWithTheSameFirstStep() throws Exception {
    List<String> here = Child.fineTune(dir.resolve("here"));
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"),
        Child.class.getName(), dir.resolve("child").toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(300, TimeUnit.SECONDS), log);
    assertEquals(0, p.exitValue(), log);
    assertTrue(log.contains("kernels libnd4j (no --add-modules jdk.incubator.vector)"), log);
    List<String> there = Files.readAllLines(dir.resolve("child").resolve("run").resolve("log.csv"));

    assertEquals(here.get(0), there.get(0), "the log's columns");
    String[] columns = here.get(0).split(",");
    String[] a = here.get(1).split(",");
    String[] b = there.get(1).split(",");
    for (int i = 1; i < columns.length - 1; i++) { // the losses and the gradient norm of step 1; not lr, seconds
      if (columns[i].equals("lr")) {
        continue;
      }
      double x = Double.parseDouble(a[i]);
      double y = Double.parseDouble(b[i]);
      assertTrue(Double.isFinite(y), columns[i] + " " + y);
      assertEquals(x, y, 1e-4 * Math.abs(x), columns[i] + " with " + VectorKernels.describe() + " and without");
    }
  }

  /** The example's two steps on a tiny backbone; its main runs in the child JVM. */
  public static final class Child {
    private Child() {}

    /** The training log's lines of a run in {@code dir}. */
    static List<String> fineTune(Path dir) throws Exception {
      SwinConfig swin = SwinConfig.builder().imgSize(32).patchSize(4).embedDim(8).depths(2, 1).numHeads(1, 2)
          .windowSize(4).build();
      Path pretrained = Pretrained.write(swin, dir.resolve("swin_official.safetensors"), 42);
      MultiTaskModel shape = new MultiTaskModel(MultiTaskConfig.pascal(swin, AdapterConfig.mtlora(16, 4)));
      Map<String, INDArray> batch = TrainerTest.batch(shape, 1);
      FineTuningExample.fineTune(swin, pretrained, step -> batch, step -> batch, 2, dir.resolve("run"));
      return Files.readAllLines(dir.resolve("run").resolve("log.csv"));
    }

    public static void main(String[] args) throws Exception {
      System.out.println("kernels " + VectorKernels.describe());
      fineTune(Path.of(args[0]));
    }
  }
}
