package org.mtlora.core.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.mtlora.core.graph.Gradients;
import org.mtlora.core.graph.SessionMemory;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Double-precision finite-difference gradient check of every trainable variable of a graph (inputs under test are
 * made variables too): the analytic gradient from {@link Gradients#calculate} (the training path of the library)
 * against the central difference {@code (L(x + eps) - L(x - eps)) / 2eps}, element by element.
 *
 * <p>Relative error is {@code |a - n| / max(|a|, |n|)}. An element fails when its relative error exceeds {@link
 * #MAX_REL} and its absolute error exceeds {@link #MIN_ABS} (below that both values are at the level of the central
 * difference's round-off, about 1e-16 |L| / eps).
 */
public final class GradientCheck {
  public static final double EPS = 1e-6;
  public static final double MAX_REL = 1e-5;
  public static final double MIN_ABS = 1e-9;
  /** Elements with a gradient at least this large always count towards the reported maximum relative error. */
  public static final double REPORT_MAGNITUDE = 1e-3;

  private GradientCheck() {}

  /** Outcome of a check. */
  public record Result(int checked, int failed, double maxRelError, double maxAbsError, String worst) {
    @Override
    public String toString() {
      return String.format("%d elements checked, %d failed, max relative error %.3e, max absolute error %.3e (%s)",
          checked, failed, maxRelError, maxAbsError, worst);
    }
  }

  /** A random double array, N(0, 1) scaled by {@code scale}. */
  public static INDArray randn(long seed, double scale, long... shape) {
    SplittableRandom r = new SplittableRandom(seed);
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    double[] v = new double[Math.toIntExact(n)];
    for (int i = 0; i < v.length; i++) {
      v[i] = scale * Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }
    return Nd4j.createFromArray(v).reshape(shape);
  }

  /**
   * Adds {@code loss = sum(out * w)} with a fixed random {@code w} of the output's shape (so every output element
   * has a different weight) and marks it as the loss.
   */
  public static SDVariable weightedSumLoss(SameDiff sd, SDVariable out, Map<String, INDArray> placeholders) {
    SessionMemory.ensureSession(sd);
    INDArray value = sd.output(placeholders, out.name()).get(out.name());
    INDArray w = randn(99, 1.0, value.shape());
    SDVariable loss = sd.sum("gradcheck_loss", out.mul(sd.constant(w.castTo(value.dataType()))));
    sd.setLossVariables(loss);
    return loss;
  }

  /** Runs the check over every variable of {@code sd} with step {@link #EPS}. */
  public static Result run(SameDiff sd, String loss, Map<String, INDArray> placeholders) {
    return run(sd, loss, placeholders, EPS);
  }

  /**
   * Runs the check with step {@code eps}. A larger step suits deep graphs whose loss is large while some gradients
   * are tiny: the central difference's round-off, about {@code 1e-16 |L| / eps}, then dominates at eps = 1e-6.
   */
  public static Result run(SameDiff sd, String loss, Map<String, INDArray> placeholders, double eps) {
    List<String> vars = new ArrayList<>();
    for (SDVariable v : sd.variables()) {
      if (v.getVariableType() == VariableType.VARIABLE) {
        assertEquals(DataType.DOUBLE, v.dataType(), "gradient checks run in double precision: " + v.name());
        vars.add(v.name());
      }
    }
    assertTrue(!vars.isEmpty(), "graph has no variables to check");
    if (sd.getFunction("grad") == null) {
      Gradients.prepare(sd);
    }
    Map<String, INDArray> analytic = Gradients.calculate(sd, placeholders, List.of(), vars).getGradients();
    int checked = 0;
    int failed = 0;
    double maxRel = 0;
    double maxAbs = 0;
    String worst = "none";
    for (String name : vars) {
      INDArray arr = sd.getArrForVarName(name);
      INDArray grad = analytic.get(name);
      assertTrue(grad != null, "no analytic gradient for " + name);
      for (long i = 0; i < arr.length(); i++) {
        double orig = arr.getDouble(i);
        arr.putScalar(i, orig + eps);
        double plus = lossValue(sd, loss, placeholders);
        arr.putScalar(i, orig - eps);
        double minus = lossValue(sd, loss, placeholders);
        arr.putScalar(i, orig);
        double numeric = (plus - minus) / (2 * eps);
        double a = grad.getDouble(i);
        double abs = Math.abs(a - numeric);
        double magnitude = Math.max(Math.abs(a), Math.abs(numeric));
        double rel = magnitude == 0 ? 0 : abs / magnitude;
        checked++;
        if (rel > MAX_REL && abs > MIN_ABS) {
          failed++;
        }
        maxAbs = Math.max(maxAbs, abs);
        // Report the relative error where it means something: elements that fail, or gradients of visible size.
        boolean reported = abs > MIN_ABS || magnitude >= REPORT_MAGNITUDE;
        if (reported && rel > maxRel) {
          maxRel = rel;
          worst = name + "[" + i + "] analytic " + a + " numeric " + numeric;
        }
      }
    }
    return new Result(checked, failed, maxRel, maxAbs, worst);
  }

  /** Runs the check and asserts that every element passes; returns the result for reporting. */
  public static Result assertPasses(SameDiff sd, String loss, Map<String, INDArray> placeholders) {
    return assertPasses(sd, loss, placeholders, EPS);
  }

  /** {@link #assertPasses(SameDiff, String, Map)} with step {@code eps}. */
  public static Result assertPasses(SameDiff sd, String loss, Map<String, INDArray> placeholders, double eps) {
    Result r = run(sd, loss, placeholders, eps);
    String caller = StackWalker.getInstance().walk(frames -> frames
        .filter(f -> f.getClassName().endsWith("Test") && !f.getMethodName().startsWith("lambda$"))
        .reduce((first, later) -> first.getMethodName().startsWith("gradient") ? first : later)
        .map(f -> f.getClassName().substring(f.getClassName().lastIndexOf('.') + 1) + "." + f.getMethodName())
        .orElse("?"));
    System.out.println("[gradient check] " + caller + ": " + r);
    assertEquals(0, r.failed(), r.toString());
    assertTrue(r.maxRelError() <= MAX_REL, r.toString());
    return r;
  }

  private static double lossValue(SameDiff sd, String loss, Map<String, INDArray> placeholders) {
    SessionMemory.ensureSession(sd); // as the library runs its graphs (and the only session for its Java ops)
    return sd.output(placeholders, loss).get(loss).getDouble(0);
  }
}
