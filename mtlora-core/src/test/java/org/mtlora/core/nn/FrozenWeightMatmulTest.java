package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.testing.GradientCheck;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

@org.junit.jupiter.api.extension.ExtendWith(org.mtlora.core.testing.DoublePrecision.class)
class FrozenWeightMatmulTest {
  @Test
  void forwardEqualsMmulAndBackwardSkipsTheWeightGradient() {
    INDArray xv = GradientCheck.randn(1, 1.0, 5, 4);
    INDArray wv = GradientCheck.randn(2, 1.0, 3, 4); // [out, in]
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", xv);
    SDVariable w = sd.constant("w", wv);
    SDVariable y = FrozenWeightMatmul.product(sd, x, w, true);
    SDVariable loss = sd.sum("loss", y.mul(y));
    sd.setLossVariables(loss);
    INDArray out = sd.output(Map.of(), y.name()).get(y.name());
    assertEquals(xv.mmul(wv.transpose()), out);
    GradientCheck.assertPasses(sd, loss.name(), Map.of());
    List<String> gradOps = java.util.Arrays.stream(sd.getFunction("grad").ops()).map(o -> o.opName()).toList();
    assertTrue(gradOps.stream().noneMatch(n -> n.equals("matmul_bp")), gradOps.toString());
  }

  /** Without the transpose ({@code x W}, W {@code [in, out]}), as the resize matrices use it, inside a deeper graph. */
  @Test
  void untransposedConstantInsideAGraph() {
    INDArray xv = GradientCheck.randn(3, 1.0, 6, 4);
    INDArray mv = GradientCheck.randn(4, 1.0, 4, 5); // [in, out]
    INDArray bv = GradientCheck.randn(5, 1.0, 5);
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", xv);
    SDVariable b = sd.var("b", bv);
    SDVariable y = FrozenWeightMatmul.product(sd, sd.math.tanh(x), sd.constant("m", mv), false).add(b);
    assertEquals(org.nd4j.linalg.ops.transforms.Transforms.tanh(xv, true).mmul(mv).addRowVector(bv),
        sd.output(Map.of(), y.name()).get(y.name()));
    SDVariable loss = GradientCheck.weightedSumLoss(sd, y, Map.of());
    GradientCheck.assertPasses(sd, loss.name(), Map.of());
  }

  /** A trainable right operand keeps SameDiff's own product and both gradients. */
  @Test
  void aTrainableWeightKeepsItsGradient() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", GradientCheck.randn(6, 1.0, 3, 4));
    SDVariable w = sd.var("w", GradientCheck.randn(7, 1.0, 2, 4));
    SDVariable y = FrozenWeightMatmul.product(sd, x, w, true);
    assertEquals("matmul", y.getCreator().opName());
    SDVariable loss = GradientCheck.weightedSumLoss(sd, y, Map.of());
    GradientCheck.assertPasses(sd, loss.name(), Map.of());
  }
}
