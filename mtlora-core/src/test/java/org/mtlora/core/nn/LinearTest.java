package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.Init;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.params.Role;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class LinearTest extends BlocksTestBase {
  /** Plain loops: y[r, o] = sum_i x[r, i] w[o, i] + b[o]. */
  static INDArray reference(INDArray x2d, INDArray w, INDArray b) {
    long n = x2d.size(0);
    long out = w.size(0);
    long in = w.size(1);
    INDArray y = Nd4j.create(x2d.dataType(), n, out);
    for (int r = 0; r < n; r++) {
      for (int o = 0; o < out; o++) {
        double s = b == null ? 0 : b.getDouble(o);
        for (int i = 0; i < in; i++) {
          s += x2d.getDouble(r, i) * w.getDouble(o, i);
        }
        y.putScalar(r, o, s);
      }
    }
    return y;
  }

  @Test
  void forwardRank2() {
    SameDiff sd = SameDiff.create();
    INDArray x = randn(1, 5, 4);
    INDArray w = randn(2, 3, 4);
    INDArray b = randn(3, 3);
    SDVariable y = Linear.apply(sd, sd.var("x", x), sd.var("w", w), sd.var("b", b));
    assertClose(reference(x, w, b), eval(sd, y, Map.of()), 1e-12);
  }

  @Test
  void forwardRank4WithUnknownBatch() {
    SameDiff sd = SameDiff.create();
    INDArray x = randn(1, 2, 3, 2, 4);
    INDArray w = randn(2, 5, 4);
    SDVariable in = sd.placeHolder("x", x.dataType(), -1, 3, 2, 4);
    SDVariable y = Linear.apply(sd, in, new long[] {-1, 3, 2, 4}, sd.var("w", w), null);
    INDArray expected = reference(x.reshape(12, 4), w, null).reshape(2, 3, 2, 5);
    assertClose(expected, eval(sd, y, Map.of("x", x)), 1e-12);
  }

  @Test
  void gradientRank2() {
    SameDiff sd = SameDiff.create();
    SDVariable y = Linear.apply(sd, sd.var("x", randn(1, 3, 4)), sd.var("w", randn(2, 5, 4)),
        sd.var("b", randn(3, 5)));
    gradCheck(sd, y, Map.of());
  }

  @Test
  void gradientRank3() {
    SameDiff sd = SameDiff.create();
    SDVariable y = Linear.apply(sd, sd.var("x", randn(1, 2, 3, 4)), new long[] {2, 3, 4},
        sd.var("w", randn(2, 5, 4)), sd.var("b", randn(3, 5)));
    gradCheck(sd, y, Map.of());
  }

  /** A registry with one [5, 4] weight and its trainable bias, the weight frozen or not. */
  private static ParameterRegistry registry(boolean weightTrains) {
    ParameterRegistry reg = new ParameterRegistry();
    reg.declare(ParamSpec.of("fc.weight", Role.PRETRAINED, Init.zeros(), 5, 4));
    reg.declare(ParamSpec.of("fc.bias", Role.PRETRAINED, Init.zeros(), 5));
    reg.initialise(0);
    reg.set("fc.weight", randn(2, 5, 4));
    reg.set("fc.bias", randn(3, 5));
    reg.applyPolicy(weightTrains ? FreezePolicy.FULL_FINETUNE : FreezePolicy.of(s -> s.name().equals("fc.bias")));
    return reg;
  }

  @Test
  void byNameMultipliesAFrozenWeightThroughItsTransposedCopy() {
    ParameterRegistry reg = registry(false);
    for (GraphContext ctx : new GraphContext[] {GraphContext.training(SameDiff.create(), reg, DataType.DOUBLE),
        GraphContext.evaluation(SameDiff.create(), reg, DataType.DOUBLE)}) {
      SameDiff sd = ctx.sd();
      INDArray x = randn(1, 3, 4);
      SDVariable y = Linear.apply(ctx, sd.var("x", x), "fc.weight", "fc.bias");
      assertClose(reference(x, reg.get("fc.weight"), reg.get("fc.bias")), eval(sd, y, Map.of()), 1e-12);
      assertNull(sd.getVariable("fc.weight"), "only the transposed copy is in the graph");
      SDVariable t = sd.getVariable("fc.weight" + GraphContext.TRANSPOSED_SUFFIX);
      assertEquals(VariableType.CONSTANT, t.getVariableType());
      assertArrayEquals(new long[] {4, 5}, t.getArr().shape());
      assertEquals('c', t.getArr().ordering());
      assertSame(t, ctx.frozenTransposed("fc.weight"), "created once per graph");
    }
  }

  @Test
  void aColumnMajorFrozenWeightIsMultipliedInPlaceAndARowMajorOneThroughACopy() {
    ParameterRegistry reg = new ParameterRegistry();
    reg.declare(ParamSpec.of("fc.weight", Role.PRETRAINED, Init.uniform(0.5), 5, 4));
    reg.declare(ParamSpec.of("fc.bias", Role.PRETRAINED, Init.uniform(0.5), 5));
    reg.initialise(3); // the registry holds the weight column-major (ParameterRegistry#heldColumnMajor)
    reg.applyPolicy(FreezePolicy.of(s -> false));
    INDArray x = randn(4, 3, 4).castTo(DataType.FLOAT);
    for (boolean columnMajor : new boolean[] {true, false}) {
      if (!columnMajor) {
        reg.set("fc.weight", reg.get("fc.weight").dup('c'));
      }
      INDArray w = reg.get("fc.weight");
      assertEquals(columnMajor ? 'f' : 'c', w.ordering());
      GraphContext ctx = GraphContext.evaluation(SameDiff.create(), reg, DataType.FLOAT);
      SDVariable y = Linear.apply(ctx, ctx.sd().var("x", x), "fc.weight", "fc.bias");
      INDArray t = ctx.frozenTransposed("fc.weight").getArr();
      assertEquals(w.transpose(), t);
      assertEquals('c', t.ordering());
      assertEquals(columnMajor, t.data().address() == w.data().address(),
          columnMajor ? "the registry's memory, read row-major" : "a copy of a row-major weight");
      INDArray expected = reference(x.castTo(DataType.DOUBLE), w.castTo(DataType.DOUBLE),
          reg.get("fc.bias").castTo(DataType.DOUBLE));
      assertClose(expected, eval(ctx.sd(), y, Map.of()).castTo(DataType.DOUBLE), 1e-5);
    }
  }

  @Test
  void byNameGradientOfTheInputThroughAFrozenTransposedWeight() {
    ParameterRegistry reg = registry(false);
    GraphContext ctx = GraphContext.training(SameDiff.create(), reg, DataType.DOUBLE);
    SDVariable y = Linear.apply(ctx, ctx.sd().var("x", randn(1, 3, 4)), "fc.weight", "fc.bias");
    gradCheck(ctx.sd(), y, Map.of()); // x and the trainable bias; the frozen weight is a constant
  }

  @Test
  void byNameKeepsATrainableWeightInItsOwnLayout() {
    ParameterRegistry reg = registry(true);
    GraphContext ctx = GraphContext.training(SameDiff.create(), reg, DataType.DOUBLE);
    SameDiff sd = ctx.sd();
    INDArray x = randn(1, 3, 4);
    SDVariable y = Linear.apply(ctx, sd.var("x", x), "fc.weight", "fc.bias");
    assertClose(reference(x, reg.get("fc.weight"), reg.get("fc.bias")), eval(sd, y, Map.of()), 1e-12);
    assertEquals(VariableType.VARIABLE, sd.getVariable("fc.weight").getVariableType());
    assertNull(sd.getVariable("fc.weight" + GraphContext.TRANSPOSED_SUFFIX));
    gradCheck(sd, y, Map.of()); // the weight's gradient comes back as [out, in]
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ctx.frozenTransposed("fc.weight"));
    assertTrue(e.getMessage().contains("fc.weight trains"), e.getMessage());
  }

  @Test
  void onlyAMatrixIsHeldTransposed() {
    GraphContext ctx = GraphContext.evaluation(SameDiff.create(), registry(false), DataType.DOUBLE);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ctx.frozenTransposed("fc.bias"));
    assertTrue(e.getMessage().contains("fc.bias trains"), e.getMessage()); // the bias trains here
    ParameterRegistry frozen = registry(false);
    frozen.applyPolicy(FreezePolicy.of(spec -> false));
    GraphContext all = GraphContext.evaluation(SameDiff.create(), frozen, DataType.DOUBLE);
    e = assertThrows(IllegalArgumentException.class, () -> all.frozenTransposed("fc.bias"));
    assertTrue(e.getMessage().contains("fc.bias must be a matrix [out, in]"), e.getMessage());
  }
}
