package org.mtlora.swin;

import org.mtlora.core.nn.Roll;
import org.mtlora.core.nn.RowPermutation;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Window partition and reverse, and the cyclic shift around them, on SameDiff variables: as reshape + permute (and
 * slices for the shift), or both in one row reordering ({@link #reorderRows}), which the blocks use.
 */
public final class WindowOps {
  private WindowOps() {}

  /**
   * Splits a grid into non-overlapping windows.
   *
   * @param grid {@code [B, h, w, C]}
   * @return rows {@code [B * nW * N, C]}, windows row-major per image, tokens row-major per window ({@code N =
   *     window^2})
   */
  public static SDVariable partition(SameDiff sd, SDVariable grid, int h, int w, long c, int window) {
    SDVariable t = sd.reshape(grid, -1, h / window, window, w / window, window, c); // [B, h/ws, ws, w/ws, ws, C]
    t = sd.permute(t, 0, 1, 3, 2, 4, 5); // [B, h/ws, w/ws, ws, ws, C]
    return sd.reshape(t, -1, c); // [B*nW*N, C]
  }

  /** Inverse of {@link #partition}: rows {@code [B * nW * N, C]} back to the grid {@code [B, h, w, C]}. */
  public static SDVariable reverse(SameDiff sd, SDVariable windows, int h, int w, long c, int window) {
    SDVariable t = sd.reshape(windows, -1, h / window, w / window, window, window, c); // [B, h/ws, w/ws, ws, ws, C]
    t = sd.permute(t, 0, 1, 3, 2, 4, 5); // [B, h/ws, ws, w/ws, ws, C]
    return sd.reshape(t, -1, h, w, c); // [B, h, w, C]
  }

  /**
   * Reorders the token rows of each image by {@code order} with one gather: {@code rows} {@code [B * L, C]} to {@code
   * [B * L, C]} with row {@code p} of each image taken from row {@code order[p]}. With {@link
   * WindowGeometry#windowOrder} it is the cyclic shift and the window partition in one copy, with its inverse the
   * window reverse and the reverse shift; its backward is the inverse reordering ({@link RowPermutation}).
   */
  public static SDVariable reorderRows(SameDiff sd, SDVariable rows, long c, int[] order, String name) {
    SDVariable perImage = sd.reshape(rows, -1, order.length, c); // [B, L, C]
    return sd.reshape(RowPermutation.apply(sd, perImage, order, name), -1, c);
  }

  /** {@code torch.roll(grid, (shift, shift), dims=(1, 2))} on {@code [B, h, w, C]}. */
  public static SDVariable roll(SameDiff sd, SDVariable grid, int h, int w, int shift) {
    if (shift == 0) {
      return grid;
    }
    return Roll.apply(sd, Roll.apply(sd, grid, 4, 1, h, shift), 4, 2, w, shift);
  }
}
