package org.mtlora.core.nn;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The sum over the rows of a matrix, {@code [M, K] -> [1, K]}, as the matrix product {@code 1^T m} with a column of
 * ones. SameDiff 1.0.0-M2.1's {@code reduce_sum} along axis 0 of a row-major matrix is a strided reduction: 8.6 ms for
 * a {@code [12544, 384]} array on this project's machine, against 0.75 ms for the product (docs/performance.md). Used
 * in backward passes only (the gradient of a trainable {@link BroadcastSum} term); the number of rows may be unknown
 * when the graph is built (a batch of -1).
 */
final class ColumnSums {
  private ColumnSums() {}

  /**
   * @param m {@code [M, k]}
   * @param k the number of columns, known when the graph is built
   * @return {@code [1, k]}
   */
  static SDVariable of(SameDiff sd, SDVariable m, long k) {
    // [M, k] / [1, k] = [M, 1]: the shape of the column of ones, M known only when the graph runs
    SDVariable onesShape = sd.shape(m).div(sd.constant(Nd4j.createFromArray(1L, k)));
    SDVariable ones = sd.fill(onesShape, m.dataType(), 1.0);
    return sd.mmul(ones, m, true, false, false);
  }
}
