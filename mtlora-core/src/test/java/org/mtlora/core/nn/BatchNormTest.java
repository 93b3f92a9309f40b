package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class BatchNormTest extends BlocksTestBase {
  private static final long B = 2;
  private static final long C = 3;
  private static final long H = 2;
  private static final long W = 3;

  /** Per-channel mean and biased variance of an NCHW map, by loops. */
  private static double[][] stats(INDArray x) {
    double[][] s = new double[2][(int) C];
    long n = B * H * W;
    for (int c = 0; c < C; c++) {
      double sum = 0;
      for (int b = 0; b < B; b++) {
        for (int i = 0; i < H; i++) {
          for (int j = 0; j < W; j++) {
            sum += x.getDouble(b, c, i, j);
          }
        }
      }
      double mean = sum / n;
      double sq = 0;
      for (int b = 0; b < B; b++) {
        for (int i = 0; i < H; i++) {
          for (int j = 0; j < W; j++) {
            double d = x.getDouble(b, c, i, j) - mean;
            sq += d * d;
          }
        }
      }
      s[0][c] = mean;
      s[1][c] = sq / n;
    }
    return s;
  }

  private static INDArray normalise(INDArray x, double[] mean, double[] var, INDArray g, INDArray beta) {
    INDArray y = Nd4j.create(DataType.DOUBLE, x.shape());
    for (int b = 0; b < B; b++) {
      for (int c = 0; c < C; c++) {
        for (int i = 0; i < H; i++) {
          for (int j = 0; j < W; j++) {
            double v = (x.getDouble(b, c, i, j) - mean[c]) / Math.sqrt(var[c] + 1e-5);
            y.putScalar(new long[] {b, c, i, j}, v * g.getDouble(c) + beta.getDouble(c));
          }
        }
      }
    }
    return y;
  }

  @Test
  void trainingUsesBatchStatisticsAndUpdatesRunningOnesWithUnbiasedVariance() {
    SameDiff sd = SameDiff.create();
    INDArray x = randn(1, B, C, H, W).mul(2).add(0.5);
    INDArray g = randn(2, C);
    INDArray beta = randn(3, C);
    BatchNorm.TrainOutput out = BatchNorm.train(sd, sd.var("x", x), 4, C, sd.var("g", g),
        sd.var("b", beta), 1e-5);
    Map<String, INDArray> r = sd.output(Map.of(), out.output().name(), out.batchMean().name(),
        out.batchVar().name());
    double[][] s = stats(x);
    assertClose(normalise(x, s[0], s[1], g, beta), r.get(out.output().name()), 1e-10);

    INDArray runningMean = Nd4j.createFromArray(0.1, -0.2, 0.3);
    INDArray runningVar = Nd4j.createFromArray(1.0, 0.5, 2.0);
    BatchNorm.updateRunning(runningMean, runningVar, r.get(out.batchMean().name()),
        r.get(out.batchVar().name()), B * H * W, BatchNorm.DEFAULT_MOMENTUM);
    double n = B * H * W;
    double[] rm0 = {0.1, -0.2, 0.3};
    double[] rv0 = {1.0, 0.5, 2.0};
    for (int c = 0; c < C; c++) {
      assertEquals(0.9 * rm0[c] + 0.1 * s[0][c], runningMean.getDouble(c), 1e-12);
      assertEquals(0.9 * rv0[c] + 0.1 * s[1][c] * n / (n - 1), runningVar.getDouble(c), 1e-12);
    }
  }

  @Test
  void evaluationUsesRunningStatistics() {
    SameDiff sd = SameDiff.create();
    INDArray x = randn(1, B, C, H, W);
    INDArray g = randn(2, C);
    INDArray beta = randn(3, C);
    double[] rm = {0.1, -0.2, 0.3};
    double[] rv = {1.0, 0.5, 2.0};
    SDVariable y = BatchNorm.eval(sd, sd.var("x", x), 4, C, sd.constant(Nd4j.createFromArray(rm)),
        sd.constant(Nd4j.createFromArray(rv)), sd.var("g", g), sd.var("b", beta), 1e-5);
    assertClose(normalise(x, rm, rv, g, beta), eval(sd, y, Map.of()), 1e-12);
  }

  @Test
  void channelsLastRowsMatchNchw() {
    SameDiff sd = SameDiff.create();
    INDArray x = randn(1, B, C, H, W);
    INDArray rows = x.permute(0, 2, 3, 1).dup().reshape(B * H * W, C);
    BatchNorm.TrainOutput out = BatchNorm.train(sd, sd.var("rows", rows), 2, C, null, null, 1e-5);
    double[][] s = stats(x);
    INDArray expected = normalise(x, s[0], s[1], Nd4j.ones(DataType.DOUBLE, C), Nd4j.zeros(DataType.DOUBLE, C))
        .permute(0, 2, 3, 1).dup().reshape(B * H * W, C);
    assertClose(expected, eval(sd, out.output(), Map.of()), 1e-10);
  }

  @Test
  void gradientTraining() {
    SameDiff sd = SameDiff.create();
    BatchNorm.TrainOutput out = BatchNorm.train(sd, sd.var("x", randn(1, B, C, H, W)), 4, C,
        sd.var("g", randn(2, C)), sd.var("b", randn(3, C)), 1e-5);
    gradCheck(sd, out.output(), Map.of());
  }

  @Test
  void gradientEvaluation() {
    SameDiff sd = SameDiff.create();
    SDVariable y = BatchNorm.eval(sd, sd.var("x", randn(1, 4, C)), 2, C, sd.constant(randn(5, C)),
        sd.constant(Nd4j.createFromArray(1.0, 0.5, 2.0)), sd.var("g", randn(2, C)), sd.var("b", randn(3, C)), 1e-5);
    gradCheck(sd, y, Map.of());
  }
}
