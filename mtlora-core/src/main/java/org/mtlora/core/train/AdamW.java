package org.mtlora.core.train;

import com.google.common.base.Preconditions;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;
import org.mtlora.core.params.ParamSpec;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.updaters.AdamUpdater;
import org.nd4j.linalg.factory.Nd4j;

/**
 * AdamW as PyTorch's {@code torch.optim.AdamW} (decoupled weight decay), applied in place outside SameDiff's {@code
 * fit}, whose single updater cannot exempt some parameters from decay. Per step t (from 1):
 *
 * <pre>
 *   p  = p * (1 - lr * wd)                 only for parameters in the decay group
 *   m  = b1 m + (1 - b1) g
 *   v  = b2 v + (1 - b2) g^2
 *   p  = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * </pre>
 *
 * The reference's groups (reference-spec §5): no decay for 1-D tensors and names ending in {@code .bias}; decay for
 * everything else that trains (LoRA A/B and relative-position tables included).
 *
 * <p>Per tensor, the moments and the step come from libnd4j's fused {@code adam_updater} op, one native pass instead
 * of about ten element-wise ops. That op computes {@code lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + e)}, the
 * same as the last line above when {@code e = eps sqrt(1 - b2^t)}, which is what it is given. It forms the
 * coefficients of the moments in the arrays' type: in float32 {@code 1 - b2} is {@code 1 - (float) 0.999}, 1.3e-5
 * smaller than PyTorch's {@code (float) 0.001}, so float32 second moments differ from PyTorch's by that relative
 * amount (float64: equal to rounding). A step is three native calls per tensor (decay, the fused op, the
 * subtraction): on Swin-T MTLoRA's 305 trainable tensors 56-71 ms instead of 238-266 ms, on full fine-tuning's 209
 * tensors (29 M values) 91-136 ms instead of 523-709 ms (docs/performance.md, lever row "Fused AdamW step").
 */
public final class AdamW {
  /** First-moment decay (default 0.9). */
  private final double beta1;
  /** Second-moment decay (default 0.999). */
  private final double beta2;
  private final double eps;
  private final double weightDecay;
  private final Map<String, INDArray> m = new LinkedHashMap<>();
  private final Map<String, INDArray> v = new LinkedHashMap<>();
  private final Map<String, Boolean> decays = new LinkedHashMap<>();
  private long step;

  public AdamW(double beta1, double beta2, double eps, double weightDecay) {
    Preconditions.checkArgument(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1), found %s", beta1);
    Preconditions.checkArgument(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1), found %s", beta2);
    Preconditions.checkArgument(eps > 0, "eps must be positive, found %s", eps);
    Preconditions.checkArgument(weightDecay >= 0, "weightDecay must be >= 0, found %s", weightDecay);
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
  }

  /** The reference's settings: betas (0.9, 0.999), eps 1e-8, weight decay 0.05. */
  public static AdamW reference() {
    return new AdamW(0.9, 0.999, 1e-8, 0.05);
  }

  /** The reference's decay rule: no decay for 1-D tensors and biases. */
  public static final Predicate<ParamSpec> REFERENCE_DECAY =
      s -> !(s.shape().length <= 1 || s.name().endsWith(".bias"));

  /** Registers a parameter (zero moments) with its decay group. */
  public void add(String name, long[] shape, boolean decay, DataType type) {
    Preconditions.checkArgument(!m.containsKey(name), "parameter %s added twice", name);
    Preconditions.checkArgument(type == DataType.FLOAT || type == DataType.DOUBLE,
        "parameter %s: AdamW keeps float32 or float64 state, found %s", name, type);
    m.put(name, Nd4j.zeros(type, shape));
    v.put(name, Nd4j.zeros(type, shape));
    decays.put(name, decay);
  }

  /**
   * One update of every registered parameter, in place.
   *
   * @param params current values (updated in place)
   * @param grads gradients, same keys
   * @param lr learning rate of this step
   */
  public void update(Map<String, INDArray> params, Map<String, INDArray> grads, double lr) {
    Preconditions.checkArgument(Double.isFinite(lr) && lr >= 0, "learning rate must be finite and >= 0, found %s", lr);
    Preconditions.checkState(step < Integer.MAX_VALUE, "AdamW: step count %s exceeds the fused op's int range", step);
    for (Map.Entry<String, INDArray> e : m.entrySet()) { // all checked before anything changes
      String name = e.getKey();
      INDArray p = params.get(name);
      INDArray g = grads.get(name);
      Preconditions.checkState(p != null && g != null, "no value or gradient for %s", name);
      requireLike("value of " + name, e.getValue(), p);
      requireLike("gradient of " + name, e.getValue(), g);
    }
    step++;
    double bc1 = 1 - Math.pow(beta1, step);
    double sqrtBc2 = Math.sqrt(1 - Math.pow(beta2, step));
    // adam_updater scales by lr sqrt(bc2) / bc1 in the arrays' type and uses eps instead when that product is 0, so a
    // step that rounds to 0 there (lr 0, say) updates the moments and leaves the parameters alone
    double scale = lr * sqrtBc2 / bc1;
    for (Map.Entry<String, INDArray> e : m.entrySet()) {
      String name = e.getKey();
      INDArray p = params.get(name);
      INDArray g = grads.get(name);
      INDArray mt = e.getValue();
      INDArray vt = v.get(name);
      if (decays.get(name) && weightDecay > 0) {
        p.muli(1 - lr * weightDecay);
      }
      INDArray delta = g.ulike();
      Nd4j.exec(new AdamUpdater(g, vt, mt, delta, vt, mt, lr, beta1, beta2, eps * sqrtBc2, (int) (step - 1)));
      boolean moves = p.dataType() == DataType.DOUBLE ? scale != 0 : (float) scale != 0;
      if (moves) {
        p.subi(delta);
      }
      delta.close();
    }
  }

  /** {@code found} must have the type and shape of the moment array {@code state}. */
  private static void requireLike(String what, INDArray state, INDArray found) {
    Preconditions.checkArgument(found.dataType() == state.dataType() && Arrays.equals(found.shape(), state.shape()),
        "%s: expected %s %s, found %s %s", what, state.dataType(), Arrays.toString(state.shape()), found.dataType(),
        Arrays.toString(found.shape()));
  }

  /** Number of updates applied. */
  public long step() {
    return step;
  }

  /** Whether a parameter is in the decay group. */
  public boolean decays(String name) {
    return decays.get(name);
  }

  /** First moments (live arrays), for checkpoints. */
  public Map<String, INDArray> firstMoments() {
    return m;
  }

  /** Second moments (live arrays), for checkpoints. */
  public Map<String, INDArray> secondMoments() {
    return v;
  }

  /** Restores state from a checkpoint: moments are copied into the registered arrays. */
  public void restore(long step, Map<String, INDArray> first, Map<String, INDArray> second) {
    for (String name : m.keySet()) {
      Preconditions.checkArgument(first.containsKey(name) && second.containsKey(name),
          "checkpoint has no optimiser state for %s", name);
      m.get(name).assign(first.get(name));
      v.get(name).assign(second.get(name));
    }
    this.step = step;
  }
}
