package org.mtlora.heads;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.graph.ForwardRunner;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.LrSchedule;
import org.mtlora.core.train.SegmentChain;
import org.mtlora.core.train.TrainableGraph;
import org.mtlora.core.train.Trainer;
import org.mtlora.core.train.TrainerConfig;
import org.mtlora.swin.SwinConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Activation checkpointing computes what the whole graph computes: the same losses, batch-norm statistics and
 * gradients of every trainable parameter, with dropout and drop path active (masks shared by declaration order).
 */
class ActivationCheckpointingTest {
  private static final long SEED = 11;

  /** A registry whose LoRA B matrices are non-zero, so that every adapter gets a gradient. */
  private static ParameterRegistry registry(MultiTaskModel model) {
    ParameterRegistry params = model.newRegistry(FreezePolicy.MTLORA, 3);
    SplittableRandom r = new SplittableRandom(5);
    for (String name : params.trainableNames()) {
      if (name.contains("lora_") && name.contains("_B")) {
        INDArray b = params.get(name);
        double[] v = new double[(int) b.length()];
        for (int i = 0; i < v.length; i++) {
          v[i] = 0.05 * (r.nextDouble() - 0.5);
        }
        params.set(name, Nd4j.createFromArray(v).reshape(b.shape()).castTo(b.dataType()));
      }
    }
    return params;
  }

  private static TrainableGraph.Pass pass(SegmentChain chain, Map<String, INDArray> batch) {
    Map<String, INDArray> feed = new java.util.HashMap<>(batch);
    feed.putAll(chain.masks().sample(2, SEED, 4, DataType.FLOAT));
    return chain.forwardBackward(feed);
  }

  /**
   * From the second step on, the gradient functions replay their first run's ops (ForwardRunner): three steps with
   * other dropout and drop-path masks each give the losses, batch-norm statistics and gradients of steps through
   * SameDiff's session, bit for bit, for the whole graph and for block segments.
   */
  @Test
  void replayedStepsGiveTheSessionsBits() {
    MultiTaskModel model = TrainerTest.tinyModel();
    ParameterRegistry params = registry(model);
    Map<String, INDArray> batch = TrainerTest.batch(model, 9);
    for (ActivationCheckpointing mode : List.of(ActivationCheckpointing.NONE, ActivationCheckpointing.BLOCK)) {
      List<TrainableGraph.Pass> expected = new java.util.ArrayList<>();
      System.setProperty(ForwardRunner.REPLAY_PROPERTY, "false");
      try {
        SegmentChain session = model.trainingGraph(params, DataType.FLOAT, mode);
        for (int step = 0; step < 3; step++) {
          expected.add(pass(session, batch, step));
          session.releaseMemory();
        }
      } finally {
        System.clearProperty(ForwardRunner.REPLAY_PROPERTY);
      }
      SegmentChain chain = model.trainingGraph(params, DataType.FLOAT, mode);
      for (int step = 0; step < 3; step++) {
        TrainableGraph.Pass got = pass(chain, batch, step);
        TrainableGraph.Pass want = expected.get(step);
        String where = mode.label() + " step " + step;
        assertEquals(want.totalLoss(), got.totalLoss(), 0.0, where);
        List<INDArray> wantStats = List.copyOf(want.extras().values());
        List<INDArray> gotStats = List.copyOf(got.extras().values());
        for (int i = 0; i < wantStats.size(); i++) {
          assertArrayEquals(wantStats.get(i).data().asFloat(), gotStats.get(i).data().asFloat(), 0f, where);
        }
        assertEquals(want.gradients().keySet(), got.gradients().keySet(), where);
        want.gradients().forEach((name, g) -> {
          if (g != null) {
            assertArrayEquals(g.data().asFloat(), got.gradients().get(name).data().asFloat(), 0f, where + " " + name);
          }
        });
        chain.releaseMemory();
      }
      assertTrue(chain.replayedRuns() >= 2, mode.label() + ": " + chain.replayedRuns() + " replayed runs");
    }
  }

