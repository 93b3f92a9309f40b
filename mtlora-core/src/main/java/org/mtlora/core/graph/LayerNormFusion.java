package org.mtlora.core.graph;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.Variable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.reduce.floating.Mean;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.SubOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The layer norm of an evaluation graph ({@code LayerNorm} on rows), found in the graph so that {@link KernelSession}
 * computes it in fewer passes over its {@code [N, C]} arrays. Op by op it is
 *
 * <pre>
 *   m = reduce_mean(x)          c = subtract(x, m)       s = multiply(c, c)      v = reduce_mean(s)
 *   r = rsqrt(v + eps)          o = matmul(r, γ)  [N, 1]·[1, C]                 p = multiply(c, o)      y = p + β
 * </pre>
 *
 * Two groups are computed together, each on its own terms:
 *
 * <ul>
 *   <li><em>variance</em>: {@code subtract} writes {@code c} and keeps each row's mean of {@code c·c} (the squares
 *       formed in cache, a row at a time, and summed in {@link RowMeans#mean}'s order); {@code multiply(c, c)} is
 *       skipped and {@code reduce_mean(s)} writes the kept means — when {@code s} is read by that mean alone;
 *   <li><em>outer product</em>: {@code matmul(r, γ)} keeps copies of its two vectors and is skipped; {@code multiply(c,
 *       o)} computes {@code c[i, j] · (r[i] · γ[j])} — when {@code o} is read by that product alone.
 * </ul>
 *
 * Each rounds as the ops it replaces ({@code c·c}, then the mean; {@code r·γ}, then {@code c·} it), so the results
 * have their bits. A skipped op's array is allocated but never written; a group whose arrays the kernels do not take,
 * or whose skipped array a run asks for, runs op by op.
 */
final class LayerNormFusion extends Fusion {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  /** Below this many floats one thread does the whole array (as in the other kernels). */
  private static final int PARALLEL_MIN = 32_768;
  private static final ByteOrder ORDER = ByteOrder.nativeOrder();

  /** {@code c = subtract(x, m)}, {@code s = multiply(c, c)}, {@code v = reduce_mean(s)}: op names, and {@code s}. */
  record Variance(String subtract, String square, String mean, String squares) {}

  /** {@code o = matmul(r, γ)}, {@code p = multiply(c, o)}: op names, {@code o}, and which input of p is {@code c}. */
  record Outer(String outer, String product, String outerProduct, int centredInput) {}

  private final Map<String, Variance> variances = new HashMap<>();
  private final Map<String, Outer> outers = new HashMap<>();
  /** This run's kept row variances, by the mean op that writes them. */
  private final Map<String, float[]> keptVariances = new HashMap<>();
  /** This run's kept {@code {r, γ}} (float32), by the product op that reads them. */
  private final Map<String, float[][]> keptOuters = new HashMap<>();

  private LayerNormFusion() {}

  /** The groups of {@code sd}'s graph as it stands now. */
  static LayerNormFusion of(SameDiff sd) {
    LayerNormFusion f = new LayerNormFusion();
    for (SameDiffOp op : sd.getOps().values()) {
      Variance v = varianceEndingAt(sd, op);
      if (v != null) {
        for (String name : List.of(v.subtract(), v.square(), v.mean())) {
          f.variances.put(name, v);
        }
      }
      Outer o = outerEndingAt(sd, op);
      if (o != null) {
        f.outers.put(o.outer(), o);
        f.outers.put(o.product(), o);
      }
    }
    return f;
  }

  /** The number of variance groups and of outer-product groups. */
  int[] size() {
    return new int[] {variances.size() / 3, outers.size() / 2};
  }

  @Override
  void forgetRun() {
    keptVariances.clear();
    keptOuters.clear();
  }

  @Override
  Set<String> skippable() {
    Set<String> names = new HashSet<>();
    variances.values().forEach(v -> names.add(v.squares()));
    outers.values().forEach(o -> names.add(o.outerProduct()));
    return names;
  }

  @Override
  boolean exec(DifferentialFunction op, OpContext context) {
    String name = op.getOwnName();
    Variance v = variances.get(name);
    if (v != null) {
      return variance(v, name, context);
    }
    Outer o = outers.get(name);
    return o != null && outer(o, name, context);
  }

  private boolean variance(Variance v, String name, OpContext context) {
    if (name.equals(v.subtract())) {
      INDArray x = context.getInputArray(0);
      INDArray m = context.getInputArray(1);
      INDArray c = context.getOutputArray(0);
      if (requested(Set.of(v.squares())) || x == null || m == null || c == null || x.rank() != 2
          || !RowMeans.takesWidth(x.size(1)) || m.rank() != 2 || m.size(0) != x.size(0)
          || m.size(1) != 1 || !c.equalShapes(x) || x.length() > Integer.MAX_VALUE
          || !VectorKernels.wholeFloatBuffer(x) || !VectorKernels.wholeFloatBuffer(m)
          || !VectorKernels.wholeFloatBuffer(c)) {
        return false;
      }
      int rows = (int) x.size(0);
      float[] kept = new float[rows];
      centre(VectorKernels.nativeBytes(x), m.data().asNioFloat(), VectorKernels.nativeBytes(c), kept, rows,
          (int) x.size(1));
      keptVariances.put(v.mean(), kept);
      return true;
    }
    float[] kept = keptVariances.get(v.mean());
    if (kept == null) {
      return false;
    }
    if (name.equals(v.mean())) {
      keptVariances.remove(v.mean());
      countFused();
      INDArray out = context.getOutputArray(0);
      out.assign(Nd4j.createFromArray(kept).reshape(out.shape()));
    }
    return true;
  }

  private boolean outer(Outer o, String name, OpContext context) {
    if (name.equals(o.outer())) {
      INDArray r = context.getInputArray(0);
      INDArray g = context.getInputArray(1);
      if (requested(Set.of(o.outerProduct())) || r == null || g == null || r.dataType() != DataType.FLOAT
          || g.dataType() != DataType.FLOAT || r.rank() != 2 || g.rank() != 2 || r.size(1) != 1 || g.size(0) != 1
          || !Arrays.equals(KernelSession.transposes(context), new boolean[] {false, false})) {
        return false;
      }
      keptOuters.put(o.product(), new float[][] {r.toFloatVector(), g.toFloatVector()});
      return true;
    }
    float[][] kept = keptOuters.remove(o.product());
    if (kept == null) {
      return false;
    }
    countFused();
    INDArray c = context.getInputArray(o.centredInput());
    INDArray out = context.getOutputArray(0);
    int rows = kept[0].length;
    int width = kept[1].length;
    if (c.rank() == 2 && c.size(0) == rows && c.size(1) == width && out.equalShapes(c)
        && VectorKernels.wholeFloatBuffer(c) && VectorKernels.wholeFloatBuffer(out)) {
      scale(VectorKernels.nativeBytes(c), kept[0], kept[1], VectorKernels.nativeBytes(out));
    } else {
      INDArray product = Nd4j.createFromArray(kept[0]).reshape(rows, 1).mmul(Nd4j.createFromArray(kept[1])
          .reshape(1, width));
      out.assign(c.mul(product));
    }
    return true;
  }

  /** The variance group whose mean is {@code mean}, or null. */
  private static Variance varianceEndingAt(SameDiff sd, SameDiffOp mean) {
    if (!(mean.getOp() instanceof Mean) || size(mean.getInputsToOp()) != 1 || size(mean.getOutputsOfOp()) != 1) {
      return null;
    }
    int[] axes = mean.getOp().getDimensions();
    if (axes == null || axes.length != 1 || (axes[0] != 1 && axes[0] != -1)) {
      return null;
    }
    String squares = mean.getInputsToOp().get(0);
    SameDiffOp square = producerReadOnlyBy(sd, squares, mean.getName());
    if (square == null || !(square.getOp() instanceof MulOp) || size(square.getInputsToOp()) != 2
        || !square.getInputsToOp().get(0).equals(square.getInputsToOp().get(1))) {
      return null;
    }
    Variable centred = sd.getVariables().get(square.getInputsToOp().get(0));
    SameDiffOp subtract = centred == null || centred.getOutputOfOp() == null ? null
        : sd.getOps().get(centred.getOutputOfOp());
    if (subtract == null || !(subtract.getOp() instanceof SubOp) || size(subtract.getInputsToOp()) != 2
        || size(subtract.getOutputsOfOp()) != 1) {
      return null;
    }
    return new Variance(subtract.getName(), square.getName(), mean.getName(), squares);
  }

  /** The outer-product group whose product is {@code product}, or null. */
  private static Outer outerEndingAt(SameDiff sd, SameDiffOp product) {
    List<String> inputs = product.getInputsToOp();
    if (!(product.getOp() instanceof MulOp) || size(inputs) != 2 || size(product.getOutputsOfOp()) != 1
        || inputs.get(0).equals(inputs.get(1))) {
      return null;
    }
    for (int centred = 0; centred < 2; centred++) {
      String o = inputs.get(1 - centred);
      SameDiffOp outer = producerReadOnlyBy(sd, o, product.getName());
      if (outer != null && outer.getOp() instanceof Mmul && size(outer.getInputsToOp()) == 2) {
        return new Outer(outer.getName(), product.getName(), o, centred);
      }
    }
    return null;
  }

  /**
   * {@code c = x − m} row by row ({@code m} one value per row) and {@code variances[r]} the mean of row r's {@code
   * c·c}, each square rounded to float and summed as {@link RowMeans#mean} sums. {@code x} and {@code c} are native
   * memory read and written in place ({@link VectorKernels#nativeBytes}).
   */
  static void centre(ByteBuffer x, FloatBuffer m, ByteBuffer c, float[] variances, int rows, int width) {
    VectorKernels.inParts(rows, (long) rows * width, PARALLEL_MIN, (first, end) -> {
      float[] squares = new float[width];
      int lanes = SPECIES.length();
      for (int row = first; row < end; row++) {
        float mean = m.get(row);
        int start = 4 * row * width;
        int i = 0;
        for (; i + lanes <= width; i += lanes) {
          FloatVector centred = FloatVector.fromByteBuffer(SPECIES, x, start + 4 * i, ORDER).sub(mean);
          centred.intoByteBuffer(c, start + 4 * i, ORDER);
          centred.mul(centred).intoArray(squares, i);
        }
        for (; i < width; i++) {
          float centred = x.getFloat(start + 4 * i) - mean;
          c.putFloat(start + 4 * i, centred);
          squares[i] = centred * centred;
        }
        variances[row] = RowMeans.mean(squares, 0, width);
      }
    });
  }

  /** {@code out[i, j] = c[i, j] · (r[i] · g[j])} for {@code c} of {@code r.length} rows of {@code g.length}. */
  static void scale(ByteBuffer c, float[] r, float[] g, ByteBuffer out) {
    int rows = r.length;
    int width = g.length;
    VectorKernels.inParts(rows, (long) rows * width, PARALLEL_MIN, (first, end) -> {
      int lanes = SPECIES.length();
      for (int row = first; row < end; row++) {
        float factor = r[row];
        int start = 4 * row * width;
        int j = 0;
        for (; j + lanes <= width; j += lanes) {
          FloatVector.fromArray(SPECIES, g, j).mul(factor)
              .mul(FloatVector.fromByteBuffer(SPECIES, c, start + 4 * j, ORDER))
              .intoByteBuffer(out, start + 4 * j, ORDER);
        }
        for (; j < width; j++) {
          out.putFloat(start + 4 * j, c.getFloat(start + 4 * j) * (factor * g[j]));
        }
      }
    });
  }
}
