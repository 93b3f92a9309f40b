package org.mtlora.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mtlora.core.graph.ForwardRunner;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.nn.Linear;
import org.mtlora.core.graph.RandomMasks;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.Init;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.params.Role;
import org.mtlora.core.testing.DoublePrecision;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The chain rule across graphs, on a two-layer network {@code loss = sum(tanh(x W1^T) W2^T)^2} split after the first
 * layer, against the same network as one graph and against gradients computed by hand.
 */
@ExtendWith(DoublePrecision.class)
class SegmentChainTest {
  private static final DataType T = DataType.DOUBLE;

  private static ParameterRegistry registry() {
    ParameterRegistry r = new ParameterRegistry();
    r.declare(ParamSpec.of("w1", Role.NORM, Init.uniform(0.5), 4, 3));
    r.declare(ParamSpec.of("w2", Role.NORM, Init.uniform(0.5), 2, 4));
    r.declare(ParamSpec.of("frozen", Role.PRETRAINED, Init.uniform(0.5), 2, 2));
    r.initialise(7);
    r.applyPolicy(FreezePolicy.of(s -> s.role() != Role.PRETRAINED));
    return r;
  }

  private static SDVariable hidden(GraphContext c, SDVariable x) {
    return c.sd().math.tanh(Linear.apply(c.sd(), x, c.param("w1"), null));
  }

  private static SDVariable loss(GraphContext c, SDVariable h) {
    SDVariable y = Linear.apply(c.sd(), h, c.param("w2"), null);
    y = c.sd().mmul(y, c.param("frozen"));
    return c.sd().identity("loss/total", y.mul(y).sum());
  }

  private static INDArray input() {
    return Nd4j.createFromArray(new double[][] {{0.3, -1.2, 0.5}, {1.1, 0.2, -0.7}, {-0.4, 0.9, 0.8}});
  }

  private static SegmentChain whole(ParameterRegistry r) {
    GraphContext c = GraphContext.training(SameDiff.create(), r, T);
    SDVariable x = c.sd().placeHolder("x", T, -1, 3);
    SDVariable l = loss(c, hidden(c, x));
    c.sd().setLossVariables(l);
    return SegmentChain.whole(new SegmentChain.LossSegment(c, ImmutableMap.of(), l, ImmutableMap.of("only", l),
        ImmutableList.of()), (extras, batch) -> {});
  }

  private static SegmentChain split(ParameterRegistry r) {
    RandomMasks masks = new RandomMasks();
    GraphContext first = GraphContext.training(SameDiff.create(), r, T, masks);
    SDVariable x = first.sd().placeHolder("x", T, -1, 3);
    SDVariable h = first.sd().identity("h", hidden(first, x));
    GraphContext second = GraphContext.training(SameDiff.create(), r, T, masks);
    SDVariable hIn = second.boundaryInput("h", -1, 4);
    SDVariable l = loss(second, hIn);
    second.sd().setLossVariables(l);
    return twoSegments(first, h, second, hIn, l);
  }

