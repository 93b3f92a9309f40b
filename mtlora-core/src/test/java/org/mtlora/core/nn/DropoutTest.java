package org.mtlora.core.nn;

import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.RandomMasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class DropoutTest extends BlocksTestBase {
  @Test
  void trainingScalesKeptElementsAndZeroesDropped() {
    SameDiff sd = SameDiff.create();
    GraphContext ctx = trainingContext(sd);
    INDArray x = randn(1, 2 * 3, 4); // B=2, 3 rows per sample
    SDVariable y = Dropout.apply(ctx, "drop", sd.var("x", x), 3, new long[] {4}, 0.25);
    Map<String, INDArray> masks = ctx.masks().sample(2, 7, 0, DataType.DOUBLE);
    INDArray mask = masks.get("drop");
    INDArray out = eval(sd, y, masks);
    int kept = 0;
    for (int i = 0; i < x.length(); i++) {
      double m = mask.getDouble(i);
      assertTrue(m == 0 || Math.abs(m - 1 / 0.75) < 1e-12, "mask values are 0 or 1/keep: " + m);
      double expected = m != 0 ? x.getDouble(i) / 0.75 : 0;
      assertEquals(expected, out.getDouble(i), 1e-12);
      kept += m != 0 ? 1 : 0;
    }
    assertTrue(kept > 0 && kept < x.length(), "mask mixes kept and dropped elements: " + kept);
  }

  @Test
  void identityInEvaluationAndAtZeroRate() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", randn(1, 4, 2));
    assertSame(x, Dropout.apply(evalContext(sd), "d", x, 4, new long[] {2}, 0.5));
    GraphContext train = trainingContext(sd);
    assertSame(x, Dropout.apply(train, "d0", x, 4, new long[] {2}, 0.0));
    assertTrue(train.masks().specs().isEmpty());
  }

  @Test
  void masksDependOnlyOnSeedAndStepAndKeepTheRate() {
    RandomMasks masks = new RandomMasks();
    SameDiff sd = SameDiff.create();
    masks.placeholder(sd, "a", DataType.FLOAT, RandomMasks.Kind.ELEMENT, 1000, new long[] {10}, 0.9);
    INDArray s1 = masks.sample(2, 5, 3, DataType.FLOAT).get("a");
    masks.sample(2, 5, 4, DataType.FLOAT); // another step in between changes nothing
    INDArray s2 = masks.sample(2, 5, 3, DataType.FLOAT).get("a");
    assertEquals(s1, s2);
    assertNotEquals(s1, masks.sample(2, 5, 4, DataType.FLOAT).get("a"));
    double keptFraction = s1.sumNumber().doubleValue() * 0.9 / s1.length(); // kept elements hold 1 / 0.9
    assertEquals(0.9, keptFraction, 0.01);
  }

  @Test
  void gradientThroughFixedMask() {
    SameDiff sd = SameDiff.create();
    GraphContext ctx = trainingContext(sd);
    SDVariable y = Dropout.apply(ctx, "drop", sd.var("x", randn(3, 2 * 2, 3)), 2, new long[] {3}, 0.3);
    Map<String, INDArray> masks = new HashMap<>(ctx.masks().sample(2, 11, 0, DataType.DOUBLE));
    gradCheck(sd, y, masks);
  }
}
