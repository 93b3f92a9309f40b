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
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

@org.junit.jupiter.api.extension.ExtendWith(org.mtlora.core.testing.DoublePrecision.class)
class MaskProductTest {
  /** By hand: y = x ⊙ m, and with loss = sum(w ⊙ y) the gradient w ⊙ m. */
  @Test
  void valuesAndGradientByHand() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", Nd4j.createFromArray(new double[][] {{1, -2}, {3, 4}}));
    SDVariable m = sd.placeHolder("m", DataType.DOUBLE, -1, 2);
    SDVariable w = sd.constant("w", Nd4j.createFromArray(new double[][] {{5, 6}, {7, 8}}));
    SDVariable y = MaskProduct.apply(sd, x, m);
    Map<String, INDArray> feed = Map.of("m", Nd4j.createFromArray(new double[][] {{2, 0}, {0, 2}}));
    assertArrayEquals(new double[] {2, 0, 0, 8},
        sd.output(feed, y.name()).get(y.name()).reshape(4).toDoubleVector(), 0);
    SDVariable loss = sd.sum("loss", y.mul(w));
    sd.setLossVariables(loss);
    Gradients.prepare(sd);
    Map<String, INDArray> g = Gradients.calculate(sd, feed, List.of(), List.of("x")).getGradients();
    assertArrayEquals(new double[] {10, 0, 0, 16}, g.get("x").reshape(4).toDoubleVector(), 0);
  }

  /** Float64 finite differences through a computed input, and no multiply_bp for the mask product. */
  @Test
  void gradientCheckWithoutMultiplyBp() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", GradientCheck.randn(1, 1.0, 4, 3));
    SDVariable m = sd.placeHolder("m", DataType.DOUBLE, -1, 3);
    Map<String, INDArray> feed = Map.of("m", Nd4j.createFromArray(new double[][] {
        {1.25, 0, 1.25}, {0, 1.25, 1.25}, {1.25, 1.25, 1.25}, {0, 0, 1.25}}));
    SDVariable y = MaskProduct.apply(sd, sd.math.tanh(x), m);
    SDVariable loss = sd.sum("loss", y.add(y.mul(y)));
    GradientCheck.assertPasses(sd, loss.name(), feed);
    List<String> gradOps = Arrays.stream(sd.getFunction("grad").ops()).map(o -> o.opName()).toList();
    // the loss's y * y needs its own multiply_bp; none for the mask product
    assertFalse(gradOps.stream().filter(n -> n.equals("multiply_bp")).count() > 1, gradOps.toString());
  }
}
