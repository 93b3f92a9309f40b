package org.mtlora.core.nn;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class Conv1x1Test extends BlocksTestBase {
  @Test
  void forwardMatchesPerPixelSum() {
    SameDiff sd = SameDiff.create();
    INDArray x = randn(1, 2, 3, 2, 4);
    INDArray w = randn(2, 5, 3, 1, 1);
    INDArray b = randn(3, 5);
    SDVariable y = Conv1x1.apply(sd, sd.var("x", x), 3, 2, 4, sd.var("w", w), sd.var("b", b));
    INDArray expected = Nd4j.create(DataType.DOUBLE, 2, 5, 2, 4);
    for (int n = 0; n < 2; n++) {
      for (int o = 0; o < 5; o++) {
        for (int i = 0; i < 2; i++) {
          for (int j = 0; j < 4; j++) {
            double s = b.getDouble(o);
            for (int c = 0; c < 3; c++) {
              s += w.getDouble(o, c, 0, 0) * x.getDouble(n, c, i, j);
            }
            expected.putScalar(new long[] {n, o, i, j}, s);
          }
        }
      }
    }
    assertClose(expected, eval(sd, y, Map.of()), 1e-12);
  }

  @Test
  void gradient() {
    SameDiff sd = SameDiff.create();
    SDVariable y = Conv1x1.apply(sd, sd.var("x", randn(1, 2, 3, 2, 2)), 3, 2, 2, sd.var("w", randn(2, 4, 3, 1, 1)),
        sd.var("b", randn(3, 4)));
    gradCheck(sd, y, Map.of());
  }
}
