package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.graph.Gradients;
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

  /** Float64 gradient check of the training graph's backward ({@link GeluProduct}, {@link NoGradient}). */
  @Test
  void gradient() {
    SameDiff sd = SameDiff.create();
    SDVariable y = Gelu.apply(sd, sd.var("x", randn(4, 3, 7).mul(2)));
    assertEquals(GeluProduct.NAME, y.getCreator().arg(0).getCreator().opName());
    gradCheck(sd, y, Map.of());
  }

  /** An evaluation graph holds SameDiff's stock ops only, with the same values. */
  @Test
  void evaluationGraphsKeepTheStockOps() {
    INDArray x = randn(5, 4, 6).mul(2);
    SameDiff training = SameDiff.create();
    INDArray expected = eval(training, Gelu.apply(training, training.var("x", x)), Map.of());
    SameDiff sd = SameDiff.create();
    evalContext(sd);
    SDVariable y = Gelu.apply(sd, sd.var("x", x));
    assertTrue(Arrays.stream(sd.ops()).noneMatch(o -> o.opName().startsWith("mtlora_")),
        Arrays.toString(sd.ops()));
    assertEquals(expected, eval(sd, y, Map.of()));
  }

  /**
   * What the backward keeps. SameDiff's own backward of {@code x ⊙ erfc(−x/√2)} has {@code multiply_bp(x, e, dp)}: an
   * op that reads the gradient and the forward arrays {@code x} and {@code e} together, so both stay alive until the
   * gradient arrives (and {@code exp(−z²)} of erfc's backward with them). In ours no op that reads {@code x} or
   * {@code e} reads anything computed from the gradient: they are read by the forward and by the derivative, which a
   * session computes during the forward, and the backward reads the derivative alone.
   */
  @Test
  void theGeluInputIsNotReadWithTheGradient() {
    assertEquals(List.of(), readersWithTheGradient(true));
    assertEquals(List.of("multiply_bp"), readersWithTheGradient(false));
  }

  /** Ops of the gradient function that read the GELU's input or erfc's output and also a gradient-derived array. */
  private static List<String> readersWithTheGradient(boolean ours) {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.math.tanh(sd.var("w", randn(6, 4, 5)));
    SDVariable y = ours ? Gelu.apply(sd, x) : x.mul(sd.math.erfc(x.mul(-1 / Math.sqrt(2)))).mul(0.5);
    SDVariable erfc = Arrays.stream(sd.ops()).filter(o -> o.opName().equals("erfc")).findFirst().orElseThrow()
        .outputVariable();
    sd.setLossVariables(sd.sum("loss", y.mul(y)));
    Gradients.prepare(sd);
    SameDiff grad = sd.getFunction("grad");
    // everything computed from the loss's gradient: forward reachability from the ops that read no forward array
    java.util.Set<String> fromGradient = new java.util.HashSet<>();
    fromGradient.add(grad.getVariable("loss").getGradient().name());
    boolean grew = true;
    while (grew) {
      grew = false;
      for (var op : grad.getOps().values()) {
        if (!sd.getOps().containsKey(op.getName()) && op.getInputsToOp() != null
            && op.getInputsToOp().stream().anyMatch(fromGradient::contains)) {
          grew |= fromGradient.addAll(op.getOutputsOfOp());
        }
      }
    }
    return java.util.stream.Stream.of(x.name(), erfc.name())
        .flatMap(n -> grad.getVariables().get(n).getInputsForOp().stream())
        .map(grad.getOps()::get)
        .filter(op -> op.getInputsToOp().stream().anyMatch(fromGradient::contains))
        .map(op -> op.getOp().opName())
        .distinct()
        .toList();
  }
}
