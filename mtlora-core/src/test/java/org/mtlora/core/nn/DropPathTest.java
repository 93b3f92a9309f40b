package org.mtlora.core.nn;

import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.RandomMasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class DropPathTest extends BlocksTestBase {
  @Test
  void dropsWholeSamples() {
    SameDiff sd = SameDiff.create();
    GraphContext ctx = trainingContext(sd);
    int batch = 4;
    long tokens = 3;
    INDArray x = randn(1, batch * tokens, 2);
    SDVariable y = DropPath.apply(ctx, "dp", sd.var("x", x), tokens, 2, 0.5);
    // Hand-made mask: samples 0 and 2 kept (value 1 / keep = 2), 1 and 3 dropped.
    INDArray mask = Nd4j.zeros(DataType.DOUBLE, batch * tokens, 1);
    for (int t = 0; t < tokens; t++) {
      mask.putScalar(t, 0, 2);
      mask.putScalar(2 * tokens + t, 0, 2);
    }
    INDArray out = eval(sd, y, Map.of("dp", mask));
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < tokens; t++) {
        for (int c = 0; c < 2; c++) {
          long r = b * tokens + t;
          double expected = b % 2 == 0 ? x.getDouble(r, c) / 0.5 : 0;
          assertEquals(expected, out.getDouble(r, c), 1e-12);
        }
      }
    }
  }

  @Test
  void sampledMaskIsConstantWithinASample() {
    RandomMasks masks = new RandomMasks();
    masks.placeholder(SameDiff.create(), "dp", DataType.FLOAT, RandomMasks.Kind.SAMPLE, 5, new long[] {1}, 0.5);
    INDArray m = masks.sample(64, 1, 0, DataType.FLOAT).get("dp");
    int kept = 0;
    for (int b = 0; b < 64; b++) {
      for (int t = 1; t < 5; t++) {
        assertEquals(m.getFloat(b * 5, 0), m.getFloat(b * 5 + t, 0));
      }
      assertTrue(m.getFloat(b * 5, 0) == 0f || m.getFloat(b * 5, 0) == 2f, "values 0 or 1/keep");
      kept += m.getFloat(b * 5, 0) != 0 ? 1 : 0;
    }
    assertEquals(32, kept, 12); // Binomial(64, 0.5): 32 +- 3 sigma
  }

  @Test
  void identityInEvaluation() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", randn(1, 4, 2));
    assertSame(x, DropPath.apply(evalContext(sd), "dp", x, 2, 2, 0.2));
  }

  @Test
  void gradient() {
    SameDiff sd = SameDiff.create();
    GraphContext ctx = trainingContext(sd);
    SDVariable y = DropPath.apply(ctx, "dp", sd.var("x", randn(2, 3 * 2, 3)), 2, 3, 0.4);
    INDArray mask = Nd4j.createFromArray(new double[][] {{1}, {1}, {0}, {0}, {1}, {1}});
    gradCheck(sd, y, Map.of("dp", mask));
  }
}
