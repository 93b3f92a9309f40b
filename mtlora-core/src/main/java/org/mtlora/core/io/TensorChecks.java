package org.mtlora.core.io;

import java.nio.file.Path;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Checks on tensors read from files, with messages that name the file, the tensor and what was expected: a float
 * parameter must be stored in a floating-point type and hold only finite values.
 */
public final class TensorChecks {
  private TensorChecks() {}

  /** Whether {@code d} is one of the floating-point types a float parameter may be stored in. */
  public static boolean isFloating(DType d) {
    return d == DType.F32 || d == DType.F64 || d == DType.F16 || d == DType.BF16;
  }

  /** Fails unless the tensor is stored as F32, F64, F16 or BF16. */
  public static void requireFloating(Path file, TensorInfo info) {
    if (!isFloating(info.dtype())) {
      throw new IllegalArgumentException(file + ": tensor " + info.name() + " is stored as " + info.dtype()
          + ", expected a floating-point type (F32, F64, F16 or BF16)");
    }
  }

  /** Fails unless the tensor is stored as a floating-point or integer type (for counters such as batch counts). */
  public static void requireNumeric(Path file, TensorInfo info) {
    if (info.dtype() == DType.BOOL) {
      throw new IllegalArgumentException(file + ": tensor " + info.name() + " is stored as BOOL, expected a number");
    }
  }

  /** Fails if a value is NaN or infinite, naming the first such element. */
  public static void requireFinite(Path file, String name, INDArray values) {
    if (!values.dataType().isFPType() || values.length() == 0) {
      return;
    }
    double sum = values.sumNumber().doubleValue() * 0.0; // NaN exactly when some value is NaN or infinite
    if (!Double.isNaN(sum)) {
      return;
    }
    double[] flat = values.reshape(values.length()).toDoubleVector();
    for (int i = 0; i < flat.length; i++) {
      if (!Double.isFinite(flat[i])) {
        throw new IllegalArgumentException(file + ": tensor " + name + " holds " + flat[i] + " at flat index " + i
            + " (of " + flat.length + "); weights must be finite");
      }
    }
    // the sum overflowed; every value is finite
  }
}
