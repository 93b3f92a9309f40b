package org.mtlora.core.graph;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector loops of {@link PixelLogLikelihoodKernel}: a softmax over classes for a chunk of pixels held class by
 * class ({@code a[k · width + i]} is class {@code k}'s score at pixel {@code i}), so that the vector lanes run over
 * pixels and each pixel's maximum and sum are taken over {@code k} in order — the same float operations, in the same
 * order, as {@link RowLogSoftmax} on the pixel's row. Only {@link PixelLogLikelihoodKernel} touches this class, and
 * only when the kernels are on (the vector API's module is present).
 */
final class PixelSoftmax {
  private static final VectorSpecies<Float> SPECIES = VectorExp.SPECIES;

  private PixelSoftmax() {}

  /**
   * For each of the {@code width} pixels: subtracts its maximum over the {@code classes} scores from them in place of
   * {@code a}, writes their exponentials into {@code e} and the exponentials' float sum, {@code 0 + e_0 + e_1 + ...},
   * into {@code sums}. {@code width} is a multiple of the vector lanes.
   */
  static void shiftExpSum(float[] a, float[] e, float[] sums, int classes, int width) {
    VectorSpecies<Float> s = SPECIES;
    for (int i = 0; i < width; i += s.length()) {
      FloatVector max = FloatVector.fromArray(s, a, i);
      for (int k = 1; k < classes; k++) {
        max = max.max(FloatVector.fromArray(s, a, k * width + i));
      }
      for (int k = 0; k < classes; k++) {
        FloatVector.fromArray(s, a, k * width + i).sub(max).intoArray(a, k * width + i);
      }
    }
    VectorExp.exp(a, e, classes * width);
    for (int i = 0; i < width; i += s.length()) {
      FloatVector sum = FloatVector.zero(s);
      for (int k = 0; k < classes; k++) {
        sum = sum.add(FloatVector.fromArray(s, e, k * width + i));
      }
      sum.intoArray(sums, i);
    }
  }

  /**
   * The log-softmax's gradient where the output's gradient is {@code dp} at the pixel's label and 0 elsewhere: {@code
   * g_k = [k = t] · dp − (e_k / s) · dp} into {@code g}, from the exponentials and sums of {@link #shiftExpSum}.
   * {@code labels} holds each pixel's label as a float, or −1 where it has none (then {@code dp} must be 0).
   */
  static void gradient(float[] e, float[] sums, float[] labels, float[] dp, float[] g, int classes, int width) {
    VectorSpecies<Float> s = SPECIES;
    FloatVector zero = FloatVector.zero(s);
    for (int i = 0; i < width; i += s.length()) {
      FloatVector sum = FloatVector.fromArray(s, sums, i);
      FloatVector d = FloatVector.fromArray(s, dp, i);
      FloatVector t = FloatVector.fromArray(s, labels, i);
      for (int k = 0; k < classes; k++) {
        FloatVector p = FloatVector.fromArray(s, e, k * width + i).div(sum);
        FloatVector dy = zero.blend(d, t.eq((float) k));
        dy.sub(p.mul(d)).intoArray(g, k * width + i);
      }
    }
  }
}
