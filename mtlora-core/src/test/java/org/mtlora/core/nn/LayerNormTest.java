package org.mtlora.core.nn;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** LayerNorm against PyTorch's formula by hand; {@link #reference} serves other packages' tests too. */
public class LayerNormTest extends BlocksTestBase {
  /** PyTorch's LayerNorm of the rows of {@code x2d} in float64 loops: biased variance, {@code eps} inside the root. */
  public static INDArray reference(INDArray x2d, INDArray g, INDArray b, double eps) {
    INDArray y = Nd4j.create(x2d.dataType(), x2d.shape());
    long c = x2d.size(1);
    for (int r = 0; r < x2d.size(0); r++) {
      double mean = 0;
      for (int i = 0; i < c; i++) {
        mean += x2d.getDouble(r, i);
      }
      mean /= c;
      double var = 0;
      for (int i = 0; i < c; i++) {
        double d = x2d.getDouble(r, i) - mean;
        var += d * d;
      }
      var /= c;
      for (int i = 0; i < c; i++) {
        y.putScalar(r, i, (x2d.getDouble(r, i) - mean) / Math.sqrt(var + eps) * g.getDouble(i) + b.getDouble(i));
      }
    }
    return y;
  }

  @Test
  void forwardMatchesLoopsIncludingEpsilon() {
    SameDiff sd = SameDiff.create();
    // Small variance rows make eps visible: with eps 1e-5 inside the root the result differs from plain z-scores.
    INDArray x = randn(1, 2, 3, 6).mul(1e-3);
    INDArray g = randn(2, 6);
    INDArray b = randn(3, 6);
    SDVariable y = LayerNorm.apply(sd, sd.var("x", x), 3, sd.var("g", g), sd.var("b", b));
    assertClose(reference(x.reshape(6, 6), g, b, 1e-5).reshape(2, 3, 6), eval(sd, y, Map.of()), 1e-10);
  }

  @Test
  void gradient() {
    SameDiff sd = SameDiff.create();
    SDVariable y = LayerNorm.apply(sd, sd.var("x", randn(1, 3, 5)), 2, sd.var("g", randn(2, 5)),
        sd.var("b", randn(3, 5)));
    gradCheck(sd, y, Map.of());
  }
}
