package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.Gradients;
import org.mtlora.core.graph.LayerNormKernel;
import org.mtlora.core.graph.SessionMemory;
import org.mtlora.core.graph.VectorKernels;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.testing.GradientCheck;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link LayerNormTraining} and {@link LayerNormTrainingGradient}: the JVM kernel and the array-op fallback against
 * float64 loops written from the formulas, at row widths that leave partial vectors and row counts that leave partial
 * blocks, the backward against finite differences, and a float graph's gradients against float64 loops.
 */
class LayerNormTrainingTest extends BlocksTestBase {
  private static final double EPS = 1e-5;

  /** Rows with per-row offsets and spreads, as a layer norm's inputs have. */
  private static INDArray rows(long seed, int n, int c) {
    INDArray x = GradientCheck.randn(seed, 1.0, n, c);
    for (int r = 0; r < n; r++) {
      x.getRow(r).muli(0.2 + 2.0 * (r % 7) / 7).addi(3.0 * Math.cos(r));
    }
    return x.castTo(DataType.FLOAT);
  }

  private static INDArray vector(long seed, int c) {
    return GradientCheck.randn(seed, 1.0, c).castTo(DataType.FLOAT);
  }

  private static LayerNormTraining forwardOp(int c) {
    SameDiff sd = SameDiff.create();
    SDVariable[] out = LayerNormTraining.apply(sd, sd.placeHolder("x", DataType.FLOAT, -1, c),
        sd.var("g", DataType.FLOAT, c), sd.var("b", DataType.FLOAT, c), EPS);
    return (LayerNormTraining) sd.getVariableOutputOp(out[0].name());
  }

  /** Row {@code r}'s mean and 1/√(var + ε), in float64. */
  private static double[] statistics(INDArray x, int r) {
    int c = (int) x.size(1);
    double sum = 0;
    for (int j = 0; j < c; j++) {
      sum += x.getDouble(r, j);
    }
    double mean = sum / c;
    double sq = 0;
    for (int j = 0; j < c; j++) {
      sq += Math.pow(x.getDouble(r, j) - mean, 2);
    }
    return new double[] {mean, 1 / Math.sqrt(sq / c + EPS)};
  }

  @Test
  void forwardOnTheKernelAndOnArrayOpsMatchesLoops() {
    for (int c : new int[] {96, 37, 5}) {
      int n = 300;
      INDArray x = rows(1, n, c);
      INDArray g = vector(2, c);
      INDArray b = vector(3, c);
      long[][] shapes = {{n, c}, {n}, {n}};
      INDArray[] kernel = compute(forwardOp(c), new INDArray[] {x, g, b}, shapes);
      INDArray[] fallback = compute(forwardOp(c), new INDArray[] {asView(x), g, b}, shapes);
      for (INDArray[] out : List.of(kernel, fallback)) {
        for (int r = 0; r < n; r += 3) {
          double[] s = statistics(x, r);
          assertEquals(s[0], out[1].getDouble(r), 1e-6 * (1 + Math.abs(s[0])), "mean " + r);
          assertEquals(s[1], out[2].getDouble(r), 1e-6 * s[1], "rstd " + r);
          for (int j = 0; j < c; j++) {
            double expected = (x.getDouble(r, j) - s[0]) * s[1] * g.getDouble(j) + b.getDouble(j);
            assertEquals(expected, out[0].getDouble(r, j), 1e-5 * (1 + Math.abs(expected)), "y " + r + "," + j);
          }
        }
      }
    }
  }

  @Test
  void theKernelTakesWholeFloatBuffersOnly() {
    assumeTrue(VectorKernels.enabled(), "JVM kernels off here");
    INDArray x = rows(1, 40, 24);
    INDArray g = Nd4j.ones(DataType.FLOAT, 24);
    INDArray y = Nd4j.create(DataType.FLOAT, 40, 24);
    INDArray m = Nd4j.create(DataType.FLOAT, 40);
    INDArray r = Nd4j.create(DataType.FLOAT, 40);
    assertTrue(LayerNormKernel.tryForward(x, g, g, EPS, y, m, r));
    assertFalse(LayerNormKernel.tryForward(asView(x), g, g, EPS, y, m, r));
    assertFalse(LayerNormKernel.tryForward(x.castTo(DataType.DOUBLE), g, g, EPS, y, m, r));
    assertFalse(LayerNormKernel.tryForward(x, g, g, EPS, y, Nd4j.create(DataType.FLOAT, 39), r));
  }

