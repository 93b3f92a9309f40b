package org.mtlora.core.graph;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMultiplication;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erfc;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The exact GELU of an evaluation graph, found in the graph so that {@link KernelSession} can compute its four ops in
 * one pass. {@code Gelu} builds it as
 *
 * <pre>
 *   a = mul_scalar(x, α)     α = −1/√2
 *   b = erfc(a)
 *   e = mul_scalar(b, β)     β = 0.5
 *   y = multiply(x, e)
 * </pre>
 *
 * four passes over a 4C-wide hidden layer, where one pass ({@link VectorErfc#erfcProduct}) reads {@code x} and writes
 * {@code y} with the same bits. A <em>chain</em> is those four ops with {@code a}, {@code b} and {@code e} each read by
 * the next op alone, whatever {@code α} and {@code β} are. The session skips {@code a}, {@code b} and {@code e} (their
 * arrays are allocated but never written) and computes {@code y} at {@code multiply}, whose inputs still hold {@code
 * x}; it decides at {@code a}, so that a chain whose {@code x} the kernel does not take, or whose intermediates a run
 * asks for, runs op by op. The graph keeps SameDiff's four ops: it saves, loads and runs anywhere as before.
 */
final class GeluFusion extends Fusion {
  /**
   * One chain: the names of its four ops, the names of the three intermediates, which input of {@code multiply} is
   * {@code x}, and the two scalars.
   */
  record Chain(String first, String erfc, String scale, String last, Set<String> intermediates, int xInput,
      float alpha, float beta) {}

  /** Every chain by the name of each of its four ops. */
  private final Map<String, Chain> byOp;
  /** This run's chains computed in one pass, by their last op, from their first op on. */
  private final Set<String> fusing = new HashSet<>();

  private GeluFusion(Map<String, Chain> byOp) {
    this.byOp = byOp;
  }

  /** The chains of {@code sd}'s graph as it stands now. */
  static GeluFusion of(SameDiff sd) {
    Map<String, Chain> byOp = new HashMap<>();
    for (SameDiffOp op : sd.getOps().values()) {
      Chain chain = chainEndingAt(sd, op);
      if (chain != null) {
        for (String name : List.of(chain.first(), chain.erfc(), chain.scale(), chain.last())) {
          byOp.put(name, chain);
        }
      }
    }
    return new GeluFusion(byOp);
  }

  /** The chain {@code op} belongs to, or null. */
  Chain chainOf(String opName) {
    return byOp.get(opName);
  }

  /** The number of chains. */
  int size() {
    return byOp.size() / 4;
  }

  @Override
  void forgetRun() {
    fusing.clear();
  }

  @Override
  Set<String> skippable() {
    Set<String> names = new HashSet<>();
    byOp.values().forEach(c -> names.addAll(c.intermediates()));
    return names;
  }

  /**
   * At a chain's first op, decides (the kernel takes {@code x} and no intermediate is asked for) and skips it; at its
   * {@code erfc} and scaling, skips them; at its {@code multiply}, writes the whole chain's result.
   */
  @Override
  boolean exec(DifferentialFunction op, OpContext context) {
    String name = op.getOwnName();
    Chain chain = byOp.get(name);
    if (chain == null) {
      return false;
    }
    if (name.equals(chain.first())) {
      INDArray x = context.getInputArray(0);
      if (x == null || !VectorKernels.wholeFloatBuffer(x) || requested(chain.intermediates())) {
        return false;
      }
      fusing.add(chain.last());
      return true;
    }
    if (!fusing.contains(chain.last())) {
      return false;
    }
    if (name.equals(chain.last())) {
      fusing.remove(chain.last());
      countFused();
      erfcProduct(context.getInputArray(chain.xInput()), chain.alpha(), chain.beta(), context.getOutputArray(0));
    }
    return true;
  }

  /**
   * {@code out = x · (beta · erfc(alpha · x))}: on the kernel, or, for an output it does not take, with libnd4j's ops
   * (the same values as the chain's ops op by op).
   */
  static void erfcProduct(INDArray x, float alpha, float beta, INDArray out) {
    if (!VectorKernels.tryErfcProduct(x, alpha, beta, out)) {
      INDArray e = x.mul(alpha);
      Nd4j.exec(new Erfc(e, e));
      out.assign(x.mul(e.muli(beta)));
    }
  }

  /** The chain whose {@code multiply} is {@code last}, or null when {@code last} ends none. */
  private static Chain chainEndingAt(SameDiff sd, SameDiffOp last) {
    List<String> inputs = last.getInputsToOp();
    if (!(last.getOp() instanceof MulOp) || size(inputs) != 2 || size(last.getOutputsOfOp()) != 1) {
      return null;
    }
    for (int xInput = 0; xInput < 2; xInput++) {
      String x = inputs.get(xInput);
      SameDiffOp scale = soleProducer(sd, inputs.get(1 - xInput), last);
      SameDiffOp erfc = scale == null ? null : soleProducer(sd, scale.getInputsToOp().get(0), scale);
      SameDiffOp first = erfc == null ? null : soleProducer(sd, erfc.getInputsToOp().get(0), erfc);
      if (scale != null && erfc != null && first != null
          && scale.getOp() instanceof ScalarMultiplication && erfc.getOp() instanceof Erfc
          && first.getOp() instanceof ScalarMultiplication && first.getInputsToOp().get(0).equals(x)) {
        Float alpha = scalar(first.getOp());
        Float beta = scalar(scale.getOp());
        if (alpha != null && beta != null) {
          return new Chain(first.getName(), erfc.getName(), scale.getName(), last.getName(),
              Set.of(first.getOutputsOfOp().get(0), erfc.getOutputsOfOp().get(0), scale.getOutputsOfOp().get(0)),
              xInput, alpha, beta);
        }
      }
    }
    return null;
  }

  /** The one-input op that computes {@code variable} when {@link #producerReadOnlyBy} finds it, else null. */
  private static SameDiffOp soleProducer(SameDiff sd, String variable, SameDiffOp reader) {
    SameDiffOp producer = producerReadOnlyBy(sd, variable, reader.getName());
    return producer != null && size(producer.getInputsToOp()) == 1 ? producer : null;
  }

  /** A {@code mul_scalar}'s scalar as a float, or null when it has none. */
  static Float scalar(DifferentialFunction op) {
    INDArray s = ((ScalarMultiplication) op).scalar();
    return s == null || s.length() != 1 ? null : s.getFloat(0);
  }
}
