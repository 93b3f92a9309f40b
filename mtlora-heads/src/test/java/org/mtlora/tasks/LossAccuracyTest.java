package org.mtlora.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mtlora.core.graph.SessionMemory;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Float32 losses over a million-pixel batch equal the same maths done in float64 by hand from the same float32
 * inputs to within a few float32 rounding units of the result: the sums over pixels must not accumulate rounding that
 * grows with the pixel count (a float32 accumulator was off by ~6e-6 relative on 270,000 terms).
 */
class LossAccuracyTest {
  private static final int B = 2;
  private static final int H = 512;
  private static final int W = 512;
  private static final int PIXELS = B * H * W;
  /** Relative error allowed: 4 float32 ulps (2^-23 each) of the result, independent of the pixel count. */
  private static final double REL = 4 * Math.ulp(1.0f);

  private static double run(SameDiff sd, SDVariable loss) {
    SessionMemory.ensureSession(sd); // the cross-entropy's PixelLogLikelihood computes in Java: the library's session
    INDArray v = sd.output(Map.of(), loss.name()).get(loss.name());
    assertEquals(DataType.FLOAT, v.dataType(), "the loss keeps the graph's type");
    return v.getDouble(0);
  }

  private static float[] gaussian(SplittableRandom r, int n, double mean) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (mean + r.nextGaussian());
    }
    return a;
  }

  @Test
  void normalsL1() {
    SplittableRandom r = new SplittableRandom(11);
    float[] p = gaussian(r, 3 * PIXELS, 0.3);
    float[] t = new float[3 * PIXELS];
    for (int b = 0; b < B; b++) {
      for (int i = 0; i < H * W; i++) {
        boolean ignored = r.nextDouble() < 0.1;
        double x = r.nextGaussian();
        double y = r.nextGaussian();
        double z = r.nextGaussian();
        double n = Math.sqrt(x * x + y * y + z * z);
        double[] v = {x / n, y / n, z / n};
        for (int c = 0; c < 3; c++) {
          t[(b * 3 + c) * H * W + i] = ignored ? 255f : (float) v[c];
        }
      }
    }
    double sum = 0;
    long valid = 0;
    for (int b = 0; b < B; b++) {
      for (int i = 0; i < H * W; i++) {
        double[] v = new double[3];
        double norm = 0;
        for (int c = 0; c < 3; c++) {
          v[c] = p[(b * 3 + c) * H * W + i];
          norm += v[c] * v[c];
        }
        norm = Math.sqrt(norm);
        for (int c = 0; c < 3; c++) {
          float tc = t[(b * 3 + c) * H * W + i];
          if (tc != 255f) {
            sum += Math.abs(v[c] / (norm + 1e-12) - tc);
            valid++;
          }
        }
      }
    }
    double expected = sum / valid;
    SameDiff sd = SameDiff.create();
    SDVariable loss = Losses.normalsL1(sd, sd.var("p", Nd4j.create(p, new long[] {B, 3, H, W}, DataType.FLOAT)),
        sd.constant(Nd4j.create(t, new long[] {B, 3, H, W}, DataType.FLOAT)));
    assertEquals(expected, run(sd, loss), REL * expected);
  }

  @Test
  void crossEntropy() {
    int k = 7;
    SplittableRandom r = new SplittableRandom(12);
    float[] logits = gaussian(r, k * PIXELS, 0);
    float[] labels = new float[PIXELS];
    for (int i = 0; i < PIXELS; i++) {
      labels[i] = r.nextDouble() < 0.1 ? 255f : r.nextInt(k);
    }
    double sum = 0;
    long valid = 0;
    for (int b = 0; b < B; b++) {
      for (int i = 0; i < H * W; i++) {
        float label = labels[b * H * W + i];
        if (label == 255f) {
          continue;
        }
        double z = 0;
        for (int c = 0; c < k; c++) {
          z += Math.exp(logits[(b * k + c) * H * W + i]);
        }
        sum -= logits[(b * k + (int) label) * H * W + i] - Math.log(z);
        valid++;
      }
    }
    double expected = sum / valid;
    SameDiff sd = SameDiff.create();
    SDVariable loss = Losses.crossEntropy(sd, sd.var("x", Nd4j.create(logits, new long[] {B, k, H, W}, DataType.FLOAT)),
        sd.constant(Nd4j.create(labels, new long[] {B, 1, H, W}, DataType.FLOAT)), k);
    assertEquals(expected, run(sd, loss), REL * expected);
  }

  @Test
  void balancedBce() {
    SplittableRandom r = new SplittableRandom(13);
    float[] x = gaussian(r, PIXELS, 0.2);
    float[] y = new float[PIXELS];
    for (int i = 0; i < PIXELS; i++) {
      y[i] = r.nextDouble() < 0.3 ? 1f : 0f;
    }
    double pos = 0;
    double neg = 0;
    long negatives = 0;
    for (int i = 0; i < PIXELS; i++) {
      double l = Math.max(x[i], 0) - x[i] * y[i] + Math.log(1 + Math.exp(-Math.abs(x[i])));
      if (y[i] == 1f) {
        pos += l;
      } else {
        neg += l;
        negatives++;
      }
    }
    double w = (double) negatives / PIXELS;
    double expected = (w * pos + (1 - w) * neg) / PIXELS;
    SameDiff sd = SameDiff.create();
    SDVariable loss = Losses.balancedBce(sd, sd.var("x", Nd4j.create(x, new long[] {B, 1, H, W}, DataType.FLOAT)),
        sd.constant(Nd4j.create(y, new long[] {B, 1, H, W}, DataType.FLOAT)));
    assertEquals(expected, run(sd, loss), REL * expected);
  }
}
