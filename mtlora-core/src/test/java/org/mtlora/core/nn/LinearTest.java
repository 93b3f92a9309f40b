package org.mtlora.core.nn;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class LinearTest extends BlocksTestBase {
  /** Plain loops: y[r, o] = sum_i x[r, i] w[o, i] + b[o]. */
  static INDArray reference(INDArray x2d, INDArray w, INDArray b) {
    long n = x2d.size(0);
    long out = w.size(0);
    long in = w.size(1);
    INDArray y = Nd4j.create(x2d.dataType(), n, out);
    for (int r = 0; r < n; r++) {
      for (int o = 0; o < out; o++) {
        double s = b == null ? 0 : b.getDouble(o);
        for (int i = 0; i < in; i++) {
          s += x2d.getDouble(r, i) * w.getDouble(o, i);
        }
        y.putScalar(r, o, s);
      }
    }
    return y;
  }

  @Test
  void forwardRank2() {
    SameDiff sd = SameDiff.create();
    INDArray x = randn(1, 5, 4);
    INDArray w = randn(2, 3, 4);
    INDArray b = randn(3, 3);
    SDVariable y = Linear.apply(sd, sd.var("x", x), sd.var("w", w), sd.var("b", b));
    assertClose(reference(x, w, b), eval(sd, y, Map.of()), 1e-12);
  }

  @Test
  void forwardRank4WithUnknownBatch() {
    SameDiff sd = SameDiff.create();
    INDArray x = randn(1, 2, 3, 2, 4);
    INDArray w = randn(2, 5, 4);
    SDVariable in = sd.placeHolder("x", x.dataType(), -1, 3, 2, 4);
    SDVariable y = Linear.apply(sd, in, new long[] {-1, 3, 2, 4}, sd.var("w", w), null);
    INDArray expected = reference(x.reshape(12, 4), w, null).reshape(2, 3, 2, 5);
    assertClose(expected, eval(sd, y, Map.of("x", x)), 1e-12);
  }

  @Test
  void gradientRank2() {
    SameDiff sd = SameDiff.create();
    SDVariable y = Linear.apply(sd, sd.var("x", randn(1, 3, 4)), sd.var("w", randn(2, 5, 4)),
        sd.var("b", randn(3, 5)));
    gradCheck(sd, y, Map.of());
  }

  @Test
  void gradientRank3() {
    SameDiff sd = SameDiff.create();
    SDVariable y = Linear.apply(sd, sd.var("x", randn(1, 2, 3, 4)), new long[] {2, 3, 4},
        sd.var("w", randn(2, 5, 4)), sd.var("b", randn(3, 5)));
    gradCheck(sd, y, Map.of());
  }
}
