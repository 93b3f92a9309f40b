package org.mtlora.core.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.nn.RowPermutation;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.params.Role;
import org.mtlora.core.testing.GradientCheck;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

@org.junit.jupiter.api.extension.ExtendWith(org.mtlora.core.testing.DoublePrecision.class)
class MtLoraLinearTest {
  private static final long IN = 5;
  private static final long OUT = 4;
  private static final long ROWS = 3; // B = 1 sample of 3 rows
  private static final int[] ORDER = {2, 0, 1};



  private static MtLoraLinear layer(LoraMode mode) {
    return MtLoraLinear.builder("blk.fc1", IN, OUT).shared(2, 4.0).task("seg", 3, 2.0).task("sal", 1, 0.5)
        .mode(mode).build();
  }

  /** Registry with every value random (B non-zero so every term shows), all trainable. */
  private static ParameterRegistry registry(MtLoraLinear l, long seed) {
    ParameterRegistry reg = new ParameterRegistry();
    reg.declareAll(l.paramSpecs());
    long s = seed;
    for (ParamSpec p : reg.specs()) {
      reg.set(p.name(), GradientCheck.randn(s++, 0.5, p.shape()));
    }
    reg.applyPolicy(FreezePolicy.FULL_FINETUNE);
    return reg;
  }

  /** s (u A^T) B^T with plain INDArray math. */
  private static INDArray delta(ParameterRegistry r, String a, String b, double s, INDArray u) {
    return u.mmul(r.get(a).transpose()).mmul(r.get(b).transpose()).mul(s);
  }

  private static INDArray base(ParameterRegistry r, MtLoraLinear l, INDArray x) {
    return x.mmul(r.get(l.weightName()).transpose()).addRowVector(r.get(l.biasName()));
  }

  private static INDArray layerNorm(INDArray y, INDArray g, INDArray b) {
    INDArray mean = y.mean(true, 1);
    INDArray c = y.subColumnVector(mean);
    INDArray var = c.mul(c).mean(true, 1);
    return c.divColumnVector(Transforms.sqrt(var.add(1e-5))).mulRowVector(g).addRowVector(b);
  }

  private record Run(INDArray shared, Map<String, INDArray> tasks) {}

  private static Run run(MtLoraLinear l, ParameterRegistry reg, INDArray x, Map<String, INDArray> taskInputs) {
    return run(l, reg, x, taskInputs, false);
  }

  /** Each sample's rows in the order {@link #ORDER}, as {@code RowMap} (a row gather of any width). */
  private static MtLoraLinear.RowMap reorder(SameDiff sd) {
    return (rows, width) -> sd.reshape(RowPermutation.apply(sd, sd.reshape(rows, -1, ROWS, width), ORDER, "order"),
        -1, width);
  }

  /** {@code rows} with each sample's rows in the order {@link #ORDER}, by plain indexing. */
  private static INDArray reordered(INDArray rows) {
    INDArray out = rows.ulike();
    for (int i = 0; i < rows.rows(); i++) {
      out.putRow(i, rows.getRow(i / ROWS * ROWS + ORDER[(int) (i % ROWS)]));
    }
    return out;
  }

  private static Run run(MtLoraLinear l, ParameterRegistry reg, INDArray x, Map<String, INDArray> taskInputs,
      boolean reorderRows) {
    SameDiff sd = SameDiff.create();
    GraphContext ctx = GraphContext.evaluation(sd, reg, DataType.DOUBLE);
    Map<String, SDVariable> ti = null;
    if (taskInputs != null) {
      ti = new LinkedHashMap<>();
      for (Map.Entry<String, INDArray> e : taskInputs.entrySet()) {
        ti.put(e.getKey(), sd.constant("in_" + e.getKey(), e.getValue()));
      }
    }
    MtLoraLinear.Output out = l.apply(ctx, sd.constant("x", x), ROWS, ti,
        reorderRows ? reorder(sd) : MtLoraLinear.RowMap.IDENTITY);
    List<String> names = new java.util.ArrayList<>();
    names.add(out.shared().name());
    out.tasks().values().forEach(v -> names.add(v.name()));
    Map<String, INDArray> r = sd.output(Map.of(), names);
    Map<String, INDArray> tasks = new LinkedHashMap<>();
    out.tasks().forEach((t, v) -> tasks.put(t, r.get(v.name())));
    return new Run(r.get(out.shared().name()), tasks);
  }

