package org.mtlora.core.nn;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Expands per-row and per-column factors to a full {@code [N, C]} array with a matrix product (an outer product),
 * so that the element-wise product that uses it has operands of equal shape. SameDiff 1.0.0-M2.1's backward of a
 * <em>broadcasting</em> multiply ({@code [N, C] * [N, 1]} or {@code * [C]}) reduces over the broadcast axis about
 * twice as slowly as an equal-shape multiply's backward, and was 29 % of a Swin-T training step's op time
 * (docs/performance.md); the outer product's backward is two small matrix-vector products.
 */
public final class RowBroadcast {
  private RowBroadcast() {}

  /** {@code column [N, 1] · row [1, C]}: element (i, j) is {@code column_i * row_j}. */
  public static SDVariable outer(SameDiff sd, SDVariable column, SDVariable row) {
    return FrozenWeightMatmul.product(sd, column, row, false);
  }

  /** {@code column [N, 1]} repeated across {@code width} columns: {@code [N, width]}. */
  public static SDVariable acrossColumns(SameDiff sd, SDVariable column, long width, DataType type) {
    return FrozenWeightMatmul.product(sd, column, sd.constant(Nd4j.ones(type, 1, width)), false);
  }
}
