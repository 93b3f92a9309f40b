package org.mtlora.heads;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.adapter.LoraSize;
import org.mtlora.core.adapter.Method;
import org.mtlora.core.adapter.StageAdapters;
import org.mtlora.core.graph.ForwardRunner;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.io.AdapterFiles;
import org.mtlora.core.train.BatchSource;
import org.mtlora.core.train.Checkpoints;
import org.mtlora.core.train.CsvLog;
import org.mtlora.core.train.LossPlot;
import org.mtlora.core.train.LrSchedule;
import org.mtlora.core.train.StepResult;
import org.mtlora.core.train.SegmentChain;
import org.mtlora.core.train.Trainer;
import org.mtlora.core.train.TrainerConfig;
import org.mtlora.core.train.TrainingDivergedException;
import org.mtlora.core.train.TrainingListener;
import org.mtlora.swin.SwinConfig;
import org.mtlora.tasks.Task;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The training engine on a tiny MTLoRA model with the four PASCAL tasks (dropout and drop path active). */
public class TrainerTest {
  @TempDir Path dir;

  static final List<String> TASKS = List.of("semseg", "human_parts", "sal", "normals");

  static MultiTaskModel tinyModel() {
    SwinConfig swin = SwinConfig.builder().imgSize(32).patchSize(4).embedDim(8).depths(2, 1).numHeads(1, 2)
        .windowSize(4).dropPathRate(0.1).build();
    AdapterConfig lora = AdapterConfig.builder(Method.MTLORA).allStages(new StageAdapters(LoraSize.of(4, 4.0),
        LoraSize.of(2, 4.0), com.google.common.collect.ImmutableMap.of(), 0.05)).build();
    return new MultiTaskModel(MultiTaskConfig.builder(swin, lora).tasks(org.mtlora.tasks.PascalTasks.byNames(TASKS))
        .decoderChannels(List.of(4, 4)).build());
  }

  /**
   * A batch of 2 drawn from a seed alone: random images, and per image one class (semseg, parts; a few pixels
   * ignored), one saliency value and one unit normal, so that a tiny model can fit it.
   */
  public static Map<String, INDArray> batch(MultiTaskModel model, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int s = model.config().swin().imgSize();
    Map<String, INDArray> b = new HashMap<>();
    float[] img = new float[2 * 3 * s * s];
    for (int i = 0; i < img.length; i++) {
      img[i] = (float) (r.nextDouble() - 0.5);
    }
    b.put(MultiTaskModel.INPUT, Nd4j.createFromArray(img).reshape(2, 3, s, s));
    for (Task t : model.config().tasks()) {
      int c = t.targetChannels();
      float[] v = new float[2 * c * s * s];
      for (int n = 0; n < 2; n++) {
        double[] normal = {r.nextDouble() - 0.5, r.nextDouble() - 0.5, r.nextDouble() + 0.5};
        double len = Math.sqrt(normal[0] * normal[0] + normal[1] * normal[1] + normal[2] * normal[2]);
        int cls = r.nextInt(t.outputChannels());
        for (int k = 0; k < c; k++) {
          for (int p = 0; p < s * s; p++) {
            int i = ((n * c) + k) * s * s + p;
            if (c == 3) { // a vector per pixel (normals)
              v[i] = (float) (normal[k] / len);
            } else if (t.outputChannels() == 1) { // a binary map (saliency)
              v[i] = n;
            } else { // classes, a few pixels ignored
              v[i] = p % 97 == 0 ? 255 : cls;
            }
          }
        }
      }
      b.put("target/" + t.name(), Nd4j.createFromArray(v).reshape(2, c, s, s));
    }
    return b;
  }

  private record Run(MultiTaskModel model, ParameterRegistry params, SegmentChain graph) {}

  private static Run newRun(long initSeed) {
    MultiTaskModel model = tinyModel();
    ParameterRegistry params = model.newRegistry(FreezePolicy.MTLORA, initSeed);
    return new Run(model, params, model.trainingGraph(params, DataType.FLOAT, ActivationCheckpointing.NONE));
  }