  private static TrainableGraph.Pass pass(SegmentChain chain, Map<String, INDArray> batch, long step) {
    Map<String, INDArray> feed = new java.util.HashMap<>(batch);
    feed.putAll(chain.masks().sample(2, SEED, step, DataType.FLOAT));
    return chain.forwardBackward(feed);
  }

  @Test
  void stageAndBlockSegmentsGiveTheWholeGraphsLossesAndGradients() {
    MultiTaskModel model = TrainerTest.tinyModel();
    ParameterRegistry params = registry(model);
    Map<String, INDArray> batch = TrainerTest.batch(model, 9);
    SegmentChain whole = model.trainingGraph(params, DataType.FLOAT, ActivationCheckpointing.NONE);
    TrainableGraph.Pass expected = pass(whole, batch);
    assertEquals(1, whole.numGraphs());
    for (ActivationCheckpointing mode : List.of(ActivationCheckpointing.STAGE, ActivationCheckpointing.BLOCK)) {
      SegmentChain chain = model.trainingGraph(params, DataType.FLOAT, mode);
      // tiny model: depths (2, 1) -> 2 stage segments or 3 block segments, plus the heads
      assertEquals(mode == ActivationCheckpointing.STAGE ? 3 : 4, chain.numGraphs(), mode.label());
      assertEquals(whole.masks().specs().stream().map(s -> s.name()).toList(),
          chain.masks().specs().stream().map(s -> s.name()).toList(), "mask declaration order");
      TrainableGraph.Pass got = pass(chain, batch);
      assertEquals(expected.totalLoss(), got.totalLoss(), 1e-6 * Math.abs(expected.totalLoss()), mode.label());
      expected.taskLosses().forEach((task, loss) ->
          assertEquals(loss, got.taskLosses().get(task), 1e-6 * Math.abs(loss) + 1e-9, mode.label() + " " + task));
      // batch-norm statistics, in the same (task) order; their names are the graphs' own
      List<INDArray> expectedStats = List.copyOf(expected.extras().values());
      List<INDArray> gotStats = List.copyOf(got.extras().values());
      assertEquals(2 * model.config().tasks().size(), gotStats.size());
      for (int i = 0; i < expectedStats.size(); i++) {
        assertClose(expectedStats.get(i), gotStats.get(i), mode.label() + " batch-norm statistic " + i);
      }
      int nonZero = 0;
      for (String name : params.trainableNames()) {
        INDArray e = expected.gradients().get(name);
        INDArray g = got.gradients().get(name);
        assertEquals(e == null, g == null, mode.label() + ": gradient presence of " + name);
        if (e != null) {
          assertClose(e, g, mode.label() + ": gradient of " + name);
          nonZero += e.amaxNumber().doubleValue() > 0 ? 1 : 0;
        }
      }
      assertTrue(nonZero > params.trainableNames().size() / 2, "most gradients are non-zero: " + nonZero);
    }
  }

  /** With a frozen backbone (decoders only) the backbone segments run forward only; the gradients are unchanged. */
  @Test
  void aFrozenBackboneIsNotDifferentiated() {
    MultiTaskModel model = TrainerTest.tinyModel();
    ParameterRegistry params = model.newRegistry(FreezePolicy.DECODERS_ONLY, 3);
    Map<String, INDArray> batch = TrainerTest.batch(model, 4);
    TrainableGraph.Pass expected = pass(model.trainingGraph(params, DataType.FLOAT, ActivationCheckpointing.NONE),
        batch);
    TrainableGraph.Pass got = pass(model.trainingGraph(params, DataType.FLOAT, ActivationCheckpointing.BLOCK), batch);
    assertEquals(expected.totalLoss(), got.totalLoss(), 1e-6 * expected.totalLoss());
    assertEquals(expected.gradients().keySet(), got.gradients().keySet());
    assertTrue(got.gradients().keySet().stream().allMatch(n -> n.startsWith("decoders.") || n.startsWith("downsampl")),
        "only decoder parameters train: " + got.gradients().keySet());
    expected.gradients().forEach((name, g) -> assertClose(g, got.gradients().get(name), "gradient of " + name));
  }

