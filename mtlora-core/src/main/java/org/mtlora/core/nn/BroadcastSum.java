package org.mtlora.core.nn;

import com.google.common.base.Preconditions;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.mtlora.core.graph.GraphContext;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.ops.CustomOpDescriptor;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.util.HashUtil;

/**
 * The sum {@code y = x + b} of an array and a term broadcast along its leading axes: a bias {@code [C]} added to rows
 * {@code [N, C]}, a shift {@code [1, C]}, an attention bias {@code [nH, N, N]} added to scores {@code [B_, nH, N, N]}.
 * The forward is SameDiff's native {@code add}; the backward is
 *
 * <pre>
 *   dx = dy                                  (SameDiff's identity)
 *   db = 1^T reshape(dy, [-1, |b|])          (a product with a column of ones; nothing when b is a constant)
 * </pre>
 *
 * SameDiff 1.0.0-M2.1's own {@code add_bp} with a broadcast operand reduces over the leading axes with a strided
 * reduction, 9.8 ms for a bias of a {@code [12544, 384]} array against 1.1 ms for the copy and 0.75 ms for the
 * product (docs/performance.md), and computes that reduction for a frozen bias too, whose gradient is never read.
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class; the
 * term's shape travels with the copy as the op's property {@code termShape}.
 */
public final class BroadcastSum extends AddOp {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_broadcast_sum";
  private static final long ADD_HASH = HashUtil.getLongHash("add");

  /** The broadcast term's shape: the trailing axes of {@code x}, possibly after leading ones. */
  private int[] termShape;

  /** For SameDiff's copy of a graph. */
  public BroadcastSum() {}

  private BroadcastSum(SameDiff sd, SDVariable x, SDVariable term, int[] termShape) {
    super(sd, x, term);
    this.termShape = termShape;
  }

  /**
   * {@code x + term}, the term broadcast along the leading axes of {@code x}: this op in a graph that may be
   * differentiated, SameDiff's own add in an evaluation graph (stock ops only).
   *
   * @param x {@code [d0, ..., dk, t1, ..., tm]}
   * @param termShape the term's shape: {@code [t1, ..., tm]}, possibly with leading ones ({@code [1, C]})
   */
  public static SDVariable apply(SameDiff sd, SDVariable x, SDVariable term, long... termShape) {
    Preconditions.checkArgument(termShape.length > 0 && Arrays.stream(termShape).allMatch(d -> d > 0),
        "a broadcast term needs a known positive shape, found %s", Arrays.toString(termShape));
    long[] xShape = x.getShape();
    if (xShape != null) {
      Preconditions.checkArgument(broadcastsAlongLeadingAxes(xShape, termShape),
          "a term of shape %s does not match the trailing axes of %s", Arrays.toString(termShape),
          Arrays.toString(xShape));
    }
    if (GraphContext.isInferenceOnly(sd)) {
      return x.add(term);
    }
    CustomOps.register(NAME, BroadcastSum.class);
    return new BroadcastSum(sd, x, term, Arrays.stream(termShape).mapToInt(Math::toIntExact).toArray())
        .outputVariable();
  }

  /** {@link #apply} for a term whose shape is known in the graph (a parameter or a constant). */
  public static SDVariable apply(SameDiff sd, SDVariable x, SDVariable term) {
    long[] shape = term.getShape();
    Preconditions.checkArgument(shape != null, "the shape of %s is unknown; pass it", term.name());
    return apply(sd, x, term, shape);
  }

  /** Whether {@code term}, leading ones dropped, equals the trailing axes of {@code x} (-1: unknown, accepted). */
  static boolean broadcastsAlongLeadingAxes(long[] x, long[] term) {
    int lead = 0;
    while (lead < term.length - 1 && term[lead] == 1) {
      lead++;
    }
    int m = term.length - lead;
    if (m > x.length) {
      return false;
    }
    for (int i = 0; i < m; i++) {
      long xd = x[x.length - m + i];
      if (xd != -1 && xd != term[lead + i]) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String opName() {
    return NAME;
  }

  @Override
  public CustomOpDescriptor getDescriptor() {
    return Nd4j.getExecutioner().getCustomOperations().get("add");
  }

  @Override
  public long opHash() {
    return ADD_HASH;
  }

  @Override
  public Map<String, Object> propertiesForFunction() {
    return Map.of("termShape", termShape);
  }

  @Override
  public void setPropertiesForFunction(Map<String, Object> properties) {
    if (properties.get("termShape") instanceof int[] ints) {
      termShape = ints.clone();
    }
  }

  @Override
  public List<SDVariable> doDiff(List<SDVariable> grads) {
    Preconditions.checkState(termShape != null, "%s: the term's shape was lost in a graph copy", getOwnName());
    SDVariable dy = grads.get(0);
    SDVariable dx = sameDiff.identity(dy);
    SDVariable term = arg(1);
    SDVariable dTerm;
    if (term.getVariableType() == VariableType.CONSTANT) {
      // a constant has no gradient; SameDiff needs some array in its place, a scalar zero stands in
      dTerm = sameDiff.constant(Nd4j.scalar(dy.dataType(), 0));
    } else {
      long size = Arrays.stream(termShape).asLongStream().reduce(1, (a, b) -> a * b);
      SDVariable sums = ColumnSums.of(sameDiff, sameDiff.reshape(dy, -1, size), size);
      dTerm = sameDiff.reshape(sums, Arrays.stream(termShape).asLongStream().toArray());
    }
    return Arrays.asList(dx, dTerm);
  }
}
