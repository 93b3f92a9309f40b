package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.testing.GradientCheck;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

class RelativePositionBiasTest extends BlocksTestBase {
  /** Window 2x2 (n = 4 tokens), table (2*2-1)^2 = 9 rows: index (hi-hj+1)*3 + (wi-wj+1), with repeats. */
  static int[] index2x2() {
    int[] idx = new int[16];
    for (int i = 0; i < 4; i++) {
      for (int j = 0; j < 4; j++) {
        idx[i * 4 + j] = (i / 2 - j / 2 + 1) * 3 + (i % 2 - j % 2 + 1);
      }
    }
    return idx;
  }

  @Test
  void lookupEqualsJavaGather() {
    SameDiff sd = SameDiff.create();
    INDArray table = randn(1, 9, 2);
    int[] idx = index2x2();
    SDVariable bias = RelativePositionBias.lookup(evalContext(sd), sd.var("t", table), 9, 2, idx, 4, "onehot");
    INDArray out = eval(sd, bias, Map.of());
    INDArray gathered = RelativePositionBias.gather(table, idx, 4);
    assertClose(gathered, out, 0);
    for (int h = 0; h < 2; h++) {
      for (int i = 0; i < 4; i++) {
        assertEquals(table.getDouble(4, h), out.getDouble(h, i, i), 0, "diagonal is relative offset (0,0)");
      }
    }
  }

  @Test
  void gradientAccumulatesRepeatedIndices() {
    SameDiff sd = SameDiff.create();
    SDVariable bias = RelativePositionBias.lookup(evalContext(sd), sd.var("t", randn(1, 9, 2)), 9, 2, index2x2(), 4, "onehot");
    gradCheck(sd, bias, Map.of());
  }

  /** Negative control: the checker must catch SameDiff's gather backward, which loses repeated indices. */
  @Test
  void gradientCheckerDetectsBrokenGather() {
    SameDiff sd = SameDiff.create();
    SDVariable table = sd.var("t", randn(1, 9, 2));
    SDVariable rows = sd.gather(table, index2x2(), 0);
    SDVariable loss = GradientCheck.weightedSumLoss(sd, rows, Map.of());
    GradientCheck.Result r;
    try {
      r = GradientCheck.run(sd, loss.name(), Map.of());
    } catch (RuntimeException e) {
      return; // a backward that throws is caught as well
    }
    assertTrue(r.failed() > 0, "expected the gather gradient to be wrong, got " + r);
  }
}
