package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class RollTest extends BlocksTestBase {
  @Test
  void matchesTorchRollOnOneAxis() {
    SameDiff sd = SameDiff.create();
    INDArray x = Nd4j.createFromArray(0.0, 1, 2, 3, 4);
    // torch.roll([0,1,2,3,4], 2) = [3,4,0,1,2]; torch.roll(.., -2) = [2,3,4,0,1]
    assertEquals(Nd4j.createFromArray(3.0, 4, 0, 1, 2), eval(sd, Roll.apply(sd, sd.var("x", x), 1, 0, 5, 2), Map.of()));
    assertEquals(Nd4j.createFromArray(2.0, 3, 4, 0, 1), eval(sd, Roll.apply(sd, sd.var("y", x), 1, 0, 5, -2), Map.of()));
  }

  @Test
  void rollsTwoAxesOfAGrid() {
    SameDiff sd = SameDiff.create();
    INDArray x = randn(1, 2, 4, 5, 3); // [B, H, W, C]
    SDVariable h = Roll.apply(sd, sd.var("x", x), 4, 1, 4, -3);
    SDVariable hw = Roll.apply(sd, h, 4, 2, 5, -3);
    INDArray out = eval(sd, hw, Map.of());
    for (int b = 0; b < 2; b++) {
      for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 5; j++) {
          for (int c = 0; c < 3; c++) {
            // out[i, j] = x[(i + 3) mod 4, (j + 3) mod 5]
            assertEquals(x.getDouble(b, (i + 3) % 4, (j + 3) % 5, c), out.getDouble(b, i, j, c), 0);
          }
        }
      }
    }
  }

  @Test
  void zeroShiftIsIdentity() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", randn(1, 3, 3));
    assertSame(x, Roll.apply(sd, x, 2, 1, 3, 6));
  }

  @Test
  void gradient() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", randn(1, 1, 4, 3, 2));
    SDVariable y = Roll.apply(sd, Roll.apply(sd, x, 4, 1, 4, 1), 4, 2, 3, -1);
    gradCheck(sd, y, Map.of());
  }
}
