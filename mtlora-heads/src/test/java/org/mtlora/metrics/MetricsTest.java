package org.mtlora.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

class MetricsTest {
  @Test
  void confusionMatrixMeanIouByHand() {
    ConfusionMatrix cm = new ConfusionMatrix(3);
    //            gt: 0  0  1  1  1  2  255
    cm.add(new int[] {0, 1, 1, 1, 0, 2, 2}, new int[] {0, 0, 1, 1, 1, 2, 255});
    // class 0: TP 1, FN 1 (gt 0 -> 1), FP 1 (gt 1 -> 0): 1/3; class 1: TP 2, FN 1, FP 1: 2/4; class 2: TP 1: 1/1
    assertEquals(1.0 / 3, cm.iou(0), 1e-12);
    assertEquals(0.5, cm.iou(1), 1e-12);
    assertEquals(1.0, cm.iou(2), 1e-12);
    assertEquals((1.0 / 3 + 0.5 + 1.0) / 3, cm.meanIou(), 1e-12);
    ConfusionMatrix absent = new ConfusionMatrix(2);
    absent.add(new int[] {0, 0}, new int[] {0, 0});
    assertEquals(0.5, absent.meanIou(), 1e-12, "an absent class counts as IoU 0");
    assertThrows(IllegalArgumentException.class, () -> absent.add(new int[] {0}, new int[] {7}));
  }

  @Test
  void saliencyThresholdsAndScores() {
    assertEquals(0.2, SaliencyMeter.threshold(0), 1e-12);
    assertEquals(0.25, SaliencyMeter.threshold(1), 1e-12);
    assertEquals(0.9, SaliencyMeter.threshold(14), 1e-12);
    SaliencyMeter m = new SaliencyMeter();
    // image 1: p = 0.3, 0.6, 0.95, 0.1; gt = 0, 1, 1, 0 -> at tau in [0.3, 0.6): prediction {1, 2} = gt: Jaccard 1
    m.add(new float[] {0.3f, 0.6f, 0.95f, 0.1f}, new int[] {0, 1, 1, 0});
    // image 2: nothing salient and nothing predicted above 0.5 -> Jaccard 1 for tau >= 0.5, 0 below
    m.add(new float[] {0.4f, 0.45f, 0.1f, 0.2f}, new int[] {0, 0, 0, 0});
    // tau = 0.5 (index 6): image 1 Jaccard 1, image 2 Jaccard 1 -> mean 1
    assertEquals(1.0, m.meanIou(), 1e-12);
    // maxF at tau 0.5..0.6: image 1 P = R = 1; image 2 P = R = 0 (no positives) -> mean P = R = 0.5, F = 0.5
    assertEquals(0.5, m.maxF(), 1e-9);
  }

  @Test
  void normalsMeanAngleOverValidPixels() {
    NormalsMeter m = new NormalsMeter();
    // pixel 0: prediction (2, 0, 0) vs (1, 0, 0): 0 deg; pixel 1: (0, 1, 0) vs (1, 0, 0): 90 deg; pixel 2 ignored
    m.add(new float[] {2, 0, 5, 0, 1, 5, 0, 0, 5}, new float[] {1, 1, 255, 0, 0, 255, 0, 0, 255});
    assertEquals(45.0, m.meanAngle(), 1e-9);
    assertEquals(2, m.validPixels());
  }

  @Test
  void deltaMReproducesThePaper() {
    // MTLoRA r=16 row: 68.19 / 58.99 / 64.48 / 17.03 -> +1.35
    double d = DeltaM.againstPaper(Map.of("semseg", 68.19, "human_parts", 58.99, "sal", 64.48, "normals", 17.03));
    assertEquals(1.35, d, 0.02);
    // decoders only: 65.09 / 53.48 / 57.46 / 20.69 -> -9.95
    assertEquals(-9.95, DeltaM.againstPaper(Map.of("semseg", 65.09, "human_parts", 53.48, "sal", 57.46,
        "normals", 20.69)), 0.02);
    assertThrows(IllegalArgumentException.class, () -> DeltaM.againstPaper(Map.of("depth", 1.0)));
  }
}