  private static void assertClose(INDArray expected, INDArray actual) {
    assertArrayEquals(expected.shape(), actual.shape());
    assertEquals(0.0, Transforms.abs(expected.sub(actual)).maxNumber().doubleValue(), 1e-12);
  }

  @Test
  void matrixModeTaskOutputHasNoSharedDelta() {
    MtLoraLinear l = layer(LoraMode.MATRIX);
    ParameterRegistry r = registry(l, 1);
    INDArray x = GradientCheck.randn(50, 1, ROWS, IN);
    Run out = run(l, r, x, null);
    INDArray p = base(r, l, x);
    assertClose(p.add(delta(r, l.sharedA(), l.sharedB(), 4.0, x)), out.shared());
    assertClose(p.add(delta(r, l.taskA("seg"), l.taskB("seg"), 2.0, x)), out.tasks().get("seg"));
    assertClose(p.add(delta(r, l.taskA("sal"), l.taskB("sal"), 0.5, x)), out.tasks().get("sal"));
  }

  @Test
  void matrixModeWithTaskInputsAppliesFrozenWeightToSharedInput() {
    MtLoraLinear l = layer(LoraMode.MATRIX);
    ParameterRegistry r = registry(l, 2);
    INDArray x = GradientCheck.randn(50, 1, ROWS, IN);
    INDArray xs = GradientCheck.randn(51, 1, ROWS, IN);
    INDArray xa = GradientCheck.randn(52, 1, ROWS, IN);
    Run out = run(l, r, x, Map.of("seg", xs, "sal", xa));
    INDArray p = base(r, l, x);
    assertClose(p.add(delta(r, l.taskA("seg"), l.taskB("seg"), 2.0, xs)), out.tasks().get("seg"));
    assertClose(p.add(delta(r, l.taskA("sal"), l.taskB("sal"), 0.5, xa)), out.tasks().get("sal"));
    assertClose(p.add(delta(r, l.sharedA(), l.sharedB(), 4.0, x)), out.shared());
  }

  @Test
  void matrixV2TaskOutputAddsSharedDelta() {
    MtLoraLinear l = layer(LoraMode.MATRIX_V2);
    ParameterRegistry r = registry(l, 3);
    INDArray x = GradientCheck.randn(50, 1, ROWS, IN);
    Run out = run(l, r, x, null);
    INDArray p = base(r, l, x);
    INDArray dsh = delta(r, l.sharedA(), l.sharedB(), 4.0, x);
    assertClose(p.add(dsh), out.shared());
    assertClose(p.add(dsh).add(delta(r, l.taskA("seg"), l.taskB("seg"), 2.0, x)), out.tasks().get("seg"));
  }

  @Test
  void additionModeNormalisesTheSumOfTaskOutputs() {
    MtLoraLinear l = layer(LoraMode.ADDITION);
    ParameterRegistry r = registry(l, 4);
    assertTrue(!r.contains(l.sharedA()), "addition mode has no shared matrices");
    INDArray x = GradientCheck.randn(50, 1, ROWS, IN);
    Run out = run(l, r, x, null);
    INDArray p = base(r, l, x);
    INDArray ySeg = p.add(delta(r, l.taskA("seg"), l.taskB("seg"), 2.0, x));
    INDArray ySal = p.add(delta(r, l.taskA("sal"), l.taskB("sal"), 0.5, x));
    assertClose(ySeg, out.tasks().get("seg"));
    assertClose(p.add(layerNorm(ySeg.add(ySal), r.get(l.normWeight()), r.get(l.normBias()))), out.shared());
  }

  @Test
  void loraOnlyModeHasNoTaskPaths() {
    MtLoraLinear l = layer(LoraMode.LORA_ONLY);
    ParameterRegistry r = registry(l, 5);
    assertTrue(l.taskRanks().isEmpty());
    INDArray x = GradientCheck.randn(50, 1, ROWS, IN);
    Run out = run(l, r, x, null);
    assertTrue(out.tasks().isEmpty());
    assertClose(base(r, l, x).add(delta(r, l.sharedA(), l.sharedB(), 4.0, x)), out.shared());
  }

