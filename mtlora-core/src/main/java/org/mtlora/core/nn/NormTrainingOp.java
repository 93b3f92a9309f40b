package org.mtlora.core.nn;

import com.google.common.base.Preconditions;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * What the training norms computed in Java ({@link BatchNormTraining}, {@link LayerNormTraining}) share: the ε added to
 * the variance, which travels with a copy of the graph as the op's property {@code eps}.
 */
abstract class NormTrainingOp extends JavaComputedOp {
  private double eps;

  /** For SameDiff's copy of a graph (ε then comes from the properties). */
  NormTrainingOp() {}

  NormTrainingOp(String name, SameDiff sd, double eps, SDVariable... args) {
    super(name, sd, args);
    this.eps = eps;
  }

  /** ε, checked to have survived a graph copy. */
  final double eps() {
    Preconditions.checkState(eps > 0, "%s: epsilon was lost in a graph copy", getOwnName());
    return eps;
  }

  @Override
  public final Map<String, Object> propertiesForFunction() {
    return Map.of("eps", eps);
  }

  @Override
  public final void setPropertiesForFunction(Map<String, Object> properties) {
    if (properties.get("eps") instanceof Number n) {
      eps = n.doubleValue();
    }
  }
}
