package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.SessionMemory;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.testing.GradientCheck;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link PixelLogLikelihood} and its gradient by hand on small arrays (ND4J's path: the kernel's own test is {@code
 * PixelLogLikelihoodKernelTest}), a float64 gradient check in a graph, and the composite evaluation graphs keep.
 */
class PixelLogLikelihoodTest extends BlocksTestBase {
  private static final int B = 2;
  private static final int K = 4;
  private static final int H = 3;
  private static final int W = 3;
  private static final int PIXELS = B * H * W;
  /** In range, at both ends, and outside it: an ignore label (255), K itself and a negative one select nothing. */
  private static final int[] LABELS = {0, 3, 255, 2, 4, -1, 1, 3, 0, 2, 2, 255, 1, 0, 3, 3, 1, 0};

  private static INDArray labels() {
    return Nd4j.createFromArray(LABELS);
  }

  private static boolean selects(int label) {
    return label >= 0 && label < K;
  }

  /** Pixel {@code i}'s score of class {@code k} in {@code x [B, K, H, W]}: pixels in C order over (b, h, w). */
  private static double score(INDArray x, int i, int k) {
    int b = i / (H * W);
    int p = i % (H * W);
    return x.getDouble(b, k, p / W, p % W);
  }

  /** Pixel {@code i}'s log-softmax over classes in float64: {@code (x_k − m) − ln Σ exp(x_j − m)}. */
  private static double[] logSoftmax(INDArray x, int i) {
    double max = Double.NEGATIVE_INFINITY;
    for (int k = 0; k < K; k++) {
      max = Math.max(max, score(x, i, k));
    }
    double sum = 0;
    for (int k = 0; k < K; k++) {
      sum += Math.exp(score(x, i, k) - max);
    }
    double[] out = new double[K];
    for (int k = 0; k < K; k++) {
      out[k] = score(x, i, k) - max - Math.log(sum);
    }
    return out;
  }

  private static void assertPicked(INDArray x, INDArray picked, INDArray valid, double tolerance) {
    for (int i = 0; i < PIXELS; i++) {
      boolean in = selects(LABELS[i]);
      assertEquals(in ? logSoftmax(x, i)[LABELS[i]] : 0.0, picked.getDouble(i), tolerance, "picked " + i);
      assertEquals(in ? 1.0 : 0.0, valid.getDouble(i), 0.0, "valid " + i);
    }
  }

  @Test
  void picksEachPixelsLogProbabilityInFloatAndDouble() {
    for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
      INDArray x = GradientCheck.randn(1, 3.0, B, K, H, W).castTo(type);
      INDArray[] out =
          compute(new PixelLogLikelihood(), new INDArray[] {x, labels()}, new long[] {PIXELS}, new long[] {PIXELS});
      assertPicked(x, out[0], out[1], type == DataType.FLOAT ? 1e-5 : 1e-12);
    }
  }

  @Test
  void readsFloatLabelsThroughTheGeneralPath() {
    INDArray x = GradientCheck.randn(2, 1.0, B, K, H, W).castTo(DataType.FLOAT);
    INDArray[] out = compute(new PixelLogLikelihood(), new INDArray[] {x, labels().castTo(DataType.FLOAT)},
        new long[] {PIXELS}, new long[] {PIXELS});
    assertPicked(x, out[0], out[1], 1e-5);
  }

  /** dx = dpicked · ([k = t] − softmax_k) where the label selects, zeros elsewhere (over a buffer holding garbage). */
  @Test
  void gradientByHandInFloatAndDouble() {
    for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
      INDArray x = GradientCheck.randn(3, 2.0, B, K, H, W).castTo(type);
      INDArray dPicked = GradientCheck.randn(4, 1.0, PIXELS).castTo(type);
      try (var context = Nd4j.getExecutioner().buildContext()) {
        context.setInputArray(0, x);
        context.setInputArray(1, labels());
        context.setInputArray(2, dPicked);
        INDArray dx = Nd4j.valueArrayOf(x.shape(), 7.0, type); // what an arena's buffer may hold
        context.setOutputArray(0, dx);
        new PixelLogLikelihoodGradient().compute(context);
        for (int i = 0; i < PIXELS; i++) {
          double[] logp = logSoftmax(x, i);
          for (int k = 0; k < K; k++) {
            double expected =
                selects(LABELS[i]) ? dPicked.getDouble(i) * ((k == LABELS[i] ? 1 : 0) - Math.exp(logp[k])) : 0;
            int p = i % (H * W);
            assertEquals(expected, dx.getDouble(i / (H * W), k, p / W, p % W), type == DataType.FLOAT ? 1e-6 : 1e-13,
                "dx " + i + "," + k);
          }
        }
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
  }

  /** In a graph the library's session runs, and differentiated: float64 gradient check of a weighted sum of picked. */
  @Test
  void gradientCheckInAGraph() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", GradientCheck.randn(5, 1.0, B, K, H, W));
    SDVariable[] pick = PixelLogLikelihood.apply(sd, x, sd.constant("t", labels()), K, DataType.DOUBLE);
    SessionMemory.ensureSession(sd);
    Map<String, INDArray> out = sd.output(Map.of(), pick[0].name(), pick[1].name());
    assertPicked(x.getArr(), out.get(pick[0].name()), out.get(pick[1].name()), 1e-12);
    gradCheck(sd, pick[0], Map.of());
  }

  /** A graph that is never differentiated holds SameDiff's permute, log-softmax and one-hot, with the same values. */
  @Test
  void evaluationGraphsKeepTheComposite() {
    SameDiff sd = SameDiff.create();
    GraphContext.evaluation(sd, new ParameterRegistry(), DataType.FLOAT);
    INDArray x = GradientCheck.randn(6, 1.0, B, K, H, W).castTo(DataType.FLOAT);
    SDVariable[] pick =
        PixelLogLikelihood.apply(sd, sd.constant("x", x), sd.constant("t", labels()), K, DataType.FLOAT);
    List<String> ops = Arrays.stream(sd.ops()).map(o -> o.opName()).toList();
    assertTrue(ops.containsAll(List.of("permute", "log_softmax", "onehot")), ops.toString());
    assertFalse(ops.contains(PixelLogLikelihood.NAME), ops.toString());
    Map<String, INDArray> out = sd.output(Map.of(), pick[0].name(), pick[1].name());
    assertPicked(x, out.get(pick[0].name()), out.get(pick[1].name()), 1e-5);
  }
}
