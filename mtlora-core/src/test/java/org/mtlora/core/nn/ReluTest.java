package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.graph.Gradients;
import org.mtlora.core.testing.GradientCheck;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

@org.junit.jupiter.api.extension.ExtendWith(org.mtlora.core.testing.DoublePrecision.class)
class ReluTest {
  /** By hand: max(x, 0), and the gradient 1 where x > 0, 0 where x <= 0 (PyTorch's choice at 0). */
  @Test
  void valuesAndGradientByHand() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", Nd4j.createFromArray(-2.0, -0.5, 0.0, 0.25, 3.0));
    SDVariable w = sd.constant("w", Nd4j.createFromArray(1.0, 2.0, 3.0, 4.0, 5.0));
    SDVariable y = Relu.apply(sd, x);
    assertArrayEquals(new double[] {0, 0, 0, 0.25, 3}, sd.output(Map.of(), y.name()).get(y.name()).toDoubleVector(),
        0);
    SDVariable loss = sd.sum("loss", y.mul(w));
    sd.setLossVariables(loss);
    Gradients.prepare(sd);
    Map<String, INDArray> g = Gradients.calculate(sd, Map.of(), List.of(), List.of("x")).getGradients();
    assertArrayEquals(new double[] {0, 0, 0, 4, 5}, g.get("x").toDoubleVector(), 0);
  }

  /** Float64 finite differences away from the kink, and no thresholdedrelu_bp / relu_bp in the backward. */
  @Test
  void gradientCheck() {
    SameDiff sd = SameDiff.create();
    INDArray xv = GradientCheck.randn(1, 1.0, 3, 2, 4);
    // keep every value at least 0.05 from 0, where the finite difference would straddle the kink
    xv.assign(Nd4j.math().sign(xv).mul(Nd4j.math().abs(xv).add(0.05)));
    SDVariable y = Relu.apply(sd, sd.var("x", xv));
    SDVariable loss = GradientCheck.weightedSumLoss(sd, y, Map.of());
    GradientCheck.assertPasses(sd, loss.name(), Map.of());
    List<String> gradOps = Arrays.stream(sd.getFunction("grad").ops()).map(o -> o.opName()).toList();
    assertFalse(gradOps.stream().anyMatch(n -> n.contains("relu_bp")), gradOps.toString());
  }
}