  @Test
  void noTasksForcesMatrixAndZeroRankReturnsBase() {
    MtLoraLinear noTasks = MtLoraLinear.builder("a", IN, OUT).shared(2, 1).mode(LoraMode.ADDITION).build();
    assertEquals(LoraMode.MATRIX, noTasks.mode());
    MtLoraLinear plain = MtLoraLinear.builder("p", IN, OUT).shared(0, 1).task("seg", 2, 1).build();
    assertEquals(List.of("p.linear.weight", "p.linear.bias"),
        plain.paramSpecs().stream().map(ParamSpec::name).toList());
    ParameterRegistry r = registry(plain, 6);
    INDArray x = GradientCheck.randn(50, 1, ROWS, IN);
    Run out = run(plain, r, x, null);
    assertClose(base(r, plain, x), out.shared());
    assertTrue(out.tasks().isEmpty());
  }

  @Test
  void dropoutMaskIsSharedByTheSharedAndTaskPathsButNotTheBase() {
    MtLoraLinear l = MtLoraLinear.builder("d", IN, OUT).shared(2, 4.0).task("seg", 3, 2.0).dropout(0.25).build();
    ParameterRegistry r = registry(l, 7);
    SameDiff sd = SameDiff.create();
    GraphContext ctx = GraphContext.training(sd, r, DataType.DOUBLE);
    INDArray x = GradientCheck.randn(50, 1, ROWS, IN);
    MtLoraLinear.Output out = l.apply(ctx, sd.constant("x", x), ROWS, null);
    Map<String, INDArray> masks = ctx.masks().sample(1, 3, 0, DataType.DOUBLE);
    assertEquals(List.of("d.lora_dropout"), List.copyOf(masks.keySet()));
    Map<String, INDArray> res = sd.output(masks, out.shared().name(), out.tasks().get("seg").name());
    INDArray mask = masks.get("d.lora_dropout");
    assertTrue(mask.sumNumber().doubleValue() > 0, "some elements kept");
    INDArray xd = x.mul(mask); // kept elements of the mask hold 1 / 0.75
    INDArray p = base(r, l, x);
    assertClose(p.add(delta(r, l.sharedA(), l.sharedB(), 4.0, xd)), res.get(out.shared().name()));
    assertClose(p.add(delta(r, l.taskA("seg"), l.taskB("seg"), 2.0, xd)), res.get(out.tasks().get("seg").name()));
  }

  @Test
  void stepZeroEqualsTheFrozenLayer() {
    MtLoraLinear l = layer(LoraMode.MATRIX);
    ParameterRegistry r = new ParameterRegistry();
    r.declareAll(l.paramSpecs());
    r.initialise(42);
    r.applyPolicy(FreezePolicy.MTLORA);
    INDArray x = GradientCheck.randn(50, 1, ROWS, IN).castTo(DataType.FLOAT);
    SameDiff sd = SameDiff.create();
    MtLoraLinear.Output out = l.apply(GraphContext.evaluation(sd, r, DataType.FLOAT), sd.constant("x", x), ROWS,
        null);
    INDArray p = x.mmul(r.get(l.weightName()).transpose()).addRowVector(r.get(l.biasName()));
    Map<String, INDArray> res = sd.output(Map.of(), out.shared().name(), out.tasks().get("seg").name(),
        out.tasks().get("sal").name());
    for (INDArray y : res.values()) {
      assertEquals(p, y);
    }
  }

  @Test
  void initialisationFollowsKaimingUniformAndZeroB() {
    MtLoraLinear l = MtLoraLinear.builder("k", 64, 8).shared(16, 1).build();
    ParameterRegistry r = new ParameterRegistry();
    r.declareAll(l.paramSpecs());
    r.initialise(1);
    INDArray a = r.get(l.sharedA());
    double bound = 1 / Math.sqrt(64);
    assertTrue(Transforms.abs(a).maxNumber().doubleValue() <= bound);
    assertTrue(Transforms.abs(a).maxNumber().doubleValue() > 0.9 * bound, "draws fill the range");
    assertEquals(0.0, a.meanNumber().doubleValue(), 0.02);
    assertEquals(0.0, Transforms.abs(r.get(l.sharedB())).maxNumber().doubleValue());
  }

