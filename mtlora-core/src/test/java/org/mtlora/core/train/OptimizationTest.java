package org.mtlora.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.params.Init;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.Role;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class OptimizationTest {
  @Test
  void adamWStepsMatchHandComputation() {
    AdamW opt = new AdamW(0.9, 0.999, 1e-8, 0.05);
    opt.add("w", new long[] {2}, true, DataType.DOUBLE);
    opt.add("b", new long[] {1}, false, DataType.DOUBLE);
    Map<String, INDArray> p = new LinkedHashMap<>();
    p.put("w", Nd4j.createFromArray(1.0, -2.0));
    p.put("b", Nd4j.createFromArray(0.5));
    double lr = 0.1;
    // hand computation, two steps, PyTorch AdamW order
    double[] w = {1.0, -2.0};
    double b = 0.5;
    double[] mw = new double[2];
    double[] vw = new double[2];
    double mb = 0;
    double vb = 0;
    double[][] gw = {{0.3, -0.1}, {-0.2, 0.4}};
    double[] gb = {1.0, 2.0};
    for (int t = 1; t <= 2; t++) {
      Map<String, INDArray> g = Map.of("w", Nd4j.createFromArray(gw[t - 1]), "b", Nd4j.createFromArray(gb[t - 1]));
      opt.update(p, g, lr);
      double bc1 = 1 - Math.pow(0.9, t);
      double bc2 = 1 - Math.pow(0.999, t);
      for (int i = 0; i < 2; i++) {
        w[i] *= 1 - lr * 0.05;
        mw[i] = 0.9 * mw[i] + 0.1 * gw[t - 1][i];
        vw[i] = 0.999 * vw[i] + 0.001 * gw[t - 1][i] * gw[t - 1][i];
        w[i] -= lr / bc1 * mw[i] / (Math.sqrt(vw[i]) / Math.sqrt(bc2) + 1e-8);
      }
      mb = 0.9 * mb + 0.1 * gb[t - 1];
      vb = 0.999 * vb + 0.001 * gb[t - 1] * gb[t - 1];
      b -= lr / bc1 * mb / (Math.sqrt(vb) / Math.sqrt(bc2) + 1e-8); // no decay for biases
    }
    assertEquals(w[0], p.get("w").getDouble(0), 1e-12);
    assertEquals(w[1], p.get("w").getDouble(1), 1e-12);
    assertEquals(b, p.get("b").getDouble(0), 1e-12);
    assertEquals(2, opt.step());
  }

  @Test
  void adamWFloat32StepsFollowTheFloat64Formula() {
    // 100 steps of a [3, 5] float32 tensor with decay and a changing learning rate against the formula in double:
    // the fused native update must agree to float32 rounding (relative 1e-5 after 100 steps)
    AdamW opt = AdamW.reference();
    opt.add("w", new long[] {3, 5}, true, DataType.FLOAT);
    INDArray w = Nd4j.linspace(-1, 1, 15, DataType.FLOAT).reshape(3, 5);
    Map<String, INDArray> p = new LinkedHashMap<>(Map.of("w", w));
    double[] ref = w.dup().reshape(15).toDoubleVector();
    double[] mRef = new double[15];
    double[] vRef = new double[15];
    for (int t = 1; t <= 100; t++) {
      double lr = 1e-3 * (1.5 + Math.sin(t));
      double[] g = new double[15];
      for (int i = 0; i < 15; i++) {
        g[i] = Math.cos(0.7 * t + i) * (t % 5 == 0 ? 1e-7 : 1e-2); // some steps with tiny gradients
      }
      opt.update(p, Map.of("w", Nd4j.createFromArray(g).castTo(DataType.FLOAT).reshape(3, 5)), lr);
      double bc1 = 1 - Math.pow(0.9, t);
      double bc2 = 1 - Math.pow(0.999, t);
      for (int i = 0; i < 15; i++) {
        ref[i] *= 1 - lr * 0.05;
        mRef[i] = 0.9 * mRef[i] + 0.1 * g[i];
        vRef[i] = 0.999 * vRef[i] + 0.001 * g[i] * g[i];
        ref[i] -= lr / bc1 * mRef[i] / (Math.sqrt(vRef[i]) / Math.sqrt(bc2) + 1e-8);
      }
    }
    double[] got = p.get("w").dup().reshape(15).toDoubleVector();
    for (int i = 0; i < 15; i++) {
      assertEquals(ref[i], got[i], 1e-5 * Math.max(1, Math.abs(ref[i])), "element " + i);
    }
    assertEquals(100, opt.step());
  }

  @Test
  void adamWWithLearningRateZeroMovesOnlyTheMoments() {
    AdamW opt = AdamW.reference();
    opt.add("w", new long[] {2}, true, DataType.FLOAT);
    Map<String, INDArray> p = new LinkedHashMap<>(Map.of("w", Nd4j.createFromArray(1f, -2f)));
    opt.update(p, Map.of("w", Nd4j.createFromArray(0.5f, -0.25f)), 0.0);
    assertEquals(1.0, p.get("w").getDouble(0), 0.0);
    assertEquals(-2.0, p.get("w").getDouble(1), 0.0);
    // the fused op forms 1 - beta in float32: (1 - 0.9f) * 0.5 and (1 - 0.999f) * 0.0625
    assertEquals((1 - (double) 0.9f) * 0.5, opt.firstMoments().get("w").getDouble(0), 1e-9);
    assertEquals((1 - (double) 0.999f) * 0.0625, opt.secondMoments().get("w").getDouble(1), 1e-12);
  }

  @Test
  void adamWRejectsMismatchedGradientsAndBadLearningRates() {
    AdamW opt = AdamW.reference();
    opt.add("w", new long[] {2}, true, DataType.FLOAT);
    Map<String, INDArray> p = new LinkedHashMap<>(Map.of("w", Nd4j.createFromArray(1f, -2f)));
    IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
        () -> opt.update(p, Map.of("w", Nd4j.createFromArray(1f, 2f, 3f)), 0.1));
    assertTrue(shape.getMessage().contains("gradient of w: expected FLOAT [2], found FLOAT [3]"), shape.getMessage());
    IllegalArgumentException type = assertThrows(IllegalArgumentException.class,
        () -> opt.update(p, Map.of("w", Nd4j.createFromArray(1.0, 2.0)), 0.1));
    assertTrue(type.getMessage().contains("found DOUBLE [2]"), type.getMessage());
    IllegalArgumentException lr = assertThrows(IllegalArgumentException.class,
        () -> opt.update(p, Map.of("w", Nd4j.createFromArray(1f, 2f)), Double.NaN));
    assertTrue(lr.getMessage().contains("learning rate must be finite and >= 0, found NaN"), lr.getMessage());
    assertThrows(IllegalArgumentException.class, () -> opt.add("h", new long[] {2}, true, DataType.HALF));
    assertEquals(0, opt.step()); // nothing was applied
  }

  @Test
  void referenceDecayGroups() {
    assertTrue(AdamW.REFERENCE_DECAY.test(ParamSpec.of("x.lora_shared_A", Role.ADAPTER_SHARED, Init.zeros(), 4, 8)));
    assertTrue(AdamW.REFERENCE_DECAY.test(ParamSpec.of("x.relative_position_bias_table", Role.REL_POS_TABLE,
        Init.zeros(), 169, 3)));
    assertFalse(AdamW.REFERENCE_DECAY.test(ParamSpec.of("x.norm1.weight", Role.NORM, Init.ones(), 96)));
    assertFalse(AdamW.REFERENCE_DECAY.test(ParamSpec.of("x.proj.bias", Role.PATCH_EMBED, Init.zeros(), 96)));
  }

  @Test
  void scheduleWarmsUpLinearlyThenFollowsTheCosine() {
    LrSchedule s = new LrSchedule(1e-3, 1e-6, 1e-5, 10, 110);
    assertEquals(1e-6, s.lrAt(0), 1e-15);
    assertEquals(1e-6 + 5 * (1e-3 - 1e-6) / 10, s.lrAt(5), 1e-15);
    assertEquals(1e-3, s.lrAt(10), 1e-15);
    assertEquals(1e-5 + 0.5 * (1e-3 - 1e-5), s.lrAt(60), 1e-15); // half way through the cosine
    assertEquals(1e-5, s.lrAt(110), 1e-15);
    // the step at iteration k trains with lr(k - 1)
    assertEquals(s.lrAt(0), s.forIteration(0), 0);
    assertEquals(s.lrAt(0), s.forIteration(1), 0);
    assertEquals(s.lrAt(6), s.forIteration(7), 0);
    // the reference's batch scaling: batch 32 -> peak 3.125e-5
    assertEquals(3.125e-5, LrSchedule.reference(32, 3120, 46800).peakLr(), 1e-18);
  }

  @Test
  void clippingScalesToTheGlobalNorm() {
    Map<String, INDArray> g = new LinkedHashMap<>();
    g.put("a", Nd4j.createFromArray(3.0, 0.0));
    g.put("b", Nd4j.createFromArray(4.0));
    assertEquals(5.0, GradientClipping.clip(g, 1.0), 1e-12);
    assertEquals(1.0, GradientClipping.globalNorm(g), 1e-6);
    assertEquals(0.6, g.get("a").getDouble(0), 1e-6);
    Map<String, INDArray> small = Map.of("a", Nd4j.createFromArray(0.3));
    GradientClipping.clip(small, 1.0);
    assertEquals(0.3, small.get("a").getDouble(0), 0, "below the threshold nothing changes");
  }
}
