package org.mtlora.heads;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.graph.RandomMasks;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.LrSchedule;
import org.mtlora.core.train.SegmentChain;
import org.mtlora.core.train.ShardedBatchSource;
import org.mtlora.core.train.ShardedSteps;
import org.mtlora.core.train.TrainableGraph;
import org.mtlora.core.train.Trainer;
import org.mtlora.core.train.TrainerConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Data-parallel semantics on one machine ({@link ShardedSteps}) on the tiny four-task model with dropout and drop
 * path: one worker is the single-machine trainer bit for bit; two workers average their shards' gradients (each
 * computed here independently by hand) and their running statistics.
 */
class ShardedStepsTest {
  private record Run(MultiTaskModel model, ParameterRegistry params, SegmentChain graph) {}

  private static Run newRun() {
    MultiTaskModel model = TrainerTest.tinyModel();
    ParameterRegistry params = model.newRegistry(FreezePolicy.MTLORA, 1);
    return new Run(model, params, model.trainingGraph(params, DataType.FLOAT, ActivationCheckpointing.NONE));
  }

  private static TrainerConfig config(long steps) {
    return TrainerConfig.builder(new LrSchedule(2e-3, 1e-4, 1e-4, 1, steps)).seed(7).build();
  }

  private static Map<String, INDArray> snapshot(ParameterRegistry params) {
    Map<String, INDArray> out = new HashMap<>();
    params.names(s -> true).forEach(n -> out.put(n, params.get(n).dup()));
    return out;
  }

  @Test
  void oneWorkerIsTheSingleMachineTrainerBitForBit() throws Exception {
    Run plain = newRun();
    Run sharded = newRun();
    MultiTaskModel model = plain.model();
    new Trainer(config(4), List.of()).fit(plain.graph(), step -> TrainerTest.batch(model, step), null);
    ShardedBatchSource data = ShardedBatchSource.split(step -> TrainerTest.batch(model, step));
    new Trainer(config(4), List.of()).fit(new ShardedSteps(sharded.graph(), data, 1), null);
    Map<String, INDArray> a = snapshot(plain.params());
    Map<String, INDArray> b = snapshot(sharded.params());
    for (String name : a.keySet()) {
      assertEquals(a.get(name), b.get(name), name);
    }
    assertNotEquals(snapshot(newRun().params()).get("decoders.decoders.semseg.last_layer.3.weight"),
        a.get("decoders.decoders.semseg.last_layer.3.weight"), "training moved nothing: the comparison proves nothing");
  }

  @Test
  void twoWorkersAverageTheirShardsGradientsAndRunningStatistics() {
    Run run = newRun();
    ParameterRegistry params = run.params();
    ShardedBatchSource data = ShardedBatchSource.split(step -> TrainerTest.batch(run.model(), step + 10));
    List<String> buffers = params.names(ParamSpec::isBuffer);
    Map<String, INDArray> before = snapshot(params);

    // by hand: each shard in turn on the same graph, from the same values, its masks from (seed, step, rank)
    Map<String, INDArray>[] grads = new Map[2];
    Map<String, INDArray>[] stats = new Map[2];
    double[] losses = new double[2];
    for (int rank = 0; rank < 2; rank++) {
      Map<String, INDArray> feed = new HashMap<>(data.shard(3, rank, 2));
      feed.putAll(run.graph().masks().sample(1, RandomMasks.shardSeed(7, rank), 3, DataType.FLOAT));
      TrainableGraph.Pass pass = run.graph().forwardBackward(feed);
      losses[rank] = pass.totalLoss();
      Map<String, INDArray> g = new HashMap<>();
      pass.gradients().forEach((n, v) -> g.put(n, v == null ? null : v.dup()));
      grads[rank] = g;
      run.graph().afterForward(pass.extras(), 1);
      stats[rank] = new HashMap<>();
      for (String b : buffers) {
        stats[rank].put(b, params.get(b).dup());
        params.get(b).assign(before.get(b)); // the next shard starts from the same statistics
      }
    }
    long differing = params.trainableNames().stream().filter(n -> grads[0].get(n) != null
        && !grads[0].get(n).equals(grads[1].get(n))).count();
    assertEquals(true, differing > params.trainableNames().size() / 2, "the shards' gradients hardly differ ("
        + differing + "): the average would prove nothing");

    ShardedSteps engine = new ShardedSteps(run.graph(), data, 2);
    TrainableGraph.Pass pass = engine.forwardBackward(3, 7);
    assertEquals((losses[0] + losses[1]) / 2, pass.totalLoss(), 0.0);
    for (String name : params.trainableNames()) {
      INDArray g0 = grads[0].get(name);
      INDArray g1 = grads[1].get(name);
      INDArray expected = g0 == null ? run.graph().trainableArrays().get(name).like()
          : g0.add(g1).divi(2);
      assertArrayEquals(flat(expected), flat(
          pass.gradients().get(name)), 0f, name);
    }
    for (String b : buffers) {
      assertEquals(before.get(b), params.get(b), b + " changed before the step was accepted");
    }
    engine.afterForward();
    for (String b : buffers) {
      double[] expected = new double[(int) params.get(b).length()];
      double[] s0 = flatD(stats[0].get(b));
      double[] s1 = flatD(stats[1].get(b));
      for (int i = 0; i < expected.length; i++) {
        expected[i] = (s0[i] + s1[i]) / 2;
      }
      assertArrayEquals(expected, flatD(params.get(b)), 1e-6, b);
    }
    assertEquals(1.0, params.get(buffers.stream().filter(n -> n.endsWith("num_batches_tracked")).findFirst()
        .orElseThrow()).getDouble(0), 0.0, "one step counts once");
  }

  @Test
  void unevenShardsAreRefusedWithTheirSizes() {
    Run run = newRun();
    ShardedBatchSource data = ShardedBatchSource.split(step -> TrainerTest.batch(run.model(), step));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new ShardedSteps(run.graph(), data, 3).forwardBackward(0, 7));
    assertEquals(true, e.getMessage().contains("a batch of 2 does not split evenly over 3 workers"), e.getMessage());
  }

  private static float[] flat(INDArray a) {
    return a.reshape(a.length()).toFloatVector();
  }

  private static double[] flatD(INDArray a) {
    return a.length() == 1 ? new double[] {a.getDouble(0)} : a.castTo(DataType.DOUBLE).reshape(a.length())
        .toDoubleVector();
  }
}