  @Test
  void declaresReferenceNamesShapesAndRoles() {
    MtLoraLinear l = layer(LoraMode.MATRIX);
    Map<String, String> got = new LinkedHashMap<>();
    for (ParamSpec s : l.paramSpecs()) {
      got.put(s.name(), java.util.Arrays.toString(s.shape()) + " " + s.role() + s.task().map(t -> "/" + t).orElse(""));
    }
    Map<String, String> expected = new LinkedHashMap<>();
    expected.put("blk.fc1.linear.weight", "[4, 5] PRETRAINED");
    expected.put("blk.fc1.linear.bias", "[4] PRETRAINED");
    expected.put("blk.fc1.lora_shared_A", "[2, 5] ADAPTER_SHARED");
    expected.put("blk.fc1.lora_shared_B", "[4, 2] ADAPTER_SHARED");
    expected.put("blk.fc1.lora_tasks_A.seg", "[3, 5] ADAPTER_TASK/seg");
    expected.put("blk.fc1.lora_tasks_B.seg", "[4, 3] ADAPTER_TASK/seg");
    expected.put("blk.fc1.lora_tasks_A.sal", "[1, 5] ADAPTER_TASK/sal");
    expected.put("blk.fc1.lora_tasks_B.sal", "[4, 1] ADAPTER_TASK/sal");
    assertEquals(expected, got);
    MtLoraLinear red = MtLoraLinear.builder("ds.reduction", 8, 4).bias(false).baseRole(Role.REDUCTION).shared(2, 1)
        .build();
    assertEquals(Role.REDUCTION, red.paramSpecs().get(0).role());
    assertEquals(3, red.paramSpecs().size());
  }

  @Test
  void deltaWeightMatchesTheGraph() {
    MtLoraLinear l = layer(LoraMode.MATRIX);
    ParameterRegistry r = registry(l, 8);
    INDArray x = GradientCheck.randn(50, 1, ROWS, IN);
    Run out = run(l, r, x, null);
    INDArray merged = r.get(l.weightName()).add(l.deltaWeight(r, "shared"));
    assertClose(x.mmul(merged.transpose()).addRowVector(r.get(l.biasName())), out.shared());
    assertThrows(IllegalArgumentException.class, () -> l.deltaWeight(r, "depth"));
  }

