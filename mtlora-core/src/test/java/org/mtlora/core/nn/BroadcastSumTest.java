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
import org.mtlora.core.graph.Gradients;
import org.mtlora.core.testing.GradientCheck;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

@org.junit.jupiter.api.extension.ExtendWith(org.mtlora.core.testing.DoublePrecision.class)
class BroadcastSumTest {
  /** Hand-computed: x = [[1, 2], [3, 4], [5, 6]], b = [10, 100], loss = sum(w ⊙ y): dx = w, db = column sums of w. */
  @Test
  void biasOfRowsByHand() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", Nd4j.createFromArray(new double[][] {{1, 2}, {3, 4}, {5, 6}}));
    SDVariable b = sd.var("b", Nd4j.createFromArray(10.0, 100.0));
    SDVariable w = sd.constant("w", Nd4j.createFromArray(new double[][] {{1, 2}, {3, 4}, {5, 7}}));
    SDVariable y = BroadcastSum.apply(sd, x, b);
    assertArrayEquals(new double[] {11, 102, 13, 104, 15, 106},
        sd.output(Map.of(), y.name()).get(y.name()).reshape(6).toDoubleVector(), 0);
    SDVariable loss = sd.sum("loss", y.mul(w));
    sd.setLossVariables(loss);
    Gradients.prepare(sd);
    Map<String, INDArray> g = Gradients.calculate(sd, Map.of(), List.of(), List.of("x", "b")).getGradients();
    assertArrayEquals(new double[] {1, 2, 3, 4, 5, 7}, g.get("x").reshape(6).toDoubleVector(), 0);
    assertArrayEquals(new long[] {2}, g.get("b").shape());
    assertArrayEquals(new double[] {9, 13}, g.get("b").toDoubleVector(), 0);
  }

  /**
   * An attention bias {@code [nH, N, N]} added to scores {@code [B_, nH, N, N]} whose batch is a placeholder of
   * unknown size (-1 when the graph is built): float64 gradient check, and no add_bp in the backward.
   */
  @Test
  void attentionBiasOverAnUnknownBatch() {
    SameDiff sd = SameDiff.create();
    SDVariable in = sd.placeHolder("in", DataType.DOUBLE, -1, 2, 3, 3);
    SDVariable x = sd.var("x", GradientCheck.randn(1, 1.0, 1, 2, 3, 3));
    SDVariable bias = sd.var("bias", GradientCheck.randn(2, 1.0, 2, 3, 3));
    SDVariable y = BroadcastSum.apply(sd, sd.math.tanh(in.mul(x)), bias);
    Map<String, INDArray> feed = Map.of("in", GradientCheck.randn(3, 1.0, 4, 2, 3, 3));
    INDArray out = sd.output(feed, y.name()).get(y.name());
    INDArray expected = Nd4j.math().tanh(feed.get("in").mul(x.getArr()));
    for (int s = 0; s < 4; s++) {
      expected.slice(s).addi(bias.getArr());
    }
    assertEquals(expected, out);
    SDVariable loss = GradientCheck.weightedSumLoss(sd, y, feed);
    GradientCheck.assertPasses(sd, loss.name(), feed);
    List<String> gradOps = Arrays.stream(sd.getFunction("grad").ops()).map(o -> o.opName()).toList();
    assertFalse(gradOps.contains("add_bp"), gradOps.toString());
  }

  /** A computed shift {@code [1, C]} (batch norm's) passes its gradient on to what it is made of. */
  @Test
  void gradientFlowsIntoAComputedTerm() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", GradientCheck.randn(4, 1.0, 5, 4));
    SDVariable g = sd.var("g", GradientCheck.randn(5, 1.0, 4));
    SDVariable shift = sd.reshape(g.mul(g), 1, 4);
    SDVariable y = BroadcastSum.apply(sd, sd.math.tanh(x), shift, 1, 4);
    SDVariable loss = GradientCheck.weightedSumLoss(sd, y, Map.of());
    GradientCheck.assertPasses(sd, loss.name(), Map.of());
  }

  /** A frozen (constant) bias: the input's gradient only, no reduction at all. */
  @Test
  void aConstantBiasGetsNoReduction() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", GradientCheck.randn(6, 1.0, 5, 4));
    SDVariable y = BroadcastSum.apply(sd, sd.math.tanh(x), sd.constant("b", GradientCheck.randn(7, 1.0, 4)));
    SDVariable loss = GradientCheck.weightedSumLoss(sd, y, Map.of());
    GradientCheck.assertPasses(sd, loss.name(), Map.of());
    List<String> gradOps = Arrays.stream(sd.getFunction("grad").ops()).map(o -> o.opName()).toList();
    // the weighted-sum loss's own ops aside: no add_bp, and none of the column sum's fill and product
    assertFalse(gradOps.contains("add_bp") || gradOps.contains("matmul") || gradOps.contains("fill"),
        gradOps.toString());
  }

  @Test
  void aTermMustMatchTheTrailingAxes() {
    assertTrue(BroadcastSum.broadcastsAlongLeadingAxes(new long[] {-1, 3, 4}, new long[] {3, 4}));
    assertTrue(BroadcastSum.broadcastsAlongLeadingAxes(new long[] {-1, 4}, new long[] {1, 4}));
    assertFalse(BroadcastSum.broadcastsAlongLeadingAxes(new long[] {-1, 3, 4}, new long[] {3, 1}));
    assertFalse(BroadcastSum.broadcastsAlongLeadingAxes(new long[] {4}, new long[] {2, 4}));
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", Nd4j.zeros(DataType.DOUBLE, 5, 4));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> BroadcastSum.apply(sd, x, sd.var("b", Nd4j.zeros(DataType.DOUBLE, 3))));
    assertTrue(e.getMessage().contains("[3]") && e.getMessage().contains("[5, 4]"), e.getMessage());
  }
}
