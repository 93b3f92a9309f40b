package org.mtlora.swin;

import com.google.common.base.Preconditions;

/**
 * Pure helpers for the geometry of (shifted) window attention: the window/shift clamp rule, the relative position
 * index and the shifted-window attention mask. No SameDiff here: plain arrays, each checked by hand in tests.
 */
public final class WindowGeometry {
  /**
   * The fill value that blocks attention across shifted regions: the reference uses -100.0, not -infinity
   * (reference-spec §2), so the softmax stays finite.
   */
  public static final float MASK_VALUE = -100.0f;

  private WindowGeometry() {}

  /**
   * The effective window and shift of a block (the reference's rule): a stage whose resolution is no larger than the
   * window uses one window covering the grid and no shift.
   *
   * @return {@code {window, shift}}
   */
  public static int[] windowAndShift(int resolution, int window, int shift) {
    if (resolution <= window) {
      return new int[] {resolution, 0};
    }
    return new int[] {window, shift};
  }

  /**
   * The relative position index of a {@code w x w} window, row-major tokens: {@code index[i * N + j] = (hi - hj + w -
   * 1) * (2w - 1) + (wi - wj + w - 1)}, with {@code N = w * w}.
   */
  public static int[] relativePositionIndex(int w) {
    int n = w * w;
    int[] index = new int[n * n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        index[i * n + j] = (i / w - j / w + w - 1) * (2 * w - 1) + (i % w - j % w + w - 1);
      }
    }
    return index;
  }

  /**
   * The attention mask of a shifted block on an {@code h x w} grid: the grid is cut into 3x3 regions by the slices
   * {@code [0, h - window), [h - window, h - shift), [h - shift, h)} (same for columns), the region map is split into
   * windows, and {@code mask[win][i][j]} is 0 where tokens i and j lie in the same region and {@link #MASK_VALUE}
   * otherwise.
   *
   * @return {@code [numWindows][N][N]}, windows in row-major order
   */
  public static float[][][] shiftedWindowMask(int h, int w, int window, int shift) {
    Preconditions.checkArgument(h % window == 0 && w % window == 0, "grid %sx%s not divisible by window %s", h, w,
        window);
    Preconditions.checkArgument(shift > 0 && shift < window, "shift must be in (0, window), found %s", shift);
    int[][] region = new int[h][w];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        region[y][x] = band(y, h, window, shift) * 3 + band(x, w, window, shift);
      }
    }
    int wh = h / window;
    int ww = w / window;
    int n = window * window;
    float[][][] mask = new float[wh * ww][n][n];
    for (int wy = 0; wy < wh; wy++) {
      for (int wx = 0; wx < ww; wx++) {
        float[][] m = mask[wy * ww + wx];
        for (int i = 0; i < n; i++) {
          int ri = region[wy * window + i / window][wx * window + i % window];
          for (int j = 0; j < n; j++) {
            int rj = region[wy * window + j / window][wx * window + j % window];
            m[i][j] = ri == rj ? 0f : MASK_VALUE;
          }
        }
      }
    }
    return mask;
  }

  /**
   * Where each row of the shifted window partition comes from: entry {@code p} of the result is the token index
   * {@code y * w + x} (row-major grid of one image) that lands at position {@code p} of the windows after {@code
   * roll(-shift)} and {@link WindowOps#partition} (windows row-major, tokens row-major in each window). One gather with
   * this index is the cyclic shift and the partition together; {@link #inverse} of it is the window reverse and the
   * reverse shift.
   */
  public static int[] windowOrder(int h, int w, int window, int shift) {
    int[] order = new int[h * w];
    int p = 0;
    for (int wy = 0; wy < h / window; wy++) {
      for (int wx = 0; wx < w / window; wx++) {
        for (int a = 0; a < window; a++) {
          for (int b = 0; b < window; b++) {
            int y = Math.floorMod(wy * window + a + shift, h);
            int x = Math.floorMod(wx * window + b + shift, w);
            order[p++] = y * w + x;
          }
        }
      }
    }
    return order;
  }

  /**
   * Where each row of patch merging's 2x2 neighbourhoods comes from: entry {@code 4 (i * w/2 + j) + q} of the result is
   * the token index {@code y * w + x} of neighbour {@code q} of output cell {@code (i, j)}, in the reference's channel
   * order q = 0 (2i, 2j), 1 (2i + 1, 2j), 2 (2i, 2j + 1), 3 (2i + 1, 2j + 1) — (even row, even col), (odd row, even
   * col), (even row, odd col), (odd row, odd col). One gather of the rows {@code [L, C]} with this index, read as
   * {@code [L/4, 4C]}, is the concatenation of {@link PatchMerging}.
   */
  public static int[] mergeOrder(int h, int w) {
    Preconditions.checkArgument(h % 2 == 0 && w % 2 == 0, "patch merging needs an even grid, found %sx%s", h, w);
    int[] order = new int[h * w];
    int p = 0;
    for (int i = 0; i < h / 2; i++) {
      for (int j = 0; j < w / 2; j++) {
        for (int q = 0; q < 4; q++) {
          order[p++] = (2 * i + q % 2) * w + 2 * j + q / 2;
        }
      }
    }
    return order;
  }

  /** The inverse permutation: {@code inverse(order)[order[p]] == p}. */
  public static int[] inverse(int[] order) {
    int[] inv = new int[order.length];
    for (int p = 0; p < order.length; p++) {
      inv[order[p]] = p;
    }
    return inv;
  }

  private static int band(int pos, int size, int window, int shift) {
    if (pos < size - window) {
      return 0;
    }
    return pos < size - shift ? 1 : 2;
  }
}
