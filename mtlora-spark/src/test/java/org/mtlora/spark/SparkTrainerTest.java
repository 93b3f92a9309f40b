package org.mtlora.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.adapter.LoraSize;
import org.mtlora.core.adapter.Method;
import org.mtlora.core.adapter.StageAdapters;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.Checkpoints;
import org.mtlora.core.train.LrSchedule;
import org.mtlora.core.train.ShardedSteps;
import org.mtlora.core.train.StepEngine;
import org.mtlora.core.train.Trainer;
import org.mtlora.core.train.TrainerConfig;
import org.mtlora.core.train.TrainingListener;
import org.mtlora.data.NormalsValidClasses;
import org.mtlora.data.PascalBatches;
import org.mtlora.data.SyntheticPascal;
import org.mtlora.heads.ActivationCheckpointing;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.swin.SwinCheckpoints;
import org.mtlora.swin.SwinConfig;
import org.mtlora.tasks.PascalTasks;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Data-parallel training on Spark {@code local[2]} (two task threads, each failed task tried up to twice) against
 * the same semantics computed in process ({@link ShardedSteps}): a tiny MTLoRA Swin with dropout and drop path, four
 * PASCAL tasks, 64x64 generated PASCAL-format images, global batch 4 over two workers.
 */
class SparkTrainerTest {
  private static final int STEPS = 4;
  private static final long SEED = 7;

  @TempDir static Path shared;
  private static JavaSparkContext sc;
  private static MultiTaskConfig config;
  private static Path backbone;
  private static PascalShards data;

  @BeforeAll
  static void start() throws IOException {
    SwinConfig swin = SwinConfig.builder().imgSize(64).patchSize(4).embedDim(8).depths(2, 1).numHeads(1, 2)
        .windowSize(4).dropPathRate(0.1).build();
    AdapterConfig lora = AdapterConfig.builder(Method.MTLORA).allStages(new StageAdapters(LoraSize.of(4, 4.0),
        LoraSize.of(2, 4.0), com.google.common.collect.ImmutableMap.of(), 0.05)).build();
    config = MultiTaskConfig.builder(swin, lora).tasks(PascalTasks.byNames(List.of("semseg", "human_parts", "sal",
        "normals"))).decoderChannels(List.of(4, 4)).build();
    backbone = shared.resolve("backbone.safetensors");
    ParameterRegistry pretrained = new MultiTaskModel(config).newRegistry(99);
    SwinCheckpoints.savePretrained(backbone, pretrained);
    Path root = shared.resolve("pascal");
    SyntheticPascal.generate(root, 8, 2, 64, 3);
    data = PascalShards.of(root, NormalsValidClasses.reference(), 64, 4, SEED);
    sc = new JavaSparkContext(new SparkConf().setMaster("local[2,2]").setAppName("SparkTrainerTest")
        .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1"));
  }

  @AfterAll
  static void stop() {
    if (sc != null) {
      sc.stop();
    }
  }

  private static TrainerConfig trainerConfig(Path checkpoints) {
    TrainerConfig.Builder b = TrainerConfig.builder(new LrSchedule(2e-3, 1e-4, 1e-4, 1, STEPS)).seed(SEED);
    if (checkpoints != null) {
      b.checkpoints(checkpoints, 2, 3);
    }
    return b.build();
  }

  /** Every parameter and buffer, copied. */
  private static Map<String, INDArray> values(ParameterRegistry params) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    params.names(s -> true).forEach(n -> out.put(n, params.get(n).dup()));
    return out;
  }

  /** The same semantics in process: the shards of every step computed in turn on one graph. */
  private static Map<String, INDArray> inProcess(int workers, List<Double> losses) throws IOException {
    MultiTaskModel model = new MultiTaskModel(config);
    ParameterRegistry params = model.newRegistry(0);
    SwinCheckpoints.loadPretrained(backbone, params, true);
    StepEngine engine = new ShardedSteps(model.trainingGraph(params, DataType.FLOAT, ActivationCheckpointing.BLOCK),
        data.open(), workers);
    new Trainer(trainerConfig(null), List.of(r -> losses.add(r.totalLoss()))).fit(engine, null);
    return values(params);
  }

  private static SparkTrainer spark(int workers, ShardHook hook) throws IOException {
    return SparkTrainer.builder(config, backbone, data).workers(workers).hook(hook).build(sc);
  }

  private static void assertSameValues(Map<String, INDArray> expected, Map<String, INDArray> actual) {
    assertEquals(expected.keySet(), actual.keySet());
    List<String> differ = new ArrayList<>();
    expected.forEach((name, v) -> {
      if (!v.equals(actual.get(name))) {
        differ.add(name + " (max |diff| " + v.castTo(DataType.DOUBLE).sub(actual.get(name).castTo(DataType.DOUBLE))
            .amaxNumber() + ")");
      }
    });
    assertEquals(List.of(), differ, "parameters that differ");
  }