  private TrainerConfig config(long steps, Path ckpt) {
    TrainerConfig.Builder b = TrainerConfig.builder(new LrSchedule(2e-3, 1e-4, 1e-4, 2, steps)).seed(7);
    if (ckpt != null) {
      b.checkpoints(ckpt, 3, 2);
    }
    return b.build();
  }

  @Test
  void frozenWeightsStayBitIdenticalWhileTrainableOnesMove() throws Exception {
    Run run = newRun(1);
    String frozen = run.params().frozenHash();
    Map<String, INDArray> before = new HashMap<>();
    run.params().trainableNames().forEach(n -> before.put(n, run.params().get(n).dup()));
    Map<String, INDArray> data = batch(run.model(), 3);
    new Trainer(config(20, null), List.of()).fit(run.graph(), step -> data, null);
    assertEquals(frozen, run.params().frozenHash(), "frozen weights changed");
    List<String> unmoved = new ArrayList<>();
    for (String n : run.params().trainableNames()) {
      if (before.get(n).equals(run.params().get(n))) {
        unmoved.add(n);
      }
    }
    // Everything trainable moves except the B matrix of the very last block's shared fc2 adapter: no loss reads that
    // stream, so it gets no gradient, and weight decay keeps zero at zero (its A matrix still decays).
    assertEquals(List.of("backbone.layers.1.blocks.0.mlp.fc2.lora_shared_B"), unmoved);
  }

  /**
   * Training with replayed steps (ForwardRunner, from the second step on) ends where training through SameDiff's
   * session ends: the same losses at every step and the same trainable weights, bit for bit — so replayed steps read
   * the weights the optimiser has just updated.
   */
  @Test
  void replayedStepsTrainAsStepsThroughTheSession() throws Exception {
    BatchSource data = step -> batch(tinyModel(), 200 + step % 2);
    List<List<Double>> losses = new ArrayList<>();
    List<ParameterRegistry> trained = new ArrayList<>();
    for (boolean replay : new boolean[] {false, true}) {
      System.setProperty(ForwardRunner.REPLAY_PROPERTY, String.valueOf(replay));
      try {
        Run run = newRun(6);
        List<Double> seen = new ArrayList<>();
        new Trainer(config(5, null), List.of(r -> seen.add(r.totalLoss()))).fit(run.graph(), data, null);
        assertEquals(replay ? 4 : 0, run.graph().replayedRuns(), "steps 2-5 replayed");
        losses.add(seen);
        trained.add(run.params());
      } finally {
        System.clearProperty(ForwardRunner.REPLAY_PROPERTY);
      }
    }
    assertEquals(losses.get(0), losses.get(1));
    for (String name : trained.get(0).trainableNames()) {
      assertArrayEquals(trained.get(0).get(name).data().asFloat(), trained.get(1).get(name).data().asFloat(), 0f, name);
    }
  }

  @Test
  void lossFallsWhenOverfittingOneBatch() throws Exception {
    Run run = newRun(2);
    Map<String, INDArray> data = batch(run.model(), 4);
    List<Double> losses = new ArrayList<>();
    TrainingListener record = r -> losses.add(r.totalLoss());
    new Trainer(TrainerConfig.builder(new LrSchedule(5e-3, 5e-3, 5e-3, 0, 30)).build(), List.of(record))
        .fit(run.graph(), step -> data, null);
    double first = losses.get(0);
    double last = losses.get(losses.size() - 1);
    System.out.println("[overfit] losses " + losses);
    assertTrue(last < 0.5 * first, "loss " + first + " -> " + last);
  }

