package org.mtlora.core.graph;

import com.google.common.base.Preconditions;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Creates a graph's backward function without SameDiff's noise: 1.0.0-M2.1 prints one "Added differentiated op"
 * line to {@code System.out} for every op it differentiates (thousands for a Swin model). Call {@link #prepare} once
 * after building a training graph and before {@link #calculate}, {@code calculateGradients} or {@code fit}.
 *
 * <p>{@link #calculate} replaces SameDiff's {@code calculateGradientsAndOutputs}, which turns off the gradient
 * function's array release: its session then keeps every array of the forward and the backward until the run ends
 * (docs/performance.md, "Gradient sessions that release").
 */
public final class Gradients {
  private Gradients() {}

  /** Builds {@code sd}'s gradient function with {@code System.out} muted for the duration. */
  public static void prepare(SameDiff sd) {
    synchronized (System.class) {
      PrintStream original = System.out;
      System.setOut(new PrintStream(OutputStream.nullOutputStream()));
      try {
        sd.createGradFunction();
      } finally {
        System.setOut(original);
      }
    }
  }

  /**
   * Runs {@code sd}'s gradient function once: the values of {@code outputs} and the gradients of the loss with respect
   * to the variables {@code wrt}, the same as {@code sd.calculateGradientsAndOutputs(placeholders, outputs, wrt)},
   * but with the session releasing each intermediate array as soon as the ops that read it have run. SameDiff
   * 1.0.0-M2.1 disables that release for gradient functions ({@code setEnableCache(false)}), so its session holds the
   * whole forward and backward of the graph until the run ends: 4.66 GB for the recompute + backward of Swin-T's first
   * stage's last block at 448x448, batch 1, against a peak of 1.43 GB with the release on (docs/performance.md).
   * {@link #prepare} must have run. The run goes through this project's session ({@link SessionMemory#ensureSession}:
   * one is given where the thread has none or SameDiff's own), the only one that runs the ops computed in Java.
   *
   * <p>A variable of {@code wrt} that the loss does not depend on has no gradient and no entry in the result, as with
   * {@code calculateGradients}.
   *
   * @throws IllegalStateException if the gradient function was not prepared
   */
  public static OutAndGrad calculate(SameDiff sd, Map<String, INDArray> placeholders, Collection<String> outputs,
      Collection<String> wrt) {
    return calculate(sd, null, 0, null, placeholders, outputs, wrt);
  }

  /**
   * As {@link #calculate(SameDiff, Map, Collection, Collection)}, the gradient function run by {@code runner}: its
   * later runs with the same shapes replay the first one's ops ({@link ForwardRunner}), with new arrays from {@code
   * arena} (copy out what the result holds before resetting it) and at most {@code maxCacheBytes} of released ones
   * kept for reuse. Where the runner does not run it (listeners, {@code -Dmtlora.replay=false}) the run goes through
   * the gradient function's session, bound to the same arena ({@link SessionMemory#boundCache}).
   *
   * @param runner a runner of {@code sd}'s gradient function, or null to run it through its session
   * @throws IllegalArgumentException if {@code runner} runs another graph
   */
  public static OutAndGrad calculate(SameDiff sd, ForwardRunner runner, long maxCacheBytes, Arena arena,
      Map<String, INDArray> placeholders, Collection<String> outputs, Collection<String> wrt) {
    SameDiff grad = sd.getFunction("grad");
    Preconditions.checkState(grad != null, "the graph has no gradient function: call Gradients.prepare first");
    List<String> names = new ArrayList<>(outputs);
    Map<String, String> gradientOf = new HashMap<>();
    for (String name : wrt) {
      Preconditions.checkArgument(sd.hasVariable(name), "no variable '%s' in the graph", name);
      SDVariable g = sd.getVariable(name).getGradient();
      if (g != null) { // null: the loss does not depend on the variable (e.g. the shared stream after the last stage)
        gradientOf.put(name, g.name());
        names.add(g.name());
      }
    }
    grad.setEnableCache(true); // sd.calculateGradients* turn it off; on, the session releases arrays once used
    grad.setListeners(sd.getListeners());
    Map<String, INDArray> replayed = null;
    if (runner == null) {
      SessionMemory.ensureSession(sd); // this project's session, which runs the ops computed in Java (JavaOp)
    } else {
      Preconditions.checkArgument(runner.graph() == grad, "the runner runs another graph than the gradient function");
      replayed = runner.outputInArena(placeholders, names, maxCacheBytes, arena);
      if (replayed == null) {
        SessionMemory.boundCache(sd, maxCacheBytes, arena);
      }
    }
    Map<String, INDArray> values =
        replayed != null ? replayed : grad.output(placeholders, null, names.toArray(new String[0]));
    Map<String, INDArray> outs = new HashMap<>();
    outputs.forEach(name -> outs.put(name, values.get(name)));
    Map<String, INDArray> grads = new HashMap<>();
    gradientOf.forEach((name, g) -> grads.put(name, values.get(g)));
    return new OutAndGrad(outs, grads);
  }
}
