package org.mtlora.core.graph;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The loops of {@link org.mtlora.core.nn.RowPick} and its gradient on the CPU: float rows and int labels read in place,
 * one pass over the labels each way. Where the JVM kernels are off or an array is not a whole buffer of the expected
 * shape, the {@code try} methods write nothing and return false: the op then takes ND4J's array ops.
 */
public final class RowPickKernel {
  private RowPickKernel() {}

  /**
   * {@code picked[i] = x[i, t_i]} and {@code valid[i] = 1} where {@code 0 ≤ t_i < K}, else 0 and 0, for rows {@code
   * x [N, K]} and int labels {@code t [N]}; returns whether it wrote them.
   */
  public static boolean tryForward(INDArray x, INDArray labels, INDArray picked, INDArray valid) {
    if (!VectorKernels.floatMatrices(Integer.MAX_VALUE, x) || !wholeInts(labels, x.size(0))
        || !VectorKernels.wholeFloatBuffers(x.size(0), picked, valid)) {
      return false;
    }
    int k = (int) x.size(1);
    FloatBuffer rows = x.data().asNioFloat();
    IntBuffer t = labels.data().asNioInt();
    FloatBuffer p = picked.data().asNioFloat();
    FloatBuffer v = valid.data().asNioFloat();
    for (int i = 0; i < x.size(0); i++) {
      int label = t.get(i);
      boolean in = label >= 0 && label < k;
      p.put(i, in ? rows.get(i * k + label) : 0f);
      v.put(i, in ? 1f : 0f);
    }
    return true;
  }

  /**
   * {@code dx [N, K]}: {@code dpicked[i]} at {@code [i, t_i]} where {@code 0 ≤ t_i < K}, zeros elsewhere; returns
   * whether it wrote it.
   */
  public static boolean tryBackward(INDArray labels, INDArray dPicked, INDArray dx) {
    if (!VectorKernels.floatMatrices(Integer.MAX_VALUE, dx) || !wholeInts(labels, dx.size(0))
        || !VectorKernels.wholeFloatBuffers(dx.size(0), dPicked)) {
      return false;
    }
    int k = (int) dx.size(1);
    IntBuffer t = labels.data().asNioInt();
    FloatBuffer g = dPicked.data().asNioFloat();
    FloatBuffer out = dx.data().asNioFloat();
    dx.assign(0); // a new output is not zeroed
    for (int i = 0; i < dx.size(0); i++) {
      int label = t.get(i);
      if (label >= 0 && label < k) {
        out.put(i * k + label, g.get(i));
      }
    }
    return true;
  }

  /** Whether {@code labels} is {@code length} ints from the start of its own buffer. */
  private static boolean wholeInts(INDArray labels, long length) {
    return labels.dataType() == DataType.INT && labels.length() == length && !labels.isView()
        && labels.offset() == 0 && labels.data().length() >= length;
  }
}
