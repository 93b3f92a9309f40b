package org.mtlora.core.params;

import com.google.common.base.Preconditions;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * How a parameter is initialised when no checkpoint provides it. Implementations draw only from the random source
 * they are given, so a seed fixes every initial value.
 */
@FunctionalInterface
public interface Init {
  /** A new float32 array of {@code shape}. */
  INDArray create(long[] shape, SplittableRandom rng);

  /** All zeros (LoRA B, biases). */
  static Init zeros() {
    return (shape, rng) -> Nd4j.zeros(DataType.FLOAT, shape);
  }

  /** All ones (norm weights). */
  static Init ones() {
    return (shape, rng) -> Nd4j.ones(DataType.FLOAT, shape);
  }

  /** U(-bound, bound). */
  static Init uniform(double bound) {
    Preconditions.checkArgument(bound >= 0, "bound must be >= 0, found %s", bound);
    return (shape, rng) -> fill(shape, () -> (float) ((2 * rng.nextDouble() - 1) * bound));
  }

  /**
   * PyTorch's {@code kaiming_uniform_(w, a=sqrt(5))} for a weight with {@code fanIn} inputs: U(-1/sqrt(fanIn),
   * 1/sqrt(fanIn)) (gain sqrt(2/(1+a^2)) times sqrt(3/fanIn)). Used for every LoRA A and every conv/linear default.
   */
  static Init kaimingUniform(long fanIn) {
    Preconditions.checkArgument(fanIn > 0, "fanIn must be positive, found %s", fanIn);
    return uniform(1.0 / Math.sqrt(fanIn));
  }

  /** Normal(0, std) truncated to [-2, 2] (timm's trunc_normal_ with absolute bounds). */
  static Init truncatedNormal(double std) {
    Preconditions.checkArgument(std >= 0, "std must be >= 0, found %s", std);
    return (shape, rng) -> fill(shape, () -> {
      double v;
      do {
        v = gaussian(rng) * std;
      } while (v < -2 || v > 2);
      return (float) v;
    });
  }

  private static double gaussian(SplittableRandom rng) {
    // Box-Muller on the explicit source: deterministic for a seed.
    double u1 = 1.0 - rng.nextDouble();
    double u2 = rng.nextDouble();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  private static INDArray fill(long[] shape, FloatSupplier next) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    float[] v = new float[Math.toIntExact(n)];
    for (int i = 0; i < v.length; i++) {
      v[i] = next.get();
    }
    return shape.length == 0 ? Nd4j.scalar(v[0]) : Nd4j.createFromArray(v).reshape(shape);
  }

  /** A float source. */
  @FunctionalInterface
  interface FloatSupplier {
    float get();
  }
}
