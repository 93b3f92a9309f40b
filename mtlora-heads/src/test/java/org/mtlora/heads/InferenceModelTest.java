package org.mtlora.heads;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.adapter.LoraMode;
import org.mtlora.core.adapter.Method;
import org.mtlora.core.graph.ForwardRunner;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.swin.SwinConfig;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Merged inference equals the unmerged evaluation forward for every mode and MTLoRA+, a single-task model equals
 * that task's output of the full one, and an exported file reproduces the outputs in a JVM without mtlora4j.
 */
class InferenceModelTest {
  @TempDir Path dir;

  /** Two stages of two blocks: merged and task-path layers both occur. */
  static final SwinConfig SWIN = SwinConfig.builder().imgSize(32).patchSize(4).embedDim(8).depths(2, 2)
      .numHeads(1, 2).windowSize(4).build();

  static MultiTaskConfig config(AdapterConfig adapters) {
    return MultiTaskConfig.pascal(SWIN, adapters, List.of("semseg", "normals", "sal"));
  }

  /** A "trained" registry: every parameter and buffer random (adapter B matrices included, so deltas are not 0). */
  static ParameterRegistry trained(MultiTaskConfig config, long seed) {
    ParameterRegistry params = new MultiTaskModel(config).newRegistry(seed);
    AdapterFolderTest.scramble(params, seed + 1, 0.5);
    return params;
  }

  static Map<String, INDArray> unmerged(MultiTaskConfig config, ParameterRegistry params, INDArray x) {
    MultiTaskModel.Graph g = new MultiTaskModel(config).build(
        GraphContext.evaluation(SameDiff.create(), params, DataType.FLOAT), false);
    List<String> names = new ArrayList<>();
    g.outputs().values().forEach(v -> names.add(v.name()));
    Map<String, INDArray> out = g.sd().output(Map.of(MultiTaskModel.INPUT, x), names);
    Map<String, INDArray> byTask = new java.util.LinkedHashMap<>();
    g.outputs().forEach((t, v) -> byTask.put(t, out.get(v.name())));
    return byTask;
  }

  static double maxAbsDiff(INDArray a, INDArray b) {
    return a.sub(b).amaxNumber().doubleValue();
  }

