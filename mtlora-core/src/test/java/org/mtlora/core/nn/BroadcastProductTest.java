package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.nd4j.linalg.api.ndarray.INDArray;

@org.junit.jupiter.api.extension.ExtendWith(org.mtlora.core.testing.DoublePrecision.class)
class BroadcastProductTest {
  /** A per-channel scale of an NCHW map: values by loops, float64 gradient check, no multiply_bp in the backward. */
  @Test
  void perChannelScaleOfAFeatureMap() {
    INDArray xv = GradientCheck.randn(1, 1.0, 2, 3, 2, 4);
    INDArray fv = GradientCheck.randn(2, 1.0, 1, 3, 1, 1);
    SameDiff sd = SameDiff.create();
    SDVariable y = BroadcastProduct.apply(sd, sd.var("x", xv), sd.var("f", fv), 1, 3, 1, 1);
    INDArray out = sd.output(Map.of(), y.name()).get(y.name());
    for (int b = 0; b < 2; b++) {
      for (int c = 0; c < 3; c++) {
        for (int i = 0; i < 2; i++) {
          for (int j = 0; j < 4; j++) {
            assertEquals(xv.getDouble(b, c, i, j) * fv.getDouble(0, c, 0, 0), out.getDouble(b, c, i, j), 1e-15);
          }
        }
      }
    }
    SDVariable loss = GradientCheck.weightedSumLoss(sd, y, Map.of());
    GradientCheck.assertPasses(sd, loss.name(), Map.of());
    List<String> gradOps = Arrays.stream(sd.getFunction("grad").ops()).map(o -> o.opName()).toList();
    // one multiply_bp, the weighted-sum loss's (equal shapes); none for the broadcast product
    assertEquals(1, gradOps.stream().filter(n -> n.equals("multiply_bp")).count(), gradOps.toString());
  }

  /** Hand-computed: x = [[1, 2], [3, 4]], f = [[10, 100]], loss = sum(y): dx = f per row, df = column sums of x. */
  @Test
  void rowsScaledPerColumnByHand() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", org.nd4j.linalg.factory.Nd4j.createFromArray(new double[][] {{1, 2}, {3, 4}}));
    SDVariable f = sd.var("f", org.nd4j.linalg.factory.Nd4j.createFromArray(new double[][] {{10, 100}}));
    SDVariable loss = sd.sum("loss", BroadcastProduct.apply(sd, x, f, 1, 2));
    sd.setLossVariables(loss);
    Gradients.prepare(sd);
    Map<String, INDArray> g = Gradients.calculate(sd, Map.of(), List.of(), List.of("x", "f")).getGradients();
    assertArrayEquals(new double[] {10, 100, 10, 100}, g.get("x").reshape(4).toDoubleVector(), 0);
    assertArrayEquals(new double[] {4, 6}, g.get("f").reshape(2).toDoubleVector(), 0);
  }

  /** The factor's gradient goes on through what it is made of (here a reshape of a vector and a product). */
  @Test
  void gradientFlowsIntoAComputedFactor() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", GradientCheck.randn(3, 1.0, 5, 4));
    SDVariable g = sd.var("g", GradientCheck.randn(4, 1.0, 4));
    SDVariable f = sd.reshape(g.mul(g).add(1.0), 1, 4);
    SDVariable y = BroadcastProduct.apply(sd, sd.math.tanh(x), f, 1, 4);
    SDVariable loss = GradientCheck.weightedSumLoss(sd, y, Map.of());
    GradientCheck.assertPasses(sd, loss.name(), Map.of());
  }

  @Test
  void aFactorMustBroadcastAlongSomeButNotAllAxes() {
    assertArrayEquals(new int[] {0, 2, 3}, BroadcastProduct.broadcastAxes(1, 8, 1, 1));
    IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
        () -> BroadcastProduct.broadcastAxes(2, 8));
    assertTrue(none.getMessage().contains("[2, 8]"), none.getMessage());
    assertThrows(IllegalArgumentException.class, () -> BroadcastProduct.broadcastAxes(1, 1));
  }
}
