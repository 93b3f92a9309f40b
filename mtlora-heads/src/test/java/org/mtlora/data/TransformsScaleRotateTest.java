package org.mtlora.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class TransformsScaleRotateTest {
  private static PascalSample grid(int h, int w) {
    int n = h * w;
    float[] img = new float[3 * n];
    int[] lab = new int[n];
    for (int i = 0; i < n; i++) {
      lab[i] = i + 1;
      img[i] = img[n + i] = img[2 * n + i] = 10 * i;
    }
    float[] normals = new float[3 * n];
    for (int i = 0; i < n; i++) {
      normals[i] = 1; // pointing along +x
    }
    return new PascalSample("g", h, w, img, lab, lab.clone(), new int[n], normals);
  }

  @Test
  void identityWhenNeitherRotatedNorScaled() {
    PascalSample s = grid(4, 4);
    PascalSample t = Transforms.scaleAndRotate(s, 0, 1);
    assertArrayEquals(s.semseg(), t.semseg());
    assertArrayEquals(s.image(), t.image(), 1e-4f);
  }

  @Test
  void ninetyDegreesRotatesLabelsAboutTheCentreAndPadsWithZero() {
    // 4x4 grid, centre (2, 2): dst(x, y) samples src at the inverse rotation; with scale 0.5 the corners are padding
    PascalSample s = grid(4, 4);
    PascalSample t = Transforms.scaleAndRotate(s, 90, 1);
    // cv2.getRotationMatrix2D((2, 2), 90, 1) = [[0, 1, 0], [-1, 0, 4]]: dst(x, y) = src(4 - y, x)
    for (int y = 0; y < 4; y++) {
      for (int x = 0; x < 4; x++) {
        int sx = 4 - y;
        int sy = x;
        int expected = sx >= 4 ? 0 : s.semseg()[sy * 4 + sx];
        assertEquals(expected, t.semseg()[y * 4 + x], "dst (" + x + ", " + y + ")");
      }
    }
    // normals: an in-plane vector (1, 0) turns by 90 degrees to (0, -1) with atan2(x, y) convention
    assertEquals(0f, t.normals()[5 * 1], 1e-5f);
    PascalSample half = Transforms.scaleAndRotate(grid(8, 8), 0, 0.5);
    assertEquals(0, half.semseg()[0], "outside the scaled image: background");
  }
}