  @Test
  void resumeFromCheckpointEqualsAStraightRun() throws Exception {
    BatchSource data = step -> batch(tinyModel(), 100 + step);
    Run straight = newRun(5);
    new Trainer(config(6, null), List.of()).fit(straight.graph(), data, null);

    Path ckpt = dir.resolve("ckpt");
    Run first = newRun(5);
    BatchSource crashing = step -> {
      if (step == 3) {
        throw new IllegalStateException("simulated crash");
      }
      return data.batch(step);
    };
    assertThrows(IllegalStateException.class,
        () -> new Trainer(config(6, ckpt), List.of()).fit(first.graph(), crashing, null));
    Path saved = Checkpoints.latest(ckpt);
    assertEquals(Checkpoints.file(ckpt, 3), saved);

    Run resumed = newRun(5);
    new Trainer(config(6, ckpt), List.of()).fit(resumed.graph(), data, saved);
    for (String n : straight.params().trainableNames()) {
      assertArrayEquals(straight.params().get(n).reshape(-1).toFloatVector(),
          resumed.params().get(n).reshape(-1).toFloatVector(), n);
    }
    for (var s : straight.params().specs()) {
      if (s.isBuffer()) {
        assertEquals(straight.params().get(s.name()), resumed.params().get(s.name()), s.name());
      }
    }
    // keep-last-2: checkpoints after steps 3 and 6 remain
    try (var files = Files.list(ckpt)) {
      assertEquals(2, files.count());
    }
  }

  @Test
  void adaptersRoundTripAndRefuseAnotherBase() throws Exception {
    Run run = newRun(6);
    Map<String, INDArray> data = batch(run.model(), 5);
    new Trainer(config(3, null), List.of()).fit(run.graph(), step -> data, null);
    Path file = dir.resolve("adapters.safetensors");
    long size = AdapterFiles.save(file, run.params(), run.model().config().toJsonString());
    assertTrue(size > 0 && Files.exists(AdapterFiles.sidecar(file)));

    ParameterRegistry same = run.model().newRegistry(FreezePolicy.MTLORA, 6);
    AdapterFiles.load(file, same);
    for (String n : run.params().trainableNames()) {
      assertEquals(run.params().get(n), same.get(n), n);
    }
    for (var s : run.params().specs()) {
      if (s.isBuffer()) {
        assertEquals(run.params().get(s.name()), same.get(s.name()), "buffers travel with the adapters: " + s.name());
      }
    }
    ParameterRegistry otherBase = run.model().newRegistry(FreezePolicy.MTLORA, 99);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> AdapterFiles.load(file, otherBase));
    assertTrue(e.getMessage().contains("was written for different frozen weights"), e.getMessage());
  }

  @Test
  void nanLossStopsWithTheStepAndTaskAndKeepsTheLastGoodState() throws Exception {
    Run run = newRun(7);
    Map<String, INDArray> good = batch(run.model(), 6);
    Map<String, INDArray> bad = new HashMap<>(good);
    INDArray normals = good.get("target/normals").dup();
    normals.putScalar(new long[] {0, 0, 0, 0}, Float.NaN);
    bad.put("target/normals", normals);
    Path ckpt = dir.resolve("nan");
    TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
        () -> new Trainer(config(10, ckpt), List.of()).fit(run.graph(), step -> step == 4 ? bad : good, null));
    assertTrue(e.getMessage().startsWith("step 4: the loss of task 'normals' is NaN"), e.getMessage());
    assertTrue(e.getMessage().contains(Checkpoints.file(ckpt, 4).toString()), e.getMessage());
    assertTrue(Files.exists(Checkpoints.file(ckpt, 4)));
  }

  @Test
  void csvLogAndLossPlotAreWritten() throws Exception {
    Run run = newRun(8);
    Map<String, INDArray> data = batch(run.model(), 7);
    Path csv = dir.resolve("log.csv");
    Path png = dir.resolve("loss.png");
    List<StepResult> seen = new ArrayList<>();
    new Trainer(config(4, null), List.of(new CsvLog(csv), new LossPlot(png), seen::add)).fit(run.graph(),
        step -> data, null);
    List<String> lines = Files.readAllLines(csv);
    assertEquals("step,total_loss,loss_semseg,loss_human_parts,loss_sal,loss_normals,lr,grad_norm,seconds",
        lines.get(0));
    assertEquals(5, lines.size());
    assertTrue(lines.get(4).startsWith("3,"));
    assertTrue(Files.size(png) > 1000, "plot written");
    assertNotEquals(seen.get(0).lr(), seen.get(3).lr());
  }
}
