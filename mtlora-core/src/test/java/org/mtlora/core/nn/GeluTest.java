package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class GeluTest extends BlocksTestBase {
  @Test
  void exactErfValues() {
    SameDiff sd = SameDiff.create();
    INDArray x = Nd4j.createFromArray(-3.0, -1.0, 0.0, 0.5, 1.0, 2.0);
    INDArray y = eval(sd, Gelu.apply(sd, sd.var("x", x)), Map.of());
    // x * Phi(x) with Phi from Python's math.erf; the sigmoid approximation gives 0.8458 at 1.
    double[] expected = {-0.004049694095, -0.158655253931, 0.0, 0.345731230637, 0.841344746069, 1.954499736104};
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], y.getDouble(i), 1e-9, "gelu(" + x.getDouble(i) + ")");
    }
  }

  @Test
  void float32KeepsTheNegativeTail() {
    // 1 + erf(x / sqrt(2)) cancels to 0 in float32 below about -5.5 (and loses digits from -3 on); erfc does not.
    SameDiff sd = SameDiff.create();
    INDArray x = Nd4j.createFromArray(-9f, -6f, -4f, -3f);
    INDArray y = eval(sd, Gelu.apply(sd, sd.var("x", x)), Map.of());
    // x * 0.5 * erfc(-x / sqrt(2)) from Python's math.erfc
    double[] expected = {-1.015729565358458e-18, -5.919525870226207e-09, -1.2668496733247986e-04,
        -4.049694094890287e-03};
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], y.getDouble(i), 1e-5 * Math.abs(expected[i]), "float32 gelu(" + x.getDouble(i) + ")");
    }
  }

  @Test
  void gradient() {
    SameDiff sd = SameDiff.create();
    gradCheck(sd, Gelu.apply(sd, sd.var("x", randn(4, 3, 7).mul(2))), Map.of());
  }
}
