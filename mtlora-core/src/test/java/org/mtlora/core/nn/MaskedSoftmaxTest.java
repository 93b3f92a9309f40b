package org.mtlora.core.nn;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class MaskedSoftmaxTest extends BlocksTestBase {
  @Test
  void forwardWithMinus100Mask() {
    SameDiff sd = SameDiff.create();
    INDArray s = randn(1, 2, 3, 4); // [windows, N, N]
    INDArray mask = Nd4j.zeros(s.dataType(), 1, 3, 4);
    mask.putScalar(new long[] {0, 0, 3}, -100);
    mask.putScalar(new long[] {0, 2, 1}, -100);
    INDArray y = eval(sd, MaskedSoftmax.apply(sd, sd.var("s", s), sd.constant(mask)), Map.of());
    INDArray expected = Nd4j.create(s.dataType(), 2, 3, 4);
    for (int w = 0; w < 2; w++) {
      for (int i = 0; i < 3; i++) {
        double z = 0;
        for (int j = 0; j < 4; j++) {
          z += Math.exp(s.getDouble(w, i, j) + mask.getDouble(0, i, j));
        }
        for (int j = 0; j < 4; j++) {
          expected.putScalar(new long[] {w, i, j}, Math.exp(s.getDouble(w, i, j) + mask.getDouble(0, i, j)) / z);
        }
      }
    }
    assertClose(expected, y, 1e-12);
  }

  @Test
  void gradient() {
    SameDiff sd = SameDiff.create();
    INDArray mask = Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.DOUBLE, 3, 3);
    mask.putScalar(0, 2, -100);
    mask.putScalar(1, 0, -100);
    SDVariable y = MaskedSoftmax.apply(sd, sd.var("s", randn(1, 2, 3, 3)), sd.constant(mask));
    gradCheck(sd, y, Map.of());
  }
}
