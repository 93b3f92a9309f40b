package org.mtlora.core.nn;

import org.mtlora.core.graph.GraphContext;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class BilinearResizeTest extends BlocksTestBase {
  @Test
  void interpolationMatrixMatchesTorchAlignCornersFalse() {
    // F.interpolate(torch.tensor([[[[0., 1.]]]]), size=(1, 4), mode='bilinear') -> [0, 0.25, 0.75, 1]
    double[][] up = BilinearResize.matrix(2, 4);
    double[] y = new double[4];
    for (int d = 0; d < 4; d++) {
      y[d] = up[d][1];
    }
    assertArrayEquals(new double[] {0, 0.25, 0.75, 1}, y, 1e-15);
    // Downsampling 4 -> 2 averages neighbours: [a, b, c, d] -> [(a+b)/2, (c+d)/2]
    assertArrayEquals(new double[] {0.5, 0.5, 0, 0}, BilinearResize.matrix(4, 2)[0], 1e-15);
    // 7 -> 14 at the border clamps to the first pixel
    assertArrayEquals(new double[] {1, 0, 0, 0, 0, 0, 0}, BilinearResize.matrix(7, 14)[0], 1e-15);
  }

  /** Direct per-pixel bilinear interpolation (the formula, no matrices). */
  private static INDArray direct(INDArray x, int outH, int outW) {
    long b = x.size(0);
    long c = x.size(1);
    int h = (int) x.size(2);
    int w = (int) x.size(3);
    INDArray y = Nd4j.create(DataType.DOUBLE, b, c, outH, outW);
    for (int n = 0; n < b; n++) {
      for (int k = 0; k < c; k++) {
        for (int i = 0; i < outH; i++) {
          double sy = Math.max((i + 0.5) * h / outH - 0.5, 0);
          int y0 = (int) sy;
          int y1 = Math.min(y0 + 1, h - 1);
          double ly = sy - y0;
          for (int j = 0; j < outW; j++) {
            double sx = Math.max((j + 0.5) * w / outW - 0.5, 0);
            int x0 = (int) sx;
            int x1 = Math.min(x0 + 1, w - 1);
            double lx = sx - x0;
            double v = (1 - ly) * ((1 - lx) * x.getDouble(n, k, y0, x0) + lx * x.getDouble(n, k, y0, x1))
                + ly * ((1 - lx) * x.getDouble(n, k, y1, x0) + lx * x.getDouble(n, k, y1, x1));
            y.putScalar(new long[] {n, k, i, j}, v);
          }
        }
      }
    }
    return y;
  }

  @Test
  void forwardUpAndDown() {
    SameDiff sd = SameDiff.create();
    GraphContext ctx = evalContext(sd);
    INDArray x = randn(1, 2, 3, 3, 5);
    SDVariable in = sd.placeHolder("x", DataType.DOUBLE, -1, 3, 3, 5);
    SDVariable up = BilinearResize.nchw(ctx, in, 3, 3, 5, 8, 7);
    SDVariable down = BilinearResize.nchw(ctx, in, 3, 3, 5, 2, 2);
    assertClose(direct(x, 8, 7), eval(sd, up, Map.of("x", x)), 1e-12);
    assertClose(direct(x, 2, 2), eval(sd, down, Map.of("x", x)), 1e-12);
  }

  @Test
  void sameSizeIsIdentity() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", randn(1, 1, 1, 2, 2));
    assertEquals(x, BilinearResize.nchw(evalContext(sd), x, 1, 2, 2, 2, 2));
  }

  @Test
  void gradient() {
    SameDiff sd = SameDiff.create();
    SDVariable y = BilinearResize.nchw(evalContext(sd), sd.var("x", randn(1, 1, 2, 2, 3)), 2, 2, 3, 5, 4);
    gradCheck(sd, y, Map.of());
  }
}
