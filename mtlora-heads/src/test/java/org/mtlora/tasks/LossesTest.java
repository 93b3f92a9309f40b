package org.mtlora.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.graph.SessionMemory;
import org.mtlora.core.testing.GradientCheck;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

@org.junit.jupiter.api.extension.ExtendWith(org.mtlora.core.testing.DoublePrecision.class)
class LossesTest {



  private static double value(SameDiff sd, SDVariable loss) {
    SessionMemory.ensureSession(sd); // the cross-entropy's PixelLogLikelihood computes in Java: the library's session
    return sd.output(Map.of(), loss.name()).get(loss.name()).getDouble(0);
  }

  @Test
  void crossEntropyIgnoresLabel255AndAveragesOverValidPixels() {
    SameDiff sd = SameDiff.create();
    INDArray logits = GradientCheck.randn(1, 1, 1, 3, 1, 2); // B=1, K=3, 1x2 pixels
    INDArray labels = Nd4j.createFromArray(2.0, 255.0).reshape(1, 1, 1, 2);
    SDVariable loss = Losses.crossEntropy(sd, sd.var("x", logits), sd.constant(labels), 3);
    double z = 0;
    for (int k = 0; k < 3; k++) {
      z += Math.exp(logits.getDouble(0, k, 0, 0));
    }
    assertEquals(-(logits.getDouble(0, 2, 0, 0) - Math.log(z)), value(sd, loss), 1e-12);
    GradientCheck.assertPasses(sd, loss.name(), Map.of());
  }

  @Test
  void allIgnoredBatchGivesZeroNotNaN() {
    SameDiff sd = SameDiff.create();
    INDArray labels = Nd4j.valueArrayOf(new long[] {2, 1, 2, 2}, 255.0);
    SDVariable ce = Losses.crossEntropy(sd, sd.var("x", GradientCheck.randn(2, 1, 2, 7, 2, 2)), sd.constant(labels), 7);
    assertEquals(0.0, value(sd, ce), 0.0);
    SameDiff sd2 = SameDiff.create();
    SDVariable n = Losses.normalsL1(sd2, sd2.var("p", GradientCheck.randn(3, 1, 1, 3, 2, 2)),
        sd2.constant(Nd4j.valueArrayOf(new long[] {1, 3, 2, 2}, 255.0)));
    assertEquals(0.0, value(sd2, n), 0.0);
  }

  @Test
  void balancedBceByHand() {
    SameDiff sd = SameDiff.create();
    INDArray x = Nd4j.createFromArray(0.5, -1.0, 2.0, -0.25).reshape(1, 1, 2, 2);
    INDArray y = Nd4j.createFromArray(1.0, 0.0, 0.0, 0.0).reshape(1, 1, 2, 2);
    SDVariable loss = Losses.balancedBce(sd, sd.var("x", x), sd.constant(y));
    double w = 3.0 / 4; // negatives / total
    double pos = 0;
    double neg = 0;
    for (int i = 0; i < 4; i++) {
      double xi = x.getDouble(i);
      double l = Math.max(xi, 0) - xi * y.getDouble(i) + Math.log(1 + Math.exp(-Math.abs(xi)));
      if (y.getDouble(i) == 1) {
        pos += l;
      } else {
        neg += l;
      }
    }
    assertEquals((w * pos + (1 - w) * neg) / 4, value(sd, loss), 1e-12);
    GradientCheck.assertPasses(sd, loss.name(), Map.of());
  }

  @Test
  void balancedBceGradient() {
    SameDiff sd = SameDiff.create();
    INDArray y = Nd4j.createFromArray(1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0).reshape(2, 1, 2, 2);
    SDVariable loss = Losses.balancedBce(sd, sd.var("x", GradientCheck.randn(5, 2, 2, 1, 2, 2)), sd.constant(y));
    GradientCheck.assertPasses(sd, loss.name(), Map.of());
  }

  @Test
  void normalsL1ByHandAndGradient() {
    SameDiff sd = SameDiff.create();
    INDArray p = Nd4j.createFromArray(3.0, 1.0, 4.0, 0.0, 0.0, -2.0).reshape(1, 3, 1, 2); // pixels (3,4,0), (1,0,-2)
    INDArray t = Nd4j.createFromArray(0.0, 255.0, 1.0, 255.0, 0.0, 255.0).reshape(1, 3, 1, 2);
    SDVariable loss = Losses.normalsL1(sd, sd.var("p", p), sd.constant(t));
    // pixel 0: (0.6, 0.8, 0) vs (0, 1, 0) -> 0.6 + 0.2 + 0 = 0.8 over 3 valid elements; pixel 1 ignored
    assertEquals(0.8 / 3, value(sd, loss), 1e-12);
    GradientCheck.assertPasses(sd, loss.name(), Map.of());
  }
}
