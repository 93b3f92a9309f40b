package org.mtlora.core.nn;

import org.mtlora.core.graph.GraphContext;

import com.google.common.base.Preconditions;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Looks up a relative-position-bias table: {@code bias[h, i, j] = table[index[i * n + j], h]}.
 *
 * <p>SameDiff's gather gives a wrong gradient when indices repeat, so a trainable table is looked up by a product
 * with a constant one-hot matrix ({@code onehot[i*n+j, index[i*n+j]] = 1}), whose backward accumulates repeated
 * entries correctly. A frozen table is looked up once in Java ({@link #gather}) and used as a constant.
 */
public final class RelativePositionBias {
  private RelativePositionBias() {}

  /**
   * In-graph lookup with a correct gradient for the table.
   *
   * @param table {@code [T, heads]}
   * @param index {@code n*n} entries in {@code [0, T)}
   * @param oneHotName name of the one-hot constant; lookups with the same index share it
   * @return {@code [heads, n, n]}
   */
  public static SDVariable lookup(GraphContext ctx, SDVariable table, long tableSize, long heads, int[] index, int n,
      String oneHotName) {
    SameDiff sd = ctx.sd();
    if (sd.hasVariable(oneHotName)) {
      SDVariable rows = sd.mmul(sd.getVariable(oneHotName), table); // [n*n, heads]
      return sd.permute(sd.reshape(rows, n, n, heads), 2, 0, 1);
    }
    Preconditions.checkArgument(index.length == n * n, "index must have n*n = %s entries, found %s", n * n,
        index.length);
    INDArray oneHot = Nd4j.create(DataType.FLOAT, index.length, tableSize);
    for (int k = 0; k < index.length; k++) {
      Preconditions.checkArgument(index[k] >= 0 && index[k] < tableSize, "index[%s] = %s outside table of %s rows",
          k, index[k], tableSize);
      oneHot.putScalar(k, index[k], 1f);
    }
    SDVariable rows = sd.mmul(ctx.constant(oneHotName, oneHot), table); // [n*n, heads]
    return sd.permute(sd.reshape(rows, n, n, heads), 2, 0, 1); // [heads, n, n]
  }

  /** The same lookup done in Java for a frozen table: {@code [T, heads]} to {@code [heads, n, n]}. */
  public static INDArray gather(INDArray table, int[] index, int n) {
    long heads = table.size(1);
    INDArray out = Nd4j.create(table.dataType(), heads, n, n);
    for (int h = 0; h < heads; h++) {
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          out.putScalar(new long[] {h, i, j}, table.getDouble(index[i * n + j], h));
        }
      }
    }
    return out;
  }
}
