package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.graph.BatchNormKernel;
import org.mtlora.core.graph.Gradients;
import org.mtlora.core.graph.SessionMemory;
import org.mtlora.core.graph.VectorKernels;
import org.mtlora.core.testing.GradientCheck;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link BatchNormTraining} and {@link BatchNormTrainingGradient}: the JVM kernel and the array-op fallback against
 * loops in float64 written from the formulas, the backward against finite differences, and a float graph whose
 * statistics are far from zero (where float32 sums would lose the variance).
 */
class BatchNormTrainingTest extends BlocksTestBase {
  private static final double EPS = 1e-5;
  private static final int M = 300;
  private static final int C = 37;

  /** Rows with per-column offsets up to ±40 and spreads from 0.1 to 2: the statistics are not near zero. */
  private static INDArray rows(long seed, DataType type) {
    INDArray x = GradientCheck.randn(seed, 1.0, M, C);
    for (int c = 0; c < C; c++) {
      x.getColumn(c).muli(0.1 + 1.9 * c / C).addi(40.0 * Math.sin(c));
    }
    return x.castTo(type);
  }

  /** Per column: mean, biased variance, 1/√(var + ε), by loops in float64. */
  private static double[][] statistics(INDArray x) {
    double[][] s = new double[3][C];
    for (int c = 0; c < C; c++) {
      double sum = 0;
      for (int r = 0; r < M; r++) {
        sum += x.getDouble(r, c);
      }
      double mean = sum / M;
      double sq = 0;
      for (int r = 0; r < M; r++) {
        sq += Math.pow(x.getDouble(r, c) - mean, 2);
      }
      s[0][c] = mean;
      s[1][c] = sq / M;
      s[2][c] = 1 / Math.sqrt(sq / M + EPS);
    }
    return s;
  }

  private static BatchNormTraining forwardOp() {
    SameDiff sd = SameDiff.create();
    SDVariable[] out = BatchNormTraining.apply(sd, sd.placeHolder("x", DataType.FLOAT, -1, C),
        sd.var("g", DataType.FLOAT, C), sd.var("b", DataType.FLOAT, C), EPS);
    return (BatchNormTraining) sd.getVariableOutputOp(out[0].name());
  }

  @Test
  void forwardOnTheKernelAndOnArrayOpsMatchesLoops() {
    INDArray x = rows(1, DataType.FLOAT);
    INDArray g = GradientCheck.randn(2, 1.0, C).castTo(DataType.FLOAT);
    INDArray b = GradientCheck.randn(3, 1.0, C).castTo(DataType.FLOAT);
    double[][] s = statistics(x);
    INDArray[] kernel = compute(forwardOp(), new INDArray[] {x, g, b}, new long[] {M, C}, new long[] {C},
        new long[] {C}, new long[] {C});
    INDArray[] fallback = compute(forwardOp(), new INDArray[] {asView(x), g, b}, new long[] {M, C}, new long[] {C},
        new long[] {C}, new long[] {C});
    for (INDArray[] out : List.of(kernel, fallback)) {
      for (int c = 0; c < C; c++) {
        assertEquals(s[0][c], out[1].getDouble(c), 1e-6 * Math.abs(s[0][c]) + 1e-7, "mean " + c);
        assertEquals(s[1][c], out[2].getDouble(c), 1e-6 * s[1][c], "var " + c);
        assertEquals(s[2][c], out[3].getDouble(c), 1e-6 * s[2][c], "invStd " + c);
        for (int r = 0; r < M; r += 7) {
          double expected = (x.getDouble(r, c) - s[0][c]) * s[2][c] * g.getDouble(c) + b.getDouble(c);
          assertEquals(expected, out[0].getDouble(r, c), 2e-5 * (1 + Math.abs(expected)), "y " + r + "," + c);
        }
      }
    }
    // the kernel and the fallback evaluate the same float formula from the same rounded statistics
    assertEquals(0.0, kernel[1].sub(fallback[1]).amaxNumber().doubleValue(), 0.0, "means");
    assertEquals(0.0, kernel[3].sub(fallback[3]).amaxNumber().doubleValue(), 0.0, "invStd");
    assertEquals(0.0, kernel[0].sub(fallback[0]).amaxNumber().doubleValue(), 0.0, "y");
  }

  @Test
  void theKernelTakesWholeFloatBuffersOnly() {
    assumeTrue(VectorKernels.enabled(), "JVM kernels off here");
    INDArray x = rows(1, DataType.FLOAT);
    INDArray g = Nd4j.ones(DataType.FLOAT, C);
    INDArray[] out = {Nd4j.create(DataType.FLOAT, M, C), Nd4j.create(DataType.FLOAT, C),
        Nd4j.create(DataType.FLOAT, C), Nd4j.create(DataType.FLOAT, C)};
    assertTrue(BatchNormKernel.tryForward(x, g, g, EPS, out[0], out[1], out[2], out[3]));
    assertFalse(BatchNormKernel.tryForward(asView(x), g, g, EPS, out[0], out[1], out[2], out[3]));
    assertFalse(BatchNormKernel.tryForward(x.castTo(DataType.DOUBLE), g, g, EPS, out[0], out[1], out[2], out[3]));
  }

