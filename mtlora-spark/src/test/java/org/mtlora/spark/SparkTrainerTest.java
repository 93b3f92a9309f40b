package org.mtlora.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.Checkpoints;
import org.mtlora.core.train.ShardedSteps;
import org.mtlora.core.train.Trainer;
import org.mtlora.core.train.TrainerConfig;
import org.mtlora.core.train.TrainingListener;
import org.mtlora.data.PascalBatches;
import org.mtlora.heads.ActivationCheckpointing;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.swin.SwinCheckpoints;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Data-parallel training on Spark {@code local[2]} (two task threads, each failed task tried up to twice) against
 * the same semantics computed in process ({@link ShardedSteps}), on {@link TinySetup}'s model and data: global batch
 * 4 over two workers.
 */
class SparkTrainerTest {
  @TempDir static Path shared;
  private static JavaSparkContext sc;
  private static TinySetup tiny;

  @BeforeAll
  static void start() throws IOException {
    tiny = TinySetup.create(shared);
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
    return TinySetup.trainerConfig(checkpoints);
  }

  private static Map<String, INDArray> values(ParameterRegistry params) {
    return TinySetup.values(params);
  }

  private static Map<String, INDArray> inProcess(int workers, List<Double> losses) throws IOException {
    return tiny.inProcess(workers, losses);
  }

  private static SparkTrainer spark(int workers, ShardHook hook) throws IOException {
    return tiny.spark(sc, workers, hook);
  }

  static void assertSameValues(Map<String, INDArray> expected, Map<String, INDArray> actual) {
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
      assertEquals(TinySetup.STEPS, x.steps());
      assertTrue(x.broadcastBytesPerStep() >= 4.0 * trainable, "broadcast " + x.broadcastBytesPerStep());
      assertTrue(x.resultBytesPerStep() >= 2 * 4.0 * trainable && x.resultBytesPerStep() < 2 * 4.4 * trainable + 1e5,
          "two gradients of " + trainable + " floats per step, found " + x.resultBytesPerStep() + " bytes");
      assertEquals(0, x.failedTasks());
    }
  }

  @Test
  void oneSparkWorkerIsSingleMachineTraining() throws IOException {
    ParameterRegistry params = tiny.newRegistry();
    MultiTaskModel model = new MultiTaskModel(tiny.config());
    PascalBatches batches = (PascalBatches) tiny.data().open();
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
    Files.copy(tiny.backbone(), copy);
    try (SparkTrainer trainer = SparkTrainer.builder(tiny.config(), copy, tiny.data()).workers(2).build(sc)) {
      ParameterRegistry other = new MultiTaskModel(tiny.config()).newRegistry(98);
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