  @Test
  void splitChainGivesTheWholeGraphsLossAndGradients() {
    ParameterRegistry r = registry();
    TrainableGraph.Pass whole = whole(r).forwardBackward(Map.of("x", input()));
    SegmentChain chain = split(r);
    assertEquals(2, chain.numGraphs());
    TrainableGraph.Pass split = chain.forwardBackward(Map.of("x", input()));
    assertEquals(whole.totalLoss(), split.totalLoss(), 1e-12);
    assertEquals(List.of("w1", "w2"), List.copyOf(split.gradients().keySet()), "trainable parameters only");
    for (String name : List.of("w1", "w2")) {
      double diff = whole.gradients().get(name).sub(split.gradients().get(name)).amaxNumber().doubleValue();
      assertTrue(diff < 1e-12, name + ": " + diff);
    }

    // By hand: y = tanh(x W1^T) W2^T F, loss = sum(y^2); dL/dW1 = ((2 y F^T W2) * (1 - h^2))^T x.
    INDArray x = input();
    INDArray w1 = r.get("w1").castTo(T);
    INDArray w2 = r.get("w2").castTo(T);
    INDArray f = r.get("frozen").castTo(T);
    INDArray h = org.nd4j.linalg.ops.transforms.Transforms.tanh(x.mmul(w1.transpose()));
    INDArray y = h.mmul(w2.transpose()).mmul(f);
    INDArray dy = y.mul(2);
    INDArray dh = dy.mmul(f.transpose()).mmul(w2);
    INDArray dPre = dh.mul(h.mul(h).rsub(1));
    INDArray dW1 = dPre.transpose().mmul(x);
    INDArray dW2 = dy.mmul(f.transpose()).transpose().mmul(h);
    assertEquals(y.mul(y).sumNumber().doubleValue(), split.totalLoss(), 1e-12);
    assertTrue(dW1.sub(split.gradients().get("w1")).amaxNumber().doubleValue() < 1e-12);
    assertTrue(dW2.sub(split.gradients().get("w2")).amaxNumber().doubleValue() < 1e-12);
  }

  /**
   * The sessions' buffers come from an arena that is taken back after each session and reused by the next step:
   * what a step returned must not change when later steps run.
   */
  @Test
  void aStepsResultsSurviveTheNextStepsReuseOfTheArena() {
    ParameterRegistry r = registry();
    INDArray other = input().mul(-2.5).add(0.3);
    TrainableGraph.Pass expectedFirst = split(r).forwardBackward(Map.of("x", input()));
    TrainableGraph.Pass expectedSecond = split(r).forwardBackward(Map.of("x", other));

    SegmentChain chain = split(r);
    TrainableGraph.Pass first = chain.forwardBackward(Map.of("x", input()));
    INDArray w1 = first.gradients().get("w1");
    INDArray w1Copy = w1.dup();
    chain.releaseMemory();
    TrainableGraph.Pass second = chain.forwardBackward(Map.of("x", other));
    chain.releaseMemory();
    chain.forwardBackward(Map.of("x", input()));

    assertEquals(w1Copy, w1, "the first step's gradient, after two more steps");
    for (String name : List.of("w1", "w2")) {
      assertEquals(expectedFirst.gradients().get(name), first.gradients().get(name), name);
      assertEquals(expectedSecond.gradients().get(name), second.gradients().get(name), name);
    }
    assertEquals(expectedSecond.totalLoss(), second.totalLoss(), 0.0);
  }

