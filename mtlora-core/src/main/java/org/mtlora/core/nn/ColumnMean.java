package org.mtlora.core.nn;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ops.CustomOpDescriptor;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.util.HashUtil;

/**
 * The weighted column sums {@code m = wᵀ x} ({@code w [M, 1]}, {@code x [M, C]}, {@code m [1, C]}) of {@link
 * ColumnCentring#statistics}: SameDiff's native {@code matmul}, with a backward that reads the weights only, {@code
 * dx = w dm}, and forms no gradient for {@code w} (made from the shape of {@code x}). SameDiff's own {@code matmul_bp}
 * would read {@code x} too, keeping it alive until the backward.
 *
 * <p>Registered with SameDiff's op registry like {@link FrozenWeightMatmul}, so that a graph copy keeps the class.
 */
public final class ColumnMean extends Mmul {
  /** The op name under which the class is registered. */
  static final String NAME = "mtlora_column_mean";
  private static final long MATMUL_HASH = HashUtil.getLongHash("matmul");

  /** For SameDiff's copy of a graph. */
  public ColumnMean() {}

  private ColumnMean(SameDiff sd, SDVariable weights, SDVariable x) {
    super(sd, weights, x, true, false, false);
  }

  static SDVariable of(SameDiff sd, SDVariable weights, SDVariable x) {
    CustomOps.register(NAME, ColumnMean.class);
    return new ColumnMean(sd, weights, x).outputVariable();
  }

  @Override
  public String opName() {
    return NAME;
  }

  @Override
  public CustomOpDescriptor getDescriptor() {
    return Nd4j.getExecutioner().getCustomOperations().get("matmul");
  }

  @Override
  public int getNumOutputs() {
    return 1;
  }

  @Override
  public long opHash() {
    return MATMUL_HASH;
  }

  @Override
  public List<SDVariable> doDiff(List<SDVariable> grads) {
    SDVariable dm = grads.get(0);
    SDVariable weights = arg(0);
    SDVariable dx = sameDiff.mmul(weights, dm); // [M, 1] x [1, C]
    SDVariable unused = sameDiff.constant(Nd4j.scalar(dm.dataType(), 0));
    return Arrays.asList(unused, dx);
  }
}
