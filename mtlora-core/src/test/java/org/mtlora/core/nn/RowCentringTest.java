package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.Gradients;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.testing.GradientCheck;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

@org.junit.jupiter.api.extension.ExtendWith(org.mtlora.core.testing.DoublePrecision.class)
class RowCentringTest {
  /** Hand-computed: rows [1, 2, 6] and [0, -3, 3] have means 3 and 0. */
  @Test
  void centresEachRowByHand() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", Nd4j.createFromArray(new double[][] {{1, 2, 6}, {0, -3, 3}}));
    SDVariable y = RowCentring.apply(sd, x, 3);
    assertArrayEquals(new double[] {-2, -1, 3, 0, -3, 3},
        sd.output(Map.of(), y.name()).get(y.name()).reshape(6).toDoubleVector(), 1e-15);
    SDVariable m = RowCentring.rowMeans(sd, x, 3);
    assertArrayEquals(new long[] {2, 1}, sd.output(Map.of(), m.name()).get(m.name()).shape());
    assertArrayEquals(new double[] {3, 0}, sd.output(Map.of(), m.name()).get(m.name()).reshape(2).toDoubleVector(),
        1e-15);
  }

  /**
   * Hand-computed backward: y = x − mean(x) per row, loss = sum(w ⊙ y): dx = w − mean(w) per row. For w = [[1, 2,
   * 6]]: [[−2, −1, 3]].
   */
  @Test
  void gradientByHand() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", Nd4j.createFromArray(new double[][] {{0.5, -1, 2}}));
    SDVariable w = sd.constant("w", Nd4j.createFromArray(new double[][] {{1, 2, 6}}));
    sd.setLossVariables(sd.sum("loss", RowCentring.apply(sd, x, 3).mul(w)));
    Gradients.prepare(sd);
    INDArray dx = Gradients.calculate(sd, Map.of(), List.of(), List.of("x")).getGradients().get("x");
    assertArrayEquals(new double[] {-2, -1, 3}, dx.reshape(3).toDoubleVector(), 1e-15);
  }

  /**
   * A layer norm built from it, over a batch of unknown size: float64 gradient check, and no backward op that reads x
   * or the squares (SameDiff's reduce_mean_bp and subtract_bp would).
   */
  @Test
  void layerNormGradientWithoutReduceMeanBackward() {
    SameDiff sd = SameDiff.create();
    SDVariable in = sd.placeHolder("in", DataType.DOUBLE, -1, 5);
    SDVariable x = sd.math.tanh(in.mul(sd.var("s", GradientCheck.randn(1, 1.0, 1, 5))));
    // without β: the composite of RowCentring (with γ and β, a layer norm on rows is one op, LayerNormTraining)
    SDVariable y = LayerNorm.apply(sd, x, 2, sd.var("g", GradientCheck.randn(2, 1.0, 5)), null);
    Map<String, INDArray> feed = Map.of("in", GradientCheck.randn(4, 1.0, 3, 5));
    INDArray expected = LayerNormTest.reference(Nd4j.math().tanh(feed.get("in").mulRowVector(
        sd.getVariable("s").getArr())), sd.getVariable("g").getArr(), Nd4j.zeros(DataType.DOUBLE, 5), 1e-5);
    INDArray out = sd.output(feed, y.name()).get(y.name());
    assertTrue(expected.equalsWithEps(out, 1e-12), out + " vs " + expected);
    SDVariable loss = GradientCheck.weightedSumLoss(sd, y, feed);
    GradientCheck.assertPasses(sd, loss.name(), feed);
    List<String> gradOps = Arrays.stream(sd.getFunction("grad").ops()).map(o -> o.opName()).toList();
    assertFalse(gradOps.contains("reduce_mean_bp") || gradOps.contains("subtract_bp"), gradOps.toString());
    SameDiff grad = sd.getFunction("grad");
    List<String> readersOfX = grad.getVariables().get(x.name()).getInputsForOp().stream()
        .filter(op -> !sd.getOps().containsKey(op)).toList();
    assertEquals(List.of(), readersOfX, "backward ops reading the norm's input");
  }

  @Test
  void aWidthThatContradictsTheShapeIsRefused() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", Nd4j.zeros(DataType.DOUBLE, 2, 3));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RowCentring.apply(sd, x, 4));
    assertTrue(e.getMessage().contains("x") && e.getMessage().contains("[2, 3]"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> RowCentring.rowMeans(sd, x, 0));
  }

  /** An evaluation graph keeps SameDiff's stock mean and subtract. */
  @Test
  void evaluationGraphsKeepTheStockOps() {
    SameDiff sd = SameDiff.create();
    GraphContext.evaluation(sd, new ParameterRegistry(), DataType.DOUBLE);
    SDVariable y = RowCentring.apply(sd, sd.var("x", Nd4j.ones(DataType.DOUBLE, 2, 3)), 3);
    assertEquals("subtract", y.getCreator().opName());
  }
}
