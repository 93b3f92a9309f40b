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
}
