package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
class EqualShapeSumTest {
  /** Hand-computed: y = a + b, loss = sum(w ⊙ y): da = db = w. */
  @Test
  void sumAndGradientsByHand() {
    SameDiff sd = SameDiff.create();
    SDVariable a = sd.var("a", Nd4j.createFromArray(new double[][] {{1, 2}, {3, 4}}));
    SDVariable b = sd.var("b", Nd4j.createFromArray(new double[][] {{10, 20}, {30, 40}}));
    SDVariable y = EqualShapeSum.apply(sd, a, b);
    assertEquals(EqualShapeSum.NAME, y.getCreator().opName());
    assertArrayEquals(new double[] {11, 22, 33, 44}, sd.output(Map.of(), y.name()).get(y.name()).reshape(4)
        .toDoubleVector(), 0);
    SDVariable w = sd.constant("w", Nd4j.createFromArray(new double[][] {{1, -2}, {3, 5}}));
    sd.setLossVariables(sd.sum("loss", y.mul(w)));
    Gradients.prepare(sd);
    Map<String, INDArray> g = Gradients.calculate(sd, Map.of(), List.of(), List.of("a", "b")).getGradients();
    assertArrayEquals(new double[] {1, -2, 3, 5}, g.get("a").reshape(4).toDoubleVector(), 0);
    assertArrayEquals(new double[] {1, -2, 3, 5}, g.get("b").reshape(4).toDoubleVector(), 0);
  }

  /** Both operands computed from one input, which so gets two gradient contributions: float64 gradient check. */
  @Test
  void gradientCheckWithASharedInput() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", GradientCheck.randn(1, 1.0, 4, 3));
    SDVariable y = EqualShapeSum.apply(sd, sd.math.tanh(x), x.mul(x));
    SDVariable loss = GradientCheck.weightedSumLoss(sd, y, Map.of());
    GradientCheck.assertPasses(sd, loss.name(), Map.of());
  }

  /**
   * What the op is for: no op of the backward reads an operand, so a session can release the operands once the
   * forward is done with them. SameDiff's own add does not qualify: its {@code add_bp} reads both.
   */
  @Test
  void theBackwardReadsNeitherOperand() {
    assertTrue(backwardReaders(true).isEmpty());
    assertEquals(List.of("add_bp"), backwardReaders(false));
  }

  /** The backward ops of {@code sd}'s gradient function that read an operand of the sum (forward ops excluded). */
  private static List<String> backwardReaders(boolean equalShapeSum) {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", GradientCheck.randn(2, 1.0, 5, 3));
    SDVariable a = sd.math.sin(x);
    SDVariable b = sd.math.cos(x);
    SDVariable y = equalShapeSum ? EqualShapeSum.apply(sd, a, b) : a.add(b);
    GradientCheck.weightedSumLoss(sd, y, Map.of());
    Gradients.prepare(sd);
    SameDiff grad = sd.getFunction("grad");
    return java.util.stream.Stream.of(a.name(), b.name())
        .flatMap(n -> grad.getVariables().get(n).getInputsForOp().stream())
        .filter(op -> !sd.getOps().containsKey(op))
        .map(op -> grad.getOpById(op).opName())
        .distinct()
        .toList();
  }

  @Test
  void differentShapesAreRefusedWithTheirNames() {
    SameDiff sd = SameDiff.create();
    SDVariable a = sd.var("a", Nd4j.zeros(DataType.DOUBLE, 2, 3));
    SDVariable b = sd.var("b", Nd4j.zeros(DataType.DOUBLE, 1, 3));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EqualShapeSum.apply(sd, a, b));
    assertTrue(e.getMessage().contains("a [2, 3]") && e.getMessage().contains("b [1, 3]"), e.getMessage());
  }

  /** An axis of unknown size (a batch placeholder) is not compared. */
  @Test
  void unknownSizesAreAccepted() {
    SameDiff sd = SameDiff.create();
    SDVariable in = sd.placeHolder("in", DataType.DOUBLE, -1, 3);
    SDVariable y = EqualShapeSum.apply(sd, in, in.mul(2));
    INDArray v = Nd4j.createFromArray(new double[][] {{1, 2, 3}});
    assertArrayEquals(new double[] {3, 6, 9}, sd.output(Map.of("in", v), y.name()).get(y.name()).reshape(3)
        .toDoubleVector(), 0);
  }

  /** An evaluation graph keeps SameDiff's stock add (a graph saved from it loads with ND4J alone). */
  @Test
  void evaluationGraphsKeepTheStockAdd() {
    SameDiff sd = SameDiff.create();
    GraphContext.evaluation(sd, new ParameterRegistry(), DataType.DOUBLE);
    SDVariable y = EqualShapeSum.apply(sd, sd.var("a", Nd4j.ones(DataType.DOUBLE, 2)),
        sd.var("b", Nd4j.ones(DataType.DOUBLE, 2)));
    assertEquals("add", y.getCreator().opName());
  }
}
