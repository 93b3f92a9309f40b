package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.mtlora.core.nn.Gelu;
import org.mtlora.core.nn.LayerNorm;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.BaseListener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

class ForwardRunnerTest {
  private static final List<String> OUTPUTS = List.of("probs", "hidden", "normed");

  @AfterEach
  void replayOn() {
    System.clearProperty(ForwardRunner.REPLAY_PROPERTY);
  }

  /**
   * An evaluation graph with what a Swin block holds: a linear layer, the exact GELU, a layer norm (both fused), a
   * reshape and a permute into heads, a batched product, a softmax, and an identity that returns an array another op
   * still reads.
   */
  private static SameDiff block() {
    SameDiff sd = SameDiff.create();
    sd.constant(GraphContext.INFERENCE_ONLY, Nd4j.scalar(DataType.FLOAT, 0));
    Nd4j.getRandom().setSeed(3);
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 24);
    SDVariable w = sd.constant("w", Nd4j.randn(DataType.FLOAT, 24, 48).muli(0.3));
    SDVariable b = sd.constant("b", Nd4j.randn(DataType.FLOAT, 1, 48));
    SDVariable h = sd.identity("hidden", Gelu.apply(sd, x.mmul(w).add(b)));
    SDVariable normed = sd.identity("normed", LayerNorm.apply(sd, h, 2,
        sd.constant("gamma", Nd4j.linspace(0.5, 1.5, 48, DataType.FLOAT)),
        sd.constant("beta", Nd4j.linspace(-0.2, 0.2, 48, DataType.FLOAT))));
    SDVariable heads = normed.reshape(-1, 6, 4, 2).permute(0, 2, 1, 3); // [N, 4, 6, 2]
    SDVariable scores = sd.linalg().mmul(heads, heads.permute(0, 1, 3, 2)).mul(0.5); // [N, 4, 6, 6]
    sd.identity("probs", sd.nn().softmax(scores, -1).add(h.mean(1).reshape(-1, 1, 1, 1)));
    return sd;
  }

  private static INDArray input(long rows, int seed) {
    Nd4j.getRandom().setSeed(seed);
    return Nd4j.randn(DataType.FLOAT, rows, 24).muli(2);
  }

  /** The outputs as SameDiff's session computes them (the runner's path before this class). */
  private static Map<String, INDArray> throughSession(SameDiff sd, INDArray x) {
    System.setProperty(ForwardRunner.REPLAY_PROPERTY, "false");
    try {
      return new ForwardRunner(sd).output(Map.of("x", x), OUTPUTS, 1 << 20);
    } finally {
      System.clearProperty(ForwardRunner.REPLAY_PROPERTY);
    }
  }

  private static void assertSameBits(Map<String, INDArray> expected, Map<String, INDArray> actual) {
    assertEquals(expected.keySet(), actual.keySet());
    for (String name : expected.keySet()) {
      assertArrayEquals(expected.get(name).shape(), actual.get(name).shape(), name);
      assertArrayEquals(expected.get(name).data().asFloat(), actual.get(name).data().asFloat(), 0f, name);
    }
  }

  @Test
  void laterRunsReplayTheFirstWithTheSessionsBits() {
    SameDiff sd = block();
    ForwardRunner runner = new ForwardRunner(sd);
    INDArray a = input(50, 1);
    INDArray b = input(50, 2);
    Map<String, INDArray> expectedA = throughSession(sd, a);
    Map<String, INDArray> expectedB = throughSession(sd, b);

    assertSameBits(expectedA, runner.output(Map.of("x", a), OUTPUTS, 1 << 20)); // recorded
    assertTrue(runner.replays(), "every op of this graph replays");
    assertEquals(0, runner.replayedRuns());
    // the same input, then another one: replayed, each with its own result (a plan keeps ops, not values)
    assertSameBits(expectedA, runner.output(Map.of("x", a), OUTPUTS, 1 << 20));
    assertSameBits(expectedB, runner.output(Map.of("x", b), OUTPUTS, 1 << 20));
    assertSameBits(expectedA, runner.output(Map.of("x", a), OUTPUTS, 1 << 20));
    assertEquals(3, runner.replayedRuns());
    assertTrue(runner.plannedOps() > 20, "the plan holds the graph's ops: " + runner.plannedOps());
    // two reshapes share their input's buffer: the layer norm's output (read through an identity) into heads, and the
    // mean's
    assertEquals(2, runner.sharedReshapes());
  }

  @Test
  void anotherShapeOrOutputListIsRecordedAndKept() {
    SameDiff sd = block();
    ForwardRunner runner = new ForwardRunner(sd);
    INDArray small = input(8, 4);
    INDArray large = input(30, 5);
    Map<String, INDArray> expectedSmall = throughSession(sd, small);
    Map<String, INDArray> expectedLarge = throughSession(sd, large);
    runner.output(Map.of("x", small), OUTPUTS, 1 << 20);
    assertSameBits(expectedLarge, runner.output(Map.of("x", large), OUTPUTS, 1 << 20)); // recorded anew
    assertEquals(0, runner.replayedRuns());
    assertSameBits(expectedLarge, runner.output(Map.of("x", large), OUTPUTS, 1 << 20));
    assertEquals(1, runner.replayedRuns());
    assertSameBits(expectedSmall, runner.output(Map.of("x", small), OUTPUTS, 1 << 20));
    assertEquals(2, runner.replayedRuns(), "the first shape's plan is kept");

    Map<String, INDArray> hiddenOnly = runner.output(Map.of("x", small), List.of("hidden"), 1 << 20);
    assertEquals(2, runner.replayedRuns(), "another output list is recorded, not replayed");
    assertArrayEquals(expectedSmall.get("hidden").data().asFloat(), hiddenOnly.get("hidden").data().asFloat(), 0f);

    // the least recently used plan goes when a fifth is recorded: here the large input's
    for (long rows : new long[] {3, 4}) {
      runner.output(Map.of("x", input(rows, 6)), OUTPUTS, 1 << 20);
    }
    runner.output(Map.of("x", small), OUTPUTS, 1 << 20);
    assertEquals(3, runner.replayedRuns());
    assertSameBits(expectedLarge, runner.output(Map.of("x", large), OUTPUTS, 1 << 20));
    assertEquals(3, runner.replayedRuns(), "recorded again after the fifth plan pushed it out");
  }

  @Test
  void replaysInOneArenaKeepTheArrayObjectsTheirBlocksHold() {
    SameDiff sd = block();
    ForwardRunner runner = new ForwardRunner(sd);
    INDArray a = input(50, 1);
    INDArray b = input(50, 2);
    Map<String, INDArray> expectedA = throughSession(sd, a);
    Map<String, INDArray> expectedB = throughSession(sd, b);
    try (Arena arena = new Arena()) {
      runner.outputInArena(Map.of("x", a), OUTPUTS, 1 << 20, arena); // recorded
      arena.reset();
      Map<String, INDArray> first = runner.outputInArena(Map.of("x", a), OUTPUTS, 1 << 20, arena);
      assertSameBits(expectedA, copies(first));
      arena.reset();
      Map<String, INDArray> second = runner.outputInArena(Map.of("x", b), OUTPUTS, 1 << 20, arena);
      assertSameBits(expectedB, copies(second)); // the kept arrays hold this run's values
      for (String name : OUTPUTS) {
        assertSame(first.get(name), second.get(name), "the same blocks: the same array objects, " + name);
      }
      arena.reset();
      arena.allocate(DataType.FLOAT, 1000); // every block of the run moves: nothing is kept
      Map<String, INDArray> third = runner.outputInArena(Map.of("x", a), OUTPUTS, 1 << 20, arena);
      assertSameBits(expectedA, copies(third));
      for (String name : OUTPUTS) {
        assertNotSame(second.get(name), third.get(name), name);
      }
      assertEquals(3, runner.replayedRuns());
    }
    try (Arena other = new Arena()) {
      assertSameBits(expectedB, copies(runner.outputInArena(Map.of("x", b), OUTPUTS, 1 << 20, other)));
    }
  }

  @Test
  void aRunThatRecordsAPlanHasItsArenaGiveItsPagesBackAtTheNextReset() {
    SameDiff sd = block();
    ForwardRunner runner = new ForwardRunner(sd);
    INDArray a = input(50, 1);
    INDArray b = input(50, 2);
    Map<String, INDArray> expectedA = throughSession(sd, a);
    Map<String, INDArray> expectedB = throughSession(sd, b);
    try (Arena arena = new Arena()) {
      assertSameBits(expectedA, copies(runner.outputInArena(Map.of("x", a), OUTPUTS, 1 << 20, arena))); // recorded
      arena.reset();
      long afterRecording = arena.pageDiscards();
      assertEquals(NativePages.available() ? 1 : 0, afterRecording, "the replays lay their buffers out anew");
      for (INDArray x : List.of(b, a, b)) { // replays over pages given back compute the same
        assertSameBits(x == a ? expectedA : expectedB,
            copies(runner.outputInArena(Map.of("x", x), OUTPUTS, 1 << 20, arena)));
        arena.reset();
      }
      assertEquals(3, runner.replayedRuns());
      assertEquals(afterRecording, arena.pageDiscards(), "replays keep their pages from run to run");
      INDArray c = input(70, 3);
      Map<String, INDArray> expectedC = throughSession(sd, c);
      assertSameBits(expectedC, copies(runner.outputInArena(Map.of("x", c), OUTPUTS, 1 << 20, arena)));
      arena.reset();
      assertEquals(NativePages.available() ? 2 : 0, arena.pageDiscards(), "another shape is recorded: once more");
    }
  }

  private static Map<String, INDArray> copies(Map<String, INDArray> values) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    values.forEach((name, value) -> out.put(name, value.dup()));
    return out;
  }

  @Test
  void outputKeepsItsArenaFromCallToCallUntilForget() {
    SameDiff sd = block();
    ForwardRunner runner = new ForwardRunner(sd);
    INDArray a = input(50, 1);
    INDArray b = input(50, 2);
    Map<String, INDArray> expectedA = throughSession(sd, a);
    Map<String, INDArray> expectedB = throughSession(sd, b);
    assertEquals(0, runner.keptBytes());
    runner.output(Map.of("x", a), OUTPUTS, 1 << 20);
    long kept = runner.keptBytes();
    assertTrue(kept > 0, "the first run's arena is kept");
    for (INDArray x : List.of(b, a, b)) {
      assertSameBits(x == a ? expectedA : expectedB, runner.output(Map.of("x", x), OUTPUTS, 1 << 20));
      assertEquals(kept, runner.keptBytes(), "replays fit in the chunks the first run took");
    }
    runner.forget();
    assertEquals(0, runner.keptBytes(), "forget frees it");
    assertSameBits(expectedA, runner.output(Map.of("x", a), OUTPUTS, 1 << 20)); // recorded again
    assertSameBits(expectedB, runner.output(Map.of("x", b), OUTPUTS, 1 << 20));
  }

  @Test
  void theReturnedArraysOutliveTheRun() {
    SameDiff sd = block();
    ForwardRunner runner = new ForwardRunner(sd);
    INDArray a = input(50, 1);
    runner.output(Map.of("x", a), OUTPUTS, 1 << 20);
    Map<String, INDArray> first = runner.output(Map.of("x", a), OUTPUTS, 1 << 20);
    float[] kept = first.get("probs").data().asFloat();
    runner.output(Map.of("x", input(50, 9)), OUTPUTS, 1 << 20); // a replay with other values, its arena reused
    assertArrayEquals(kept, first.get("probs").data().asFloat(), 0f, "an earlier run's output was overwritten");
  }

  @Test
  void listenersTheSwitchAndUnknownOpsKeepTheSession() {
    SameDiff sd = block();
    INDArray a = input(10, 1);
    System.setProperty(ForwardRunner.REPLAY_PROPERTY, "false");
    ForwardRunner off = new ForwardRunner(sd);
    off.output(Map.of("x", a), OUTPUTS, 1 << 20);
    off.output(Map.of("x", a), OUTPUTS, 1 << 20);
    assertFalse(off.replays());
    assertEquals(0, off.replayedRuns());
    System.clearProperty(ForwardRunner.REPLAY_PROPERTY);

    SameDiff listened = block();
    int[] seen = new int[1];
    listened.addListeners(new BaseListener() {
      @Override
      public boolean isActive(Operation operation) {
        return true;
      }

      @Override
      public void preOpExecution(SameDiff s, At at, SameDiffOp op, OpContext context) {
        seen[0]++;
      }
    });
    ForwardRunner withListener = new ForwardRunner(listened);
    withListener.output(Map.of("x", a), OUTPUTS, 1 << 20);
    int perRun = seen[0];
    withListener.output(Map.of("x", a), OUTPUTS, 1 << 20);
    assertEquals(2 * perRun, seen[0], "a listener sees every op of every run");
    assertEquals(0, withListener.replayedRuns());

    SameDiff cosh = SameDiff.create();
    SDVariable x = cosh.placeHolder("x", DataType.FLOAT, -1, 24);
    cosh.identity("out", cosh.math().cosh(x.mul(0.5)));
    ForwardRunner unknown = new ForwardRunner(cosh);
    INDArray expected = Transforms.cosh(a.mul(0.5));
    for (int i = 0; i < 2; i++) {
      INDArray out = unknown.output(Map.of("x", a), List.of("out"), 1 << 20).get("out");
      assertArrayEquals(expected.data().asFloat(), out.data().asFloat(), 1e-5f);
    }
    assertFalse(unknown.replays(), "cosh is not on the list of ops that replay");
    assertEquals(0, unknown.replayedRuns());
  }

  @Test
  void aPlanOnlyHoldsOpsWhoseShapesFollowFromTheirInputShapes() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 6);
    SDVariable shape = sd.constant("shape", Nd4j.createFromArray(-1L, 3L));
    sd.identity("a", x.reshape(shape));
    sd.identity("b", x.add(1.0).reshape(sd.shape(x).mul(sd.constant(Nd4j.createFromArray(2L, 1L))).div(
        sd.constant(Nd4j.createFromArray(1L, 2L))))); // [2n, 3]: computed from x's shape, the same in every run
    SDVariable count = x.max().castTo(DataType.INT64).reshape(1); // from x's values
    sd.identity("c", sd.fill(count, DataType.FLOAT, 1.0));
    ForwardRunner runner = new ForwardRunner(sd);
    INDArray in = Nd4j.linspace(1, 24, 24, DataType.FLOAT).reshape(4, 6);
    runner.output(Map.of("x", in), List.of("a"), 0);
    assertTrue(runner.replays(), "a reshape to a constant shape replays");
    assertEquals(0, runner.sharedReshapes(), "a placeholder's buffer is the caller's: its reshape is a copy");
    assertArrayEquals(new long[] {8, 3}, runner.output(Map.of("x", in), List.of("a"), 0).get("a").shape());
    assertEquals(1, runner.replayedRuns());

    INDArray b = runner.output(Map.of("x", in), List.of("b"), 0).get("b");
    assertTrue(runner.replays(), "a reshape to a shape computed from shapes replays");
    assertEquals(1, runner.sharedReshapes(), "and shares its input's buffer (the sum's)");
    assertArrayEquals(new long[] {8, 3}, b.shape());
    assertArrayEquals(in.add(1.0).reshape(8, 3).data().asFloat(), b.data().asFloat(), 0f);
    assertArrayEquals(new long[] {8, 3}, runner.output(Map.of("x", in), List.of("b"), 0).get("b").shape());
    assertEquals(2, runner.replayedRuns());

    assertArrayEquals(new long[] {24}, runner.output(Map.of("x", in), List.of("c"), 0).get("c").shape());
    assertFalse(runner.replays(), "fill to a length computed from x's values does not");
    INDArray other = in.mul(0.5); // the largest value 12: another length, through the session again
    assertArrayEquals(new long[] {12}, runner.output(Map.of("x", other), List.of("c"), 0).get("c").shape());
    assertEquals(2, runner.replayedRuns());
  }

  /** A variable whose array is replaced by one of another shape or order between runs: recorded anew, not replayed. */
  @Test
  void aVariableOfAnotherShapeOrOrderIsRecordedAnew() {
    SameDiff sd = SameDiff.create();
    Nd4j.getRandom().setSeed(12);
    SDVariable v = sd.var("v", Nd4j.randn(DataType.FLOAT, 4, 24));
    INDArray w = Nd4j.randn(DataType.FLOAT, 24, 48);
    sd.identity("out", v.mmul(sd.constant("w", w)).add(1.0));
    ForwardRunner runner = new ForwardRunner(sd);
    for (INDArray value : List.of(Nd4j.randn(DataType.FLOAT, 4, 24), Nd4j.randn(DataType.FLOAT, 7, 24),
        Nd4j.randn(DataType.FLOAT, 7, 24).dup('f'))) {
      sd.getVariable("v").setArray(value);
      INDArray expected = value.mmul(w).addi(1.0);
      for (int run = 0; run < 2; run++) {
        INDArray out = runner.output(Map.of(), List.of("out"), 1 << 20).get("out");
        assertArrayEquals(expected.shape(), out.shape());
        assertArrayEquals(expected.dup('c').data().asFloat(), out.dup('c').data().asFloat(), 1e-4f);
      }
    }
    assertEquals(3, runner.replayedRuns(), "each array's second run replays; its first is recorded");
  }

  @Test
  void shapeArithmeticRunsInTheFirstReplayOnlyAndConstantsAreReadInEveryRun() {
    SameDiff sd = SameDiff.create();
    Nd4j.getRandom().setSeed(13);
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 24);
    INDArray w = Nd4j.randn(DataType.FLOAT, 24, 8);
    SDVariable bias = sd.constant("bias", Nd4j.linspace(-1, 1, 8, DataType.FLOAT)); // a frozen parameter
    SDVariable h = x.mmul(sd.constant("w", w)).add(bias.reshape(1, 8));
    sd.identity("same", sd.reshape(h, sd.shape(h))); // shape_of: from shapes alone
    sd.identity("scaled", h.div(sd.sizeAt(h, 1).castTo(DataType.FLOAT))); // size_at and a cast of it
    List<String> names = List.of("same", "scaled");
    ForwardRunner runner = new ForwardRunner(sd);
    INDArray a = input(5, 1);
    INDArray b = input(5, 2);
    runner.output(Map.of("x", a), names, 1 << 20); // recorded
    assertTrue(runner.stepsRunOnce() >= 3, "shape_of, size_at, cast: " + runner.stepsRunOnce());
    for (INDArray in : List.of(a, b, a)) { // the first replay runs them, the later ones read their arrays
      assertOutputs(in, w, sd.getArrForVarName("bias"), runner.output(Map.of("x", in), names, 1 << 20));
    }
    sd.getArrForVarName("bias").addi(1f); // e.g. a checkpoint loaded: what reads a float constant runs every time
    assertOutputs(b, w, sd.getArrForVarName("bias"), runner.output(Map.of("x", b), names, 1 << 20));
    assertEquals(4, runner.replayedRuns());
    INDArray taller = input(9, 3); // other shapes: another plan, with its own
    runner.output(Map.of("x", taller), names, 1 << 20);
    assertOutputs(taller, w, sd.getArrForVarName("bias"), runner.output(Map.of("x", taller), names, 1 << 20));
  }

  private static void assertOutputs(INDArray x, INDArray w, INDArray bias, Map<String, INDArray> out) {
    INDArray h = x.mmul(w).addiRowVector(bias);
    assertArrayEquals(h.shape(), out.get("same").shape());
    assertArrayEquals(h.data().asFloat(), out.get("same").data().asFloat(), 1e-5f);
    assertArrayEquals(h.div(8).data().asFloat(), out.get("scaled").data().asFloat(), 1e-5f);
  }

  @Test
  void refusesANegativeCacheBound() {
    ForwardRunner runner = new ForwardRunner(block());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> runner.output(Map.of("x", input(2, 1)), OUTPUTS, -1));
    assertTrue(e.getMessage().contains("maxCacheBytes"), e.getMessage());
  }
}