  /**
   * Training through a block chain moves the parameters exactly as the whole graph does and leaves frozen ones
   * alone. In float64, so that Adam (which turns tiny gradient differences into lr-sized ones where a gradient is
   * near zero) compares trajectories at 1e-9 rather than at float32 noise.
   */
  @Test
  void trainingWithBlockCheckpointingMatchesTheWholeGraph() throws Exception {
    MultiTaskModel model = TrainerTest.tinyModel();
    Map<String, INDArray> batch = new java.util.HashMap<>();
    TrainerTest.batch(model, 2).forEach((k, v) -> batch.put(k, v.castTo(DataType.DOUBLE)));
    // The conv bias before a training-mode batch norm has a zero true gradient (rounding noise only), which Adam
    // turns into steps of about lr either way: frozen here so that trajectories compare.
    FreezePolicy policy = FreezePolicy.of(s -> FreezePolicy.MTLORA.isTrainable(s)
        && !s.name().endsWith(".last_layer.0.bias"));
    ParameterRegistry wholeParams = registry(model);
    ParameterRegistry chainParams = registry(model);
    wholeParams.applyPolicy(policy);
    chainParams.applyPolicy(policy);
    String frozen = chainParams.frozenHash();
    TrainerConfig config = TrainerConfig.builder(new LrSchedule(2e-3, 1e-4, 1e-4, 0, 3)).seed(SEED).build();
    SegmentChain whole = model.trainingGraph(wholeParams, DataType.DOUBLE, ActivationCheckpointing.NONE);
    SegmentChain chain = model.trainingGraph(chainParams, DataType.DOUBLE, ActivationCheckpointing.BLOCK);
    new Trainer(config, List.of()).fit(whole, step -> batch, null);
    new Trainer(config, List.of()).fit(chain, step -> batch, null);
    assertEquals(frozen, chainParams.frozenHash(), "frozen weights changed");
    Map<String, INDArray> expected = whole.trainableArrays();
    Map<String, INDArray> got = chain.trainableArrays();
    assertEquals(expected.keySet(), got.keySet());
    int moved = 0;
    for (String name : expected.keySet()) {
      double diff = expected.get(name).sub(got.get(name)).amaxNumber().doubleValue();
      assertTrue(diff <= 1e-9 * (1 + expected.get(name).amaxNumber().doubleValue()), name + ": " + diff);
      moved += expected.get(name).castTo(DataType.FLOAT).equals(registry(model).get(name)) ? 0 : 1;
    }
    assertTrue(moved > expected.size() / 2, "most trainable parameters moved: " + moved);
    for (String name : wholeParams.names(s -> s.isBuffer())) {
      assertClose(wholeParams.get(name), chainParams.get(name), "batch-norm buffer " + name);
    }
  }