  /**
   * From the second step on, each gradient function and body forward replays the ops its first run recorded
   * (ForwardRunner): the same losses and gradients, bit for bit, as steps through SameDiff's session, for the whole
   * graph and the split chain, and for another input than the recorded one.
   */
  @Test
  void laterStepsReplayTheFirstStepsOpsWithTheSessionsBits() {
    ParameterRegistry r = registry();
    INDArray other = input().mul(-2.5).add(0.3);
    INDArray twoRows = other.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 2),
        org.nd4j.linalg.indexing.NDArrayIndex.all()).dup();
    // the split chain's loss segment reads the batch through a variable (its boundary input), not a placeholder: a
    // batch of another size must be recorded anew, not replayed
    List<INDArray> inputs = List.of(input(), other, input(), twoRows, twoRows);
    for (boolean splitChain : new boolean[] {false, true}) {
      List<TrainableGraph.Pass> expected = new java.util.ArrayList<>();
      System.setProperty(ForwardRunner.REPLAY_PROPERTY, "false");
      try {
        SegmentChain session = splitChain ? split(r) : whole(r);
        for (INDArray x : inputs) {
          expected.add(session.forwardBackward(Map.of("x", x)));
          session.releaseMemory();
        }
        assertEquals(0, session.replayedRuns());
      } finally {
        System.clearProperty(ForwardRunner.REPLAY_PROPERTY);
      }
      SegmentChain chain = splitChain ? split(r) : whole(r);
      int i = 0;
      for (INDArray x : inputs) {
        TrainableGraph.Pass pass = chain.forwardBackward(Map.of("x", x));
        assertEquals(expected.get(i).totalLoss(), pass.totalLoss(), 0.0);
        for (String name : List.of("w1", "w2")) {
          assertArrayEquals(expected.get(i).gradients().get(name).data().asDouble(),
              pass.gradients().get(name).data().asDouble(), 0.0, name + " in step " + i);
        }
        chain.releaseMemory();
        i++;
      }
      // steps 2, 3 and 5 replay each gradient function, and the split chain's body forward
      assertEquals(splitChain ? 9 : 3, chain.replayedRuns());
    }
  }

  @Test
  void trainableArraysAreTheGraphsOwnOnesAndSyncBack() {
    ParameterRegistry r = registry();
    SegmentChain chain = split(r);
    Map<String, INDArray> live = chain.trainableArrays();
    assertEquals(List.of("w1", "w2"), List.copyOf(live.keySet()));
    live.get("w1").addi(1.0);
    chain.syncToRegistry();
    assertEquals(live.get("w1").getDouble(0, 0), r.get("w1").getDouble(0, 0), 1e-6); // the registry holds float32
  }

  @Test
  void anInputThatNoEarlierSegmentProducesIsRejectedByName() {
    ParameterRegistry r = registry();
    GraphContext c = GraphContext.training(SameDiff.create(), r, T);
    SDVariable in = c.boundaryInput("features", -1, 4);
    SDVariable l = loss(c, in);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new SegmentChain(List.of(),
        new SegmentChain.LossSegment(c, ImmutableMap.of("features", in), l, ImmutableMap.of(), ImmutableList.of()),
        (extras, batch) -> {}));
    assertTrue(e.getMessage().contains("features") && e.getMessage().contains("no earlier segment"), e.getMessage());
  }

  /** {@code first} produces boundary {@code h}; {@code second} reads it as {@code hIn} and computes {@code loss}. */
  private static SegmentChain twoSegments(GraphContext first, SDVariable h, GraphContext second, SDVariable hIn,
      SDVariable loss) {
    return new SegmentChain(List.of(new SegmentChain.Segment(first, ImmutableMap.of(),
            ImmutableMap.of("h", new SegmentChain.Output(h, new long[] {-1, 4})))),
        new SegmentChain.LossSegment(second, ImmutableMap.of("h", hIn), loss, ImmutableMap.of(), ImmutableList.of()),
        (extras, batch) -> {});
  }

  @Test
  void aParameterInTwoSegmentsIsRejected() {
    ParameterRegistry r = registry();
    RandomMasks masks = new RandomMasks();
    GraphContext first = GraphContext.training(SameDiff.create(), r, T, masks);
    SDVariable h = first.sd().identity("h", hidden(first, first.sd().placeHolder("x", T, -1, 3)));
    GraphContext second = GraphContext.training(SameDiff.create(), r, T, masks);
    SDVariable hIn = second.boundaryInput("h", -1, 4);
    SDVariable l = loss(second, hIn.add(hidden(second, second.sd().placeHolder("x", T, -1, 3)))); // w1 again
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> twoSegments(first, h, second, hIn, l));
    assertTrue(e.getMessage().contains("w1") && e.getMessage().contains("segments 0 and 1"), e.getMessage());
  }

  @Test
  void segmentsMustShareTheMasks() {
    ParameterRegistry r = registry();
    GraphContext first = GraphContext.training(SameDiff.create(), r, T); // its own masks
    SDVariable h = first.sd().identity("h", hidden(first, first.sd().placeHolder("x", T, -1, 3)));
    GraphContext second = GraphContext.training(SameDiff.create(), r, T);
    SDVariable hIn = second.boundaryInput("h", -1, 4);
    SDVariable l = loss(second, hIn);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> twoSegments(first, h, second, hIn, l));
    assertTrue(e.getMessage().contains("random masks"), e.getMessage());
  }
}
