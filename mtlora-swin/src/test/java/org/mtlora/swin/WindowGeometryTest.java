package org.mtlora.swin;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class WindowGeometryTest {
  @Test
  void relativePositionIndexOfA2x2Window() {
    // tokens (0,0) (0,1) (1,0) (1,1); index = (dh + 1) * 3 + (dw + 1)
    int[] expected = {
      4, 3, 1, 0,
      5, 4, 2, 1,
      7, 6, 4, 3,
      8, 7, 5, 4};
    assertArrayEquals(expected, WindowGeometry.relativePositionIndex(2));
    int[] seven = WindowGeometry.relativePositionIndex(7);
    assertEquals(49 * 49, seven.length);
    assertEquals(6 * 13 + 6, seven[0]); // same token: centre of the 13x13 table
    assertEquals(12 * 13 + 12, seven[48 * 49]); // last token to first: offset (+6, +6)
    assertEquals(0, seven[48]); // first token to last: offset (-6, -6)
  }

  @Test
  void shiftedMaskOn4x4GridWithWindow2Shift1() {
    float[][][] m = WindowGeometry.shiftedWindowMask(4, 4, 2, 1);
    assertEquals(4, m.length);
    // Regions per axis: [0,2) -> 0, [2,3) -> 1, [3,4) -> 2. Window 0 (rows 0-1, cols 0-1) is all region 0.
    for (float[] row : m[0]) {
      assertArrayEquals(new float[4], row);
    }
    // Window 3 (rows 2-3, cols 2-3): region ids (1,1)=4, (1,2)=5, (2,1)=7, (2,2)=8, all different.
    for (int i = 0; i < 4; i++) {
      for (int j = 0; j < 4; j++) {
        assertEquals(i == j ? 0f : -100f, m[3][i][j], "window 3 " + i + "," + j);
      }
    }
    // Window 1 (rows 0-1, cols 2-3): columns 2 and 3 are regions 1 and 2 -> tokens 0,2 (col 2) vs 1,3 (col 3).
    float x = WindowGeometry.MASK_VALUE;
    float[][] w1 = {{0, x, 0, x}, {x, 0, x, 0}, {0, x, 0, x}, {x, 0, x, 0}};
    for (int i = 0; i < 4; i++) {
      assertArrayEquals(w1[i], m[1][i]);
    }
  }

  @Test
  void windowClampRule() {
    assertArrayEquals(new int[] {7, 3}, WindowGeometry.windowAndShift(56, 7, 3));
    assertArrayEquals(new int[] {7, 0}, WindowGeometry.windowAndShift(7, 7, 3)); // Swin-T stage 4 at 224
    assertArrayEquals(new int[] {4, 0}, WindowGeometry.windowAndShift(4, 7, 3));
  }

  @Test
  void windowOrderIsShiftThenPartitionOnA4x4Grid() {
    // grid tokens 0..15 row-major; windows of 2: window (0,0) holds tokens 0,1,4,5, then 2,3,6,7, ...
    assertArrayEquals(new int[] {0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15},
        WindowGeometry.windowOrder(4, 4, 2, 0));
    // shifted by 1 (roll -1): the first window starts at token (1,1) = 5 and wraps around the edges
    assertArrayEquals(new int[] {5, 6, 9, 10, 7, 4, 11, 8, 13, 14, 1, 2, 15, 12, 3, 0},
        WindowGeometry.windowOrder(4, 4, 2, 1));
    int[] order = WindowGeometry.windowOrder(4, 4, 2, 1);
    int[] inverse = WindowGeometry.inverse(order);
    for (int p = 0; p < order.length; p++) {
      assertEquals(p, inverse[order[p]]);
    }
  }

  @Test
  void oneGatherEqualsRollAndPartitionAndBack() {
    org.nd4j.autodiff.samediff.SameDiff sd = org.nd4j.autodiff.samediff.SameDiff.create();
    int h = 8;
    int c = 3;
    org.nd4j.linalg.api.ndarray.INDArray x = org.nd4j.linalg.factory.Nd4j.rand(
        org.nd4j.linalg.api.buffer.DataType.FLOAT, 2 * h * h, c);
    org.nd4j.autodiff.samediff.SDVariable rows = sd.constant("x", x);
    int window = 4;
    int shift = 2;
    org.nd4j.autodiff.samediff.SDVariable grid = WindowOps.roll(sd, sd.reshape(rows, -1, h, h, c), h, h, -shift);
    org.nd4j.autodiff.samediff.SDVariable composed = WindowOps.partition(sd, grid, h, h, c, window);
    int[] order = WindowGeometry.windowOrder(h, h, window, shift);
    org.nd4j.autodiff.samediff.SDVariable gathered = WindowOps.reorderRows(sd, rows, c, order, "order");
    org.nd4j.autodiff.samediff.SDVariable back = WindowOps.reorderRows(sd, gathered, c,
        WindowGeometry.inverse(order), "inverse");
    var out = sd.output(java.util.Map.of(), composed.name(), gathered.name(), back.name());
    assertEquals(out.get(composed.name()), out.get(gathered.name()));
    assertEquals(x, out.get(back.name()));
  }

  @Test
  void mergeOrderOnA4x4Grid() {
    // grid tokens 0..15 row-major; cell (0,0) takes (0,0)=0, (1,0)=4, (0,1)=1, (1,1)=5 in the reference's channel order
    assertArrayEquals(new int[] {0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15},
        WindowGeometry.mergeOrder(4, 4));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> WindowGeometry.mergeOrder(5, 4));
  }

  /** The gather with the merge order equals the reference's strided slices x[0::2, 0::2], x[1::2, 0::2], ... */
  @Test
  void oneGatherEqualsTheFourStridedSlicesConcatenated() {
    int b = 2;
    int h = 6;
    int c = 3;
    org.nd4j.linalg.api.ndarray.INDArray x = org.nd4j.linalg.factory.Nd4j.rand(
        org.nd4j.linalg.api.buffer.DataType.FLOAT, b * h * h, c);
    org.nd4j.autodiff.samediff.SameDiff sd = org.nd4j.autodiff.samediff.SameDiff.create();
    org.nd4j.autodiff.samediff.SDVariable merged = sd.reshape(WindowOps.reorderRows(sd, sd.constant("x", x), c,
        WindowGeometry.mergeOrder(h, h), "merge"), -1, 4L * c);
    org.nd4j.linalg.api.ndarray.INDArray out = sd.output(java.util.Map.of(), merged.name()).get(merged.name());
    assertArrayEquals(new long[] {b * h * h / 4, 4L * c}, out.shape());
    int[][] offsets = {{0, 0}, {1, 0}, {0, 1}, {1, 1}}; // (row, col) of x0, x1, x2, x3
    for (int s = 0; s < b; s++) {
      for (int i = 0; i < h / 2; i++) {
        for (int j = 0; j < h / 2; j++) {
          for (int q = 0; q < 4; q++) {
            for (int k = 0; k < c; k++) {
              long src = (long) s * h * h + (2L * i + offsets[q][0]) * h + 2L * j + offsets[q][1];
              assertEquals(x.getFloat(src, k), out.getFloat((long) s * h * h / 4 + (long) i * h / 2 + j, q * c + k),
                  "sample " + s + " cell " + i + "," + j + " part " + q);
            }
          }
        }
      }
    }
  }
}
