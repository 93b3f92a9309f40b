package org.mtlora.core.io;

import java.nio.file.Path;
import java.util.Arrays;
import org.mtlora.core.params.ParamSpec;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Checks on tensors read from files, with messages that name the file, the tensor and what was expected: a tensor
 * must have its parameter's shape, a float parameter must be stored in a floating-point type, and every value must be
 * finite.
 */
public final class TensorChecks {
  private TensorChecks() {}

  /** Whether {@code d} is one of the floating-point types a float parameter may be stored in. */
  public static boolean isFloating(DType d) {
    return d == DType.F32 || d == DType.F64 || d == DType.F16 || d == DType.BF16;
  }

  /**
   * Whether a tensor stored as {@code d} can fill {@code spec}: a floating-point type for a float parameter or buffer,
   * any number for a counter ({@link ParamSpec#isCounter}).
   */
  public static boolean typeFits(ParamSpec spec, DType d) {
    return spec.isCounter() ? d != DType.BOOL : isFloating(d);
  }

  /** Fails unless the stored tensor has {@code spec}'s shape and a type that fits it ({@link #typeFits}). */
  public static void requireFits(Path file, TensorInfo info, ParamSpec spec) {
    if (!Arrays.equals(spec.shape(), info.shapeArray())) {
      throw new IllegalArgumentException(file + ": tensor " + info.name() + " has shape " + info.shape()
          + ", this model expects " + Arrays.toString(spec.shape()) + " (another rank or model size?)");
    }
    if (!typeFits(spec, info.dtype())) {
      throw new IllegalArgumentException(file + ": tensor " + info.name() + " is stored as " + info.dtype()
          + ", expected " + (spec.isCounter() ? "a number" : "a floating-point type (F32, F64, F16 or BF16)"));
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