  @Test
  void mergedEqualsUnmergedForEveryModeAndMtloraPlus() {
    Nd4j.getRandom().setSeed(42);
    INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 32, 32).subi(0.5).muli(2);
    List<AdapterConfig> variants = List.of(AdapterConfig.mtlora(4, 2),
        AdapterConfig.builder(Method.MTLORA).mode(LoraMode.MATRIX_V2).build(),
        AdapterConfig.builder(Method.MTLORA).mode(LoraMode.ADDITION).build(), AdapterConfig.loraOnly(4),
        AdapterConfig.mtloraPlus(4, 2), AdapterConfig.builder(Method.MTLORA_PLUS).mode(LoraMode.MATRIX_V2).build());
    for (AdapterConfig adapters : variants) {
      MultiTaskConfig config = config(adapters);
      ParameterRegistry params = trained(config, 11);
      String before = params.frozenHash() + params.get("backbone.layers.0.blocks.0.attn.qkv.linear.weight");
      Map<String, INDArray> expected = unmerged(config, params, x);
      InferenceModel merged = InferenceModel.merged(config, params);
      Map<String, INDArray> got = merged.predict(x);
      for (String t : expected.keySet()) {
        double d = maxAbsDiff(expected.get(t), got.get(t));
        System.out.printf("[merge] %s mode %s %s: max |merged - unmerged| = %.3g (outputs up to %.3g)%n",
            adapters.method().label(), adapters.mode(), t, d, expected.get(t).amaxNumber().doubleValue());
        assertTrue(d <= 1e-4, adapters + " " + t + ": " + d);
      }
      // the test can fail: without the shared deltas the outputs move by far more than the tolerance
      ParameterRegistry withoutShared = trained(config, 11);
      withoutShared.specs().stream().filter(s -> s.name().endsWith("lora_shared_B"))
          .forEach(s -> withoutShared.assign(s.name(), withoutShared.get(s.name()).mul(0)));
      Map<String, INDArray> dropped = unmerged(config, withoutShared, x);
      assertTrue(expected.keySet().stream().anyMatch(t -> maxAbsDiff(expected.get(t), dropped.get(t)) > 1e-2));
      // pure: the trained registry is unchanged; the merged model has fewer adapter tensors
      assertEquals(before, params.frozenHash() + params.get("backbone.layers.0.blocks.0.attn.qkv.linear.weight"));
      assertFalse(merged.parameters().contains("backbone.layers.0.blocks.0.attn.qkv.lora_shared_A"));
      assertTrue(merged.parameters().specs().size() < params.specs().size());
    }
  }

  /**
   * Unmerged and merged, MTLoRA and MTLoRA+: the second prediction replays the first one's ops (ForwardRunner) and
   * gives the bits of a prediction through SameDiff's session; so does a third on another batch.
   */
  @Test
  void laterPredictionsReplayTheFirstWithTheSessionsBits() {
    Nd4j.getRandom().setSeed(8);
    INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 32, 32).subi(0.5).muli(2);
    INDArray y = Nd4j.rand(DataType.FLOAT, 2, 3, 32, 32).subi(0.5).muli(2);
    for (AdapterConfig adapters : List.of(AdapterConfig.mtlora(4, 2), AdapterConfig.mtloraPlus(4, 2))) {
      MultiTaskConfig config = config(adapters);
      ParameterRegistry params = trained(config, 5);
      MultiTaskModel.Graph g = new MultiTaskModel(config).build(
          GraphContext.evaluation(SameDiff.create(), params, DataType.FLOAT), false);
      InferenceModel merged = InferenceModel.merged(config, params);
      System.setProperty(ForwardRunner.REPLAY_PROPERTY, "false");
      Map<String, INDArray> expectX;
      Map<String, INDArray> expectY;
      Map<String, INDArray> expectMergedY;
      try {
        expectX = g.predict(x);
        expectY = g.predict(y);
        expectMergedY = merged.predict(y);
      } finally {
        System.clearProperty(ForwardRunner.REPLAY_PROPERTY);
      }
      assertFalse(g.context().forwardRunner().replays());
      assertSameBits(expectX, g.predict(x)); // recorded
      assertTrue(g.context().forwardRunner().replays(), adapters + ": every op of the evaluation graph replays");
      assertSameBits(expectX, g.predict(x));
      assertSameBits(expectY, g.predict(y));
      assertEquals(2, g.context().forwardRunner().replayedRuns());
      merged.predict(x);
      assertTrue(merged.replays(), adapters + ": the merged graph replays too");
      assertSameBits(expectMergedY, merged.predict(y));
    }
  }

  private static void assertSameBits(Map<String, INDArray> expected, Map<String, INDArray> actual) {
    assertEquals(expected.keySet(), actual.keySet());
    expected.forEach((task, e) -> assertArrayEquals(e.data().asFloat(), actual.get(task).data().asFloat(), 0f, task));
  }

  @Test
  void aSingleTaskModelComputesOnlyThatTaskAndEqualsIt() {
    MultiTaskConfig config = config(AdapterConfig.mtlora(4, 2));
    ParameterRegistry params = trained(config, 3);
    INDArray x = Nd4j.rand(DataType.FLOAT, 1, 3, 32, 32);
    Map<String, INDArray> all = unmerged(config, params, x);
    InferenceModel normals = InferenceModel.singleTask(config, params, "normals");
    Map<String, INDArray> one = normals.predict(x);
    assertEquals(List.of("normals"), List.copyOf(one.keySet()));
    assertTrue(maxAbsDiff(all.get("normals"), one.get("normals")) <= 1e-4);
    assertTrue(normals.parameters().specs().stream().noneMatch(s -> s.name().contains("semseg")));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> InferenceModel.singleTask(config, params, "depth"));
    assertTrue(e.getMessage().contains("unknown task 'depth'"), e.getMessage());
  }

  @Test
  void aNonFiniteDeltaIsRefusedNamingTheLayer() {
    MultiTaskConfig config = config(AdapterConfig.mtlora(4, 2));
    ParameterRegistry params = trained(config, 3);
    String a = "backbone.layers.1.blocks.0.mlp.fc1.lora_shared_A";
    INDArray bad = params.get(a).dup();
    bad.putScalar(0, Float.POSITIVE_INFINITY);
    params.assign(a, bad);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> InferenceModel.merged(config, params));
    assertTrue(e.getMessage().startsWith("backbone.layers.1.blocks.0.mlp.fc1: the shared adapter's delta has NaN"),
        e.getMessage());
  }

  @Test
  void anExportedFileReproducesTheOutputsWithoutMtlora4j() throws Exception {
    MultiTaskConfig config = config(AdapterConfig.mtloraPlus(4, 2));
    ParameterRegistry params = trained(config, 5);
    InferenceModel merged = InferenceModel.merged(config, params);
    INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 32, 32);
    Map<String, INDArray> expected = merged.predict(x);
    Path model = dir.resolve("model.sd");
    assertTrue(merged.export(model) > 0);
    Path input = dir.resolve("input.npy");
    Nd4j.writeAsNumpy(x, input.toFile());

    // a JVM whose class path is ND4J and its dependencies plus the loader, none of mtlora4j's classes
    Path loaderDir = dir.resolve("loader");
    Path cls = Path.of(plainload.PlainSameDiffLoad.class.getProtectionDomain().getCodeSource().getLocation().toURI())
        .resolve("plainload/PlainSameDiffLoad.class");
    Files.createDirectories(loaderDir.resolve("plainload"));
    Files.copy(cls, loaderDir.resolve("plainload/PlainSameDiffLoad.class"));
    List<String> cp = new ArrayList<>(List.of(loaderDir.toString()));
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (!e.contains("mtlora")) {
        cp.add(e);
      }
    }
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx1g", "-cp", String.join(File.pathSeparator, cp), "plainload.PlainSameDiffLoad", model.toString(),
        input.toString(), dir.toString()));
    cmd.addAll(expected.keySet());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), log);
    for (String t : expected.keySet()) {
      INDArray got = Nd4j.createFromNpyFile(dir.resolve(t + ".npy").toFile());
      assertTrue(maxAbsDiff(expected.get(t), got) <= 1e-5, t + " in\n" + log);
    }
  }
}