  @Test
  void rejectsInvalidConfigurationsWithNamedMessages() {
    IllegalArgumentException e1 = assertThrows(IllegalArgumentException.class,
        () -> MtLoraLinear.builder("x", 4, 4).shared(-1, 1).build());
    assertTrue(e1.getMessage().contains("x: shared rank must be >= 0, found -1"), e1.getMessage());
    IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class,
        () -> MtLoraLinear.builder("x", 4, 4).shared(2, 1).task("seg", 0, 1).build());
    assertTrue(e2.getMessage().contains("rank of task seg must be positive, found 0"), e2.getMessage());
    IllegalArgumentException e3 = assertThrows(IllegalArgumentException.class,
        () -> MtLoraLinear.builder("x", 4, 4).dropout(1.0).build());
    assertTrue(e3.getMessage().contains("dropout must be in [0, 1), found 1.0"), e3.getMessage());
    MtLoraLinear l = layer(LoraMode.MATRIX);
    ParameterRegistry r = registry(l, 9);
    IllegalArgumentException e4 = assertThrows(IllegalArgumentException.class,
        () -> run(l, r, GradientCheck.randn(1, 1, ROWS, IN), Map.of("seg", GradientCheck.randn(2, 1, ROWS, IN))));
    assertTrue(e4.getMessage().contains("task inputs must be given for exactly the tasks [seg, sal]"),
        e4.getMessage());
  }

  /**
   * A row map given to the layer reorders every output as reordering the outputs themselves does: in every mode, with
   * the stacked down-projection (one input for all paths) and with task inputs, over two samples.
   */
  @Test
  void rowMapReordersEveryOutputLikeReorderingTheOutputs() {
    for (LoraMode mode : new LoraMode[] {LoraMode.MATRIX, LoraMode.MATRIX_V2, LoraMode.ADDITION}) {
      MtLoraLinear l = layer(mode);
      ParameterRegistry r = registry(l, 40);
      INDArray x = GradientCheck.randn(60, 1, 2 * ROWS, IN);
      for (boolean withTaskInputs : new boolean[] {false, true}) {
        Map<String, INDArray> ti = withTaskInputs
            ? Map.of("seg", GradientCheck.randn(61, 1, 2 * ROWS, IN), "sal", GradientCheck.randn(62, 1, 2 * ROWS, IN))
            : null;
        Run plain = run(l, r, x, ti);
        Run mapped = run(l, r, x, ti, true);
        assertClose(reordered(plain.shared()), mapped.shared());
        assertEquals(plain.tasks().keySet(), mapped.tasks().keySet());
        plain.tasks().forEach((t, y) -> assertClose(reordered(y), mapped.tasks().get(t)));
      }
    }
  }

  /** The gradients through a row map (the reordering of the product and of the rank-r terms). */
  @Test
  void gradientWithRowMap() {
    gradCheck(layer(LoraMode.MATRIX), 17, false, false, true);
    gradCheck(layer(LoraMode.MATRIX), 18, true, false, true);
  }

  private static void gradCheck(MtLoraLinear l, long seed, boolean taskInputs, boolean dropout) {
    gradCheck(l, seed, taskInputs, dropout, false);
  }

  private static void gradCheck(MtLoraLinear l, long seed, boolean taskInputs, boolean dropout,
      boolean reorderRows) {
    ParameterRegistry r = registry(l, seed);
    SameDiff sd = SameDiff.create();
    GraphContext ctx = GraphContext.training(sd, r, DataType.DOUBLE);
    SDVariable x = sd.var("x", GradientCheck.randn(seed + 100, 1, ROWS, IN));
    Map<String, SDVariable> ti = null;
    if (taskInputs) {
      ti = new LinkedHashMap<>();
      for (String t : l.taskRanks().keySet()) {
        ti.put(t, sd.var("x_" + t, GradientCheck.randn(seed + t.hashCode(), 1, ROWS, IN)));
      }
    }
    MtLoraLinear.Output out = l.apply(ctx, x, ROWS, ti, reorderRows ? reorder(sd) : MtLoraLinear.RowMap.IDENTITY);
    SDVariable all = out.shared();
    for (SDVariable t : out.tasks().values()) {
      all = sd.concat(1, all, t);
    }
    Map<String, INDArray> ph = dropout ? ctx.masks().sample(1, seed, 0, DataType.DOUBLE) : Map.of();
    SDVariable loss = GradientCheck.weightedSumLoss(sd, all, ph);
    GradientCheck.assertPasses(sd, loss.name(), ph);
  }

  @Test
  void gradientMatrixWithTaskInputs() {
    gradCheck(layer(LoraMode.MATRIX), 10, true, false);
  }

  @Test
  void gradientMatrixWithDropout() {
    gradCheck(MtLoraLinear.builder("d", IN, OUT).shared(2, 4.0).task("seg", 3, 2.0).dropout(0.3).build(), 11,
        false, true);
  }

  /** Three paths of ranks 2, 3 and 1 reading one input: the stacked down-projection and its padded B matrices. */
  @Test
  void gradientMatrixWithoutTaskInputs() {
    gradCheck(layer(LoraMode.MATRIX), 15, false, false);
  }

  /** Task paths only (no shared matrices) reading one input: the stack starts with the first task. */
  @Test
  void gradientAdditionWithoutTaskInputs() {
    gradCheck(layer(LoraMode.ADDITION), 16, false, false);
  }

  @Test
  void gradientMatrixV2() {
    gradCheck(layer(LoraMode.MATRIX_V2), 12, false, false);
  }

  @Test
  void gradientAddition() {
    gradCheck(layer(LoraMode.ADDITION), 13, true, false);
  }

  @Test
  void gradientLoraOnly() {
    gradCheck(layer(LoraMode.LORA_ONLY), 14, false, false);
  }
}