  /** 600 rows: two whole blocks of the column sums and a partial one. */
  @Test
  void backwardOnTheKernelAndOnArrayOpsMatchesTheClosedFormByLoops() {
    for (int c : new int[] {96, 37}) {
      int n = 600;
      INDArray x = rows(4, n, c);
      INDArray g = vector(5, c);
      INDArray dy = GradientCheck.randn(6, 1.0, n, c).castTo(DataType.FLOAT);
      double[] means = new double[n];
      double[] rstds = new double[n];
      for (int r = 0; r < n; r++) {
        double[] s = statistics(x, r);
        means[r] = s[0];
        rstds[r] = s[1];
      }
      INDArray mean = Nd4j.createFromArray(means).castTo(DataType.FLOAT);
      INDArray rstd = Nd4j.createFromArray(rstds).castTo(DataType.FLOAT);
      long[][] shapes = {{n, c}, {c}, {c}};
      INDArray[] kernel = compute(new LayerNormTrainingGradient(), new INDArray[] {x, g, mean, rstd, dy}, shapes);
      INDArray[] fallback = compute(new LayerNormTrainingGradient(),
          new INDArray[] {asView(x), g, mean, rstd, asView(dy)}, shapes);
      double[] dGamma = new double[c];
      double[] dBeta = new double[c];
      for (int r = 0; r < n; r++) {
        double m = mean.getDouble(r);
        double s = rstd.getDouble(r);
        double sumG = 0;
        double sumGX = 0;
        for (int j = 0; j < c; j++) {
          double xhat = (x.getDouble(r, j) - m) * s;
          double gj = dy.getDouble(r, j) * g.getDouble(j);
          sumG += gj;
          sumGX += gj * xhat;
          dGamma[j] += dy.getDouble(r, j) * xhat;
          dBeta[j] += dy.getDouble(r, j);
        }
        for (int j = 0; j < c; j += 5) {
          double xhat = (x.getDouble(r, j) - m) * s;
          double expected = s * (dy.getDouble(r, j) * g.getDouble(j) - sumG / c - xhat * sumGX / c);
          for (INDArray[] out : List.of(kernel, fallback)) {
            assertEquals(expected, out[0].getDouble(r, j), 1e-5 * (1 + Math.abs(expected)), "dx " + r + "," + j);
          }
        }
      }
      for (int j = 0; j < c; j++) {
        for (INDArray[] out : List.of(kernel, fallback)) {
          assertEquals(dGamma[j], out[1].getDouble(j), 1e-5 * (1 + Math.abs(dGamma[j])), "dγ " + j);
          assertEquals(dBeta[j], out[2].getDouble(j), 1e-5 * (1 + Math.abs(dBeta[j])), "dβ " + j);
        }
      }
    }
  }

  /** Float64 finite differences through the row statistics (the array-op path: the kernel takes floats only). */
  @Test
  void gradientThroughTheRowStatistics() {
    SameDiff sd = SameDiff.create();
    SDVariable in = sd.placeHolder("in", DataType.DOUBLE, -1, 5);
    SDVariable x = sd.math.tanh(in.mul(sd.var("s", randn(1, 1, 5))));
    SDVariable y = LayerNorm.apply(sd, x, 2, sd.var("g", randn(2, 5)), sd.var("b", randn(3, 5)));
    assertEquals(LayerNormTraining.NAME, y.getCreator().opName());
    Map<String, INDArray> feed = Map.of("in", randn(4, 4, 5));
    SDVariable loss = GradientCheck.weightedSumLoss(sd, y, feed);
    GradientCheck.assertPasses(sd, loss.name(), feed);
    List<String> gradOps = Arrays.stream(sd.getFunction("grad").ops()).map(o -> o.opName()).toList();
    assertTrue(gradOps.contains(LayerNormTrainingGradient.NAME), gradOps.toString());
  }

  /** A float graph through the project's session: the gradients of x, γ and β agree with float64 loops. */
  @Test
  void floatGraphMatchesFloat64Loops() {
    int n = 300;
    int c = 48;
    SameDiff sd = SameDiff.create();
    INDArray x = rows(7, n, c);
    INDArray g = vector(8, c);
    INDArray b = vector(9, c);
    INDArray w = GradientCheck.randn(10, 1.0, n, c).castTo(DataType.FLOAT);
    SDVariable y = LayerNorm.apply(sd, sd.var("x", x), 2, sd.var("g", g), sd.var("b", b));
    sd.setLossVariables(sd.sum("loss", y.mul(sd.constant(w))));
    Gradients.prepare(sd);
    Map<String, INDArray> grads = Gradients.calculate(sd, Map.of(), List.of(), List.of("x", "g", "b"))
        .getGradients();
    double[] dGamma = new double[c];
    double[] dBeta = new double[c];
    for (int r = 0; r < n; r++) {
      double[] s = statistics(x, r);
      double sumG = 0;
      double sumGX = 0;
      for (int j = 0; j < c; j++) {
        double xhat = (x.getDouble(r, j) - s[0]) * s[1];
        sumG += w.getDouble(r, j) * g.getDouble(j);
        sumGX += w.getDouble(r, j) * g.getDouble(j) * xhat;
        dGamma[j] += w.getDouble(r, j) * xhat;
        dBeta[j] += w.getDouble(r, j);
      }
      for (int j = 0; j < c; j++) {
        double xhat = (x.getDouble(r, j) - s[0]) * s[1];
        double expected = s[1] * (w.getDouble(r, j) * g.getDouble(j) - sumG / c - xhat * sumGX / c);
        assertEquals(expected, grads.get("x").getDouble(r, j), 1e-4 * (1 + Math.abs(expected)), "dx " + r);
      }
    }
    for (int j = 0; j < c; j++) {
      assertEquals(dGamma[j], grads.get("g").getDouble(j), 1e-4 * (1 + Math.abs(dGamma[j])), "dγ " + j);
      assertEquals(dBeta[j], grads.get("b").getDouble(j), 1e-4 * (1 + Math.abs(dBeta[j])), "dβ " + j);
    }
    SessionMemory.release(sd);
  }

  /** Evaluation graphs keep the composite (fused by their sessions, runnable by any ND4J). */
  @Test
  void evaluationGraphsKeepTheComposite() {
    SameDiff sd = SameDiff.create();
    GraphContext.evaluation(sd, new ParameterRegistry(), DataType.FLOAT);
    SDVariable y = LayerNorm.apply(sd, sd.placeHolder("x", DataType.FLOAT, -1, 8), 2,
        sd.constant(Nd4j.ones(DataType.FLOAT, 8)), sd.constant(Nd4j.zeros(DataType.FLOAT, 8)));
    assertFalse(Arrays.stream(sd.ops()).anyMatch(o -> o.opName().equals(LayerNormTraining.NAME)));
    assertEquals(8, eval(sd, y, Map.of("x", rows(11, 3, 8))).size(1));
  }
}