  @Test
  void backwardOnTheKernelAndOnArrayOpsMatchesTheClosedFormByLoops() {
    INDArray x = rows(4, DataType.FLOAT);
    INDArray g = GradientCheck.randn(5, 1.0, C).castTo(DataType.FLOAT);
    INDArray dy = GradientCheck.randn(6, 1.0, M, C).castTo(DataType.FLOAT);
    double[][] s = statistics(x);
    INDArray mean = Nd4j.createFromArray(s[0]).castTo(DataType.FLOAT);
    INDArray invStd = Nd4j.createFromArray(s[2]).castTo(DataType.FLOAT);
    BatchNormTrainingGradient backward = new BatchNormTrainingGradient();
    INDArray[] kernel = compute(backward, new INDArray[] {x, g, mean, invStd, dy}, new long[] {M, C},
        new long[] {C}, new long[] {C});
    INDArray[] fallback = compute(backward, new INDArray[] {asView(x), g, mean, invStd, asView(dy)},
        new long[] {M, C}, new long[] {C}, new long[] {C});
    for (int c = 0; c < C; c++) {
      double m = mean.getDouble(c);
      double r = invStd.getDouble(c);
      double sumDy = 0;
      double sumDyXhat = 0;
      for (int row = 0; row < M; row++) {
        sumDy += dy.getDouble(row, c);
        sumDyXhat += dy.getDouble(row, c) * (x.getDouble(row, c) - m) * r;
      }
      for (INDArray[] out : List.of(kernel, fallback)) {
        assertEquals(sumDy, out[2].getDouble(c), 1e-5 * (1 + Math.abs(sumDy)), "dβ " + c);
        assertEquals(sumDyXhat, out[1].getDouble(c), 1e-5 * (1 + Math.abs(sumDyXhat)), "dγ " + c);
        for (int row = 0; row < M; row += 7) {
          double xhat = (x.getDouble(row, c) - m) * r;
          double expected = g.getDouble(c) * r * (dy.getDouble(row, c) - sumDy / M - xhat * sumDyXhat / M);
          assertEquals(expected, out[0].getDouble(row, c), 1e-5 * (1 + Math.abs(expected)), "dx " + row + "," + c);
        }
      }
    }
  }

  /** Float64 finite differences through the batch statistics (the array-op path: the kernel takes floats only). */
  @Test
  void gradientThroughTheBatchStatistics() {
    SameDiff sd = SameDiff.create();
    SDVariable in = sd.placeHolder("in", DataType.DOUBLE, -1, 4);
    SDVariable x = sd.math.tanh(in.mul(sd.var("s", randn(1, 1, 4))));
    BatchNorm.TrainOutput out = BatchNorm.train(sd, x, 2, 4, sd.var("g", randn(2, 4)), sd.var("b", randn(3, 4)),
        EPS);
    assertEquals(BatchNormTraining.NAME, out.output().getCreator().opName());
    SDVariable loss = GradientCheck.weightedSumLoss(sd, out.output(), Map.of("in", randn(4, 6, 4)));
    GradientCheck.assertPasses(sd, loss.name(), Map.of("in", randn(4, 6, 4)));
    List<String> gradOps = Arrays.stream(sd.getFunction("grad").ops()).map(o -> o.opName()).toList();
    assertTrue(gradOps.contains(BatchNormTrainingGradient.NAME), gradOps.toString());
  }

  /**
   * A float graph through the project's session: y and the gradients of x, γ and β agree with float64 loops, with
   * column offsets 400 times the spread (where a float32 sum of squares of uncentred values would lose the variance).
   */
  @Test
  void floatGraphMatchesFloat64Loops() {
    SameDiff sd = SameDiff.create();
    INDArray x = rows(7, DataType.FLOAT);
    INDArray g = GradientCheck.randn(8, 1.0, C).castTo(DataType.FLOAT);
    INDArray b = GradientCheck.randn(9, 1.0, C).castTo(DataType.FLOAT);
    INDArray w = GradientCheck.randn(10, 1.0, M, C).castTo(DataType.FLOAT);
    SDVariable xv = sd.var("x", x);
    BatchNorm.TrainOutput out = BatchNorm.train(sd, xv, 2, C, sd.var("g", g), sd.var("b", b), EPS);
    sd.setLossVariables(sd.sum("loss", out.output().mul(sd.constant(w))));
    Gradients.prepare(sd);
    SessionMemory.ensureSession(sd);
    Map<String, INDArray> grads = Gradients.calculate(sd, Map.of(), List.of(out.output().name()),
        List.of("x", "g", "b")).getGradients();
    INDArray dx = grads.get("x");
    double[][] s = statistics(x.castTo(DataType.DOUBLE));
    for (int c = 0; c < C; c++) {
      double sumW = 0;
      double sumWXhat = 0;
      for (int r = 0; r < M; r++) {
        double xhat = (x.getDouble(r, c) - s[0][c]) * s[2][c];
        sumW += w.getDouble(r, c);
        sumWXhat += w.getDouble(r, c) * xhat;
      }
      assertEquals(sumW, grads.get("b").getDouble(c), 1e-4 * (1 + Math.abs(sumW)), "dβ " + c);
      assertEquals(sumWXhat, grads.get("g").getDouble(c), 1e-4 * (1 + Math.abs(sumWXhat)), "dγ " + c);
      for (int r = 0; r < M; r += 5) {
        double xhat = (x.getDouble(r, c) - s[0][c]) * s[2][c];
        double expected = g.getDouble(c) * s[2][c] * (w.getDouble(r, c) - sumW / M - xhat * sumWXhat / M);
        assertEquals(expected, dx.getDouble(r, c), 1e-4 * (1 + Math.abs(expected)), "dx " + r + "," + c);
      }
    }
    SessionMemory.release(sd);
  }
}
