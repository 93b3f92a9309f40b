package org.mtlora.core.nn;

import com.google.common.base.Preconditions;
import org.mtlora.core.graph.GraphContext;
import java.util.Arrays;
import java.util.List;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.util.HashUtil;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.shape.Gather;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Reorders the rows of each sample by a fixed permutation: {@code y[b, p, :] = x[b, order[p], :]} for {@code x} of
 * shape {@code [B, L, C]}. The forward is SameDiff's native {@code gather}; the backward is the adjoint of a
 * permutation, the gather with the inverse permutation, {@code dx[b, q, :] = dy[b, inverse[q], :]} (SameDiff's own
 * gather backward is wrong, see samediff-notes). One copy, where a cyclic shift and a window partition built from
 * slices, concats and permutes take three to five, forward and backward.
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class RowPermutation extends Gather {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_row_permutation";
  private static final long GATHER_HASH = HashUtil.getLongHash("gather");

  /** For SameDiff's copy of a graph. */
  public RowPermutation() {}

  private RowPermutation(SameDiff sd, SDVariable x, SDVariable order) {
    super(sd, x, order, 1);
  }

  /**
   * {@code x} {@code [B, L, C]} with the rows of each sample in the order {@code order} (a permutation of {@code
   * 0..L-1}) stored as the integer constant {@code name} (shared when it exists). In an evaluation graph (see {@code
   * GraphContext#evaluation}) SameDiff's own gather, so that the graph holds stock ops only.
   */
  public static SDVariable apply(SameDiff sd, SDVariable x, int[] order, String name) {
    int[] sorted = order.clone();
    Arrays.sort(sorted);
    for (int i = 0; i < sorted.length; i++) {
      Preconditions.checkArgument(sorted[i] == i, "%s is not a permutation of 0..%s", name, order.length - 1);
    }
    SDVariable index = sd.hasVariable(name) ? sd.getVariable(name) : sd.constant(name, Nd4j.createFromArray(order));
    if (GraphContext.isInferenceOnly(sd)) { // never differentiated: SameDiff's own gather, a stock op
      return sd.gather(x, index, 1);
    }
    CustomOps.register(NAME, RowPermutation.class);
    return new RowPermutation(sd, x, index).outputVariable();
  }

  @Override
  public String opName() {
    return NAME;
  }

  @Override
  public org.nd4j.linalg.api.ops.CustomOpDescriptor getDescriptor() {
    return Nd4j.getExecutioner().getCustomOperations().get("gather");
  }

  @Override
  public int getNumOutputs() {
    return 1;
  }

  /** The axis, under gather's property name (SameDiff's serialised copy looks properties up by op name otherwise). */
  @Override
  public java.util.Map<String, Object> propertiesForFunction() {
    return java.util.Map.of("dimensions", (long) jaxis);
  }

  @Override
  public long opHash() {
    return GATHER_HASH;
  }

  @Override
  public List<SDVariable> doDiff(List<SDVariable> grads) {
    SDVariable order = arg(1);
    Preconditions.checkState(order.getVariableType() == VariableType.CONSTANT, "the order must be a constant");
    int[] forward = order.getArr().toIntVector();
    int[] inverse = new int[forward.length];
    for (int p = 0; p < forward.length; p++) {
      inverse[forward[p]] = p;
    }
    String name = order.name() + ".inverse";
    SDVariable inv = sameDiff.hasVariable(name) ? sameDiff.getVariable(name)
        : sameDiff.constant(name, Nd4j.createFromArray(inverse));
    SDVariable dx = sameDiff.gather(grads.get(0), inv, 1);
    // the integer order has no gradient; SameDiff needs some array in its place, a scalar zero stands in
    SDVariable unused = sameDiff.constant(Nd4j.scalar(DataType.FLOAT, 0));
    return Arrays.asList(dx, unused);
  }
}