  @Test
  void twoSparkWorkersEndBitIdenticalToTheSameShardsComputedInProcess() throws IOException {
    List<Double> expectedLosses = new ArrayList<>();
    Map<String, INDArray> expected = inProcess(2, expectedLosses);
    List<Double> losses = new ArrayList<>();
    try (SparkTrainer trainer = spark(2, ShardHook.NONE)) {
      Map<String, INDArray> before = values(trainer.params());
      trainer.fit(trainerConfig(null), List.of(r -> losses.add(r.totalLoss())), null);
      Map<String, INDArray> after = values(trainer.params());
      assertSameValues(expected, after);
      assertEquals(expectedLosses, losses);
      String head = "decoders.decoders.semseg.last_layer.3.weight";
      assertNotEquals(before.get(head), after.get(head), "training moved nothing: the comparison proves nothing");
      assertEquals(before.get("backbone.layers.0.blocks.0.attn.qkv.weight"),
          after.get("backbone.layers.0.blocks.0.attn.qkv.weight"), "a frozen weight moved");
      SparkTrainer.Exchange x = trainer.exchange();
      int trainable = trainer.params().trainableNames().stream()
          .mapToInt(n -> (int) trainer.params().get(n).length()).sum();
      assertEquals(STEPS, x.steps());
      assertTrue(x.broadcastBytesPerStep() >= 4.0 * trainable, "broadcast " + x.broadcastBytesPerStep());
      assertTrue(x.resultBytesPerStep() >= 2 * 4.0 * trainable && x.resultBytesPerStep() < 2 * 4.4 * trainable + 1e5,
          "two gradients of " + trainable + " floats per step, found " + x.resultBytesPerStep() + " bytes");
      assertEquals(0, x.failedTasks());
    }
  }

  @Test
  void oneSparkWorkerIsSingleMachineTraining() throws IOException {
    MultiTaskModel model = new MultiTaskModel(config);
    ParameterRegistry params = model.newRegistry(0);
    SwinCheckpoints.loadPretrained(backbone, params, true);
    PascalBatches batches = (PascalBatches) data.open();
    new Trainer(trainerConfig(null), List.of()).fit(model.trainingGraph(params, DataType.FLOAT,
        ActivationCheckpointing.BLOCK), batches, null);
    try (SparkTrainer trainer = spark(1, ShardHook.NONE)) {
      trainer.fit(trainerConfig(null), List.of(), null);
      assertSameValues(values(params), values(trainer.params()));
    }
  }

  @Test
  void aWorkerTaskThatFailsOnceIsRetriedAndTheRunEndsAsWithoutTheFailure() throws IOException {
    Map<String, INDArray> expected = inProcess(2, new ArrayList<>());
    ShardHook failOnce = (step, rank, attempt) -> {
      if (step == 2 && rank == 1 && attempt == 0) {
        throw new IllegalStateException("injected failure of rank 1 at step 2");
      }
    };
    try (SparkTrainer trainer = spark(2, failOnce)) {
      trainer.fit(trainerConfig(null), List.of(), null);
      assertEquals(1, trainer.exchange().failedTasks(), "the injected failure did not happen (or happened twice)");
      assertSameValues(expected, values(trainer.params()));
    }
  }

  @Test
  void aDriverThatDiesResumesFromItsLastCheckpointAndEndsAsAnUninterruptedRun(@TempDir Path run) throws IOException {
    Map<String, INDArray> expected = inProcess(2, new ArrayList<>());
    Path checkpoints = run.resolve("checkpoints");
    TrainingListener dies = r -> {
      if (r.step() == 2) { // checkpoint of step 2 written, step 3's update computed but not saved
        throw new IllegalStateException("driver died");
      }
    };
    try (SparkTrainer first = spark(2, ShardHook.NONE)) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> first.fit(trainerConfig(checkpoints), List.of(dies), null));
      assertEquals("driver died", e.getMessage());
    }
    Path last = Checkpoints.latest(checkpoints);
    try (SparkTrainer resumed = spark(2, ShardHook.NONE)) {
      assertEquals(2, Checkpoints.validate(last, resumed.params(), null).step());
      resumed.fit(trainerConfig(checkpoints), List.of(), last);
      assertSameValues(expected, values(resumed.params()));
    }
  }

  @Test
  void anExecutorReadingOtherBackboneWeightsRefusesNamingTheFile(@TempDir Path dir) throws IOException {
    Path copy = dir.resolve("backbone.safetensors");
    Files.copy(backbone, copy);
    try (SparkTrainer trainer = SparkTrainer.builder(config, copy, data).workers(2).build(sc)) {
      ParameterRegistry other = new MultiTaskModel(config).newRegistry(98);
      SwinCheckpoints.savePretrained(copy, other); // replaced after the driver read it
      Exception e = assertThrows(Exception.class, () -> trainer.fit(trainerConfig(null), List.of(), null));
      String message = String.valueOf(e.getMessage());
      assertTrue(message.contains(copy.toString()) && message.contains("differ from the driver's"), message);
    }
  }

  @Test
  void localMastersGetTaskRetries() {
    assertEquals("local[2,4]", SparkTrainer.withTaskRetries("local[2]"));
    assertEquals("local[*,4]", SparkTrainer.withTaskRetries("local[*]"));
    assertEquals("local[2,2]", SparkTrainer.withTaskRetries("local[2,2]"));
    assertEquals("spark://host:7077", SparkTrainer.withTaskRetries("spark://host:7077"));
  }
}