  @Test
  void unknownModeIsRejectedWithTheChoices() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ActivationCheckpointing.named("layers"));
    assertTrue(e.getMessage().contains("'layers'") && e.getMessage().contains("none, stage or block"),
        e.getMessage());
    assertEquals(ActivationCheckpointing.STAGE, ActivationCheckpointing.named("Stage"));
  }

  @Test
  void autoIsParsedAndLeavesTheChoiceToTheBatchSize() {
    assertEquals(ActivationCheckpointing.AUTO, ActivationCheckpointing.named("auto"));
    MultiTaskModel model = TrainerTest.tinyModel();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.trainingGraph(
        model.newRegistry(0), DataType.FLOAT, ActivationCheckpointing.AUTO));
    assertTrue(e.getMessage().contains("AUTO depends on the batch size"), e.getMessage());
  }

  /** Swin-T 448, four tasks: what the estimate was fitted to and checked against (docs/fine-tuning.md). */
  private static final MultiTaskConfig SWIN_T_448 = MultiTaskConfig.pascal(SwinConfig.tiny(448),
      AdapterConfig.mtlora(16, 4));

  @Test
  void peakEstimatesFollowTheMeasuredPeaks() {
    // sum over blocks of tokens x channels: 2 x 112^2 x 96 + 2 x 56^2 x 192 + 6 x 28^2 x 384 + 2 x 14^2 x 768
    assertEquals(2 * 12544 * 96 + 2 * 3136 * 192 + 6 * 784 * 384 + 2 * 196 * 768,
        ActivationCheckpointing.activationUnits(SWIN_T_448.swin()), 0);
    // measured peak RSS (bench --mode train, 2026-12-06, sums, norms and GELUs releasing their operands): whole
    // graph 448 b1 2.70 / 2.94 / 2.71 GB, b2 4.74 / 4.78 GB, 224 b4 2.83 / 2.71 GB; stage checkpointing 448 b1
    // 1.93 GB, b2 2.96 GB
    assertWithin(2.78e9, ActivationCheckpointing.estimatedPeakBytes(SWIN_T_448, 1, ActivationCheckpointing.NONE));
    assertWithin(4.76e9, ActivationCheckpointing.estimatedPeakBytes(SWIN_T_448, 2, ActivationCheckpointing.NONE));
    MultiTaskConfig at224 = MultiTaskConfig.pascal(SwinConfig.tiny(224), AdapterConfig.mtlora(16, 4));
    assertWithin(2.77e9, ActivationCheckpointing.estimatedPeakBytes(at224, 4, ActivationCheckpointing.NONE));
    assertWithin(1.93e9, ActivationCheckpointing.estimatedPeakBytes(SWIN_T_448, 1, ActivationCheckpointing.STAGE));
    assertWithin(2.96e9, ActivationCheckpointing.estimatedPeakBytes(SWIN_T_448, 2, ActivationCheckpointing.STAGE));
    assertThrows(IllegalArgumentException.class,
        () -> ActivationCheckpointing.estimatedPeakBytes(SWIN_T_448, 1, ActivationCheckpointing.BLOCK));
  }

  private static void assertWithin(double measured, long estimated) {
    assertTrue(Math.abs(estimated - measured) <= 0.05 * measured, "estimate " + estimated + " against " + measured);
  }

  @Test
  void autoTakesTheFastestModeThatFitsTheBudget() {
    long budget = 8_000_000_000L; // whole graph: 4.8 GB at b2, 8.7 GB at b4; stage: 5.0 GB at b4, 9.1 GB at b8
    ActivationCheckpointing auto = ActivationCheckpointing.AUTO;
    assertEquals(ActivationCheckpointing.NONE, auto.resolve(SWIN_T_448, 2, budget));
    assertEquals(ActivationCheckpointing.STAGE, auto.resolve(SWIN_T_448, 4, budget));
    assertEquals(ActivationCheckpointing.BLOCK, auto.resolve(SWIN_T_448, 8, budget));
    assertEquals(ActivationCheckpointing.BLOCK, auto.resolve(SWIN_T_448, 1, 1)); // the smallest peak, whatever fits
    for (ActivationCheckpointing fixed : List.of(ActivationCheckpointing.NONE, ActivationCheckpointing.STAGE,
        ActivationCheckpointing.BLOCK)) {
      assertEquals(fixed, fixed.resolve(SWIN_T_448, 64, 1), "a chosen mode stays");
    }
    assertTrue(ActivationCheckpointing.memoryBudget() > 0);
    assertTrue(ActivationCheckpointing.describe(auto, SWIN_T_448, 2).matches(
        "(none|stage|block) \\(auto: whole graph 4\\.8 GB estimated at batch 2, budget [0-9.]+ GB\\)"),
        ActivationCheckpointing.describe(auto, SWIN_T_448, 2));
    assertEquals("stage", ActivationCheckpointing.describe(ActivationCheckpointing.STAGE, SWIN_T_448, 2));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> auto.resolve(SWIN_T_448, 0, budget));
    assertTrue(e.getMessage().contains("batch must be >= 1"), e.getMessage());
  }

  /** Float32 rounding differs only in summation order between graphs: |diff| <= 1e-5 max|e| + 1e-7. */
  private static void assertClose(INDArray e, INDArray g, String what) {
    assertEquals(java.util.Arrays.toString(e.shape()), java.util.Arrays.toString(g.shape()), what);
    double diff = e.castTo(DataType.DOUBLE).sub(g.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    double scale = e.amaxNumber().doubleValue();
    assertTrue(diff <= 1e-5 * scale + 1e-7, what + ": max|diff| " + diff + " for max|value| " + scale);
  }
}
