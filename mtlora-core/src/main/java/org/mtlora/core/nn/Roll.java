package org.mtlora.core.nn;

import com.google.common.base.Preconditions;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Cyclic shift along one axis, as {@code torch.roll(x, shift, dim)}: element {@code i} moves to {@code (i + shift)
 * mod size}. Built from two strided slices and a concat (SameDiff's Roll op has no backward).
 */
public final class Roll {
  private Roll() {}

  /**
   * @param x input of rank {@code rank}
   * @param axis the axis to roll (0-based)
   * @param size the static size of that axis
   * @param shift any integer; negative rolls backward
   * @return same shape as {@code x}
   */
  public static SDVariable apply(SameDiff sd, SDVariable x, int rank, int axis, long size, long shift) {
    Preconditions.checkArgument(axis >= 0 && axis < rank, "axis %s out of range for rank %s", axis, rank);
    Preconditions.checkArgument(size > 0, "axis size must be positive, found %s", size);
    long s = Math.floorMod(shift, size);
    if (s == 0) {
      return x;
    }
    SDVariable tail = x.get(indices(rank, axis, SDIndex.interval(size - s, size)));
    SDVariable head = x.get(indices(rank, axis, SDIndex.interval(0L, size - s)));
    return sd.concat(axis, tail, head);
  }

  private static SDIndex[] indices(int rank, int axis, SDIndex along) {
    SDIndex[] idx = new SDIndex[rank];
    for (int i = 0; i < rank; i++) {
      idx[i] = i == axis ? along : SDIndex.all();
    }
    return idx;
  }
}
