package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.autodiff.samediff.internal.memory.AbstractMemoryMgr;
import org.nd4j.autodiff.samediff.internal.memory.ArrayCacheMemoryMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.factory.Nd4j;

class GradientsTest {
  private static final INDArray X = Nd4j.createFromArray(new float[][] {{1, 2, 3}, {-1, 0, 2}});

  /**
   * loss = sum(relu(x·W + b)²), with a variable {@code unused} the loss does not read. By hand, for the x above and
   * W = [[1, -2], [0.5, 1], [-1, 3]], b = [1, 0]: x·W + b = [[0, 9], [-2, 8]], relu → h = [[0, 9], [0, 8]],
   * loss = 81 + 64 = 145; dL/dh = 2h, masked by h > 0: G = [[0, 18], [0, 16]]; dL/dW = xᵀ·G = [[0, 2], [0, 36],
   * [0, 86]]; dL/db = column sums of G = [0, 34].
   */
  private static SameDiff graph() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 3);
    SDVariable w = sd.var("w", Nd4j.createFromArray(new float[][] {{1, -2}, {0.5f, 1}, {-1, 3}}));
    SDVariable b = sd.var("b", Nd4j.createFromArray(1f, 0f));
    sd.var("unused", Nd4j.createFromArray(5f));
    SDVariable h = sd.nn().relu(x.mmul(w).add(b), 0).rename("h");
    h.mul(h).sum().rename("loss");
    sd.setLossVariables("loss");
    Gradients.prepare(sd);
    return sd;
  }

  @Test
  void gradientsAndOutputsMatchTheHandComputedValuesAndSameDiffsOwn() {
    SameDiff sd = graph();
    OutAndGrad ours = Gradients.calculate(sd, Map.of("x", X), List.of("loss", "h"), List.of("w", "b", "unused"));
    assertEquals(145f, ours.getOutputs().get("loss").getFloat(0), 0f);
    assertEquals(Nd4j.createFromArray(new float[][] {{0, 9}, {0, 8}}), ours.getOutputs().get("h"));
    assertEquals(Nd4j.createFromArray(new float[][] {{0, 2}, {0, 36}, {0, 86}}), ours.getGradients().get("w"));
    assertEquals(Nd4j.createFromArray(0f, 34f), ours.getGradients().get("b"));
    assertFalse(ours.getGradients().containsKey("unused"), "the loss does not depend on 'unused'");

    OutAndGrad theirs = sd.calculateGradientsAndOutputs(Map.of("x", X), List.of("loss", "h"), List.of("w", "b"));
    assertEquals(theirs.getOutputs(), ours.getOutputs());
    assertEquals(theirs.getGradients(), ours.getGradients());
    // SameDiff's call switched the release off again; ours switches it back on and still agrees
    assertEquals(ours.getGradients(), Gradients.calculate(sd, Map.of("x", X), List.of(), List.of("w", "b"))
        .getGradients());
  }

  /**
   * A chain of ten doublings of a 100x100 variable: each step's array is read by the next step only (the backward of
   * a doubling does not read its input), so a session that releases arrays once used holds two or three at a time.
   */
  private static SameDiff chain() {
    SameDiff sd = SameDiff.create();
    SDVariable h = sd.var("w", Nd4j.rand(DataType.FLOAT, 100, 100));
    for (int i = 0; i < 10; i++) {
      h = h.mul(2.0);
    }
    h.sum().rename("loss");
    sd.setLossVariables("loss");
    Gradients.prepare(sd);
    return sd;
  }

  @Test
  void theGradientSessionReleasesArraysOnceUsed() {
    SameDiff sd = chain();
    PeakCounter ours = PeakCounter.install(sd);
    INDArray g = Gradients.calculate(sd, Map.of(), List.of(), List.of("w")).getGradients().get("w");
    PeakCounter theirs = PeakCounter.install(sd);
    assertEquals(Nd4j.valueArrayOf(new long[] {100, 100}, 1024f), g); // d(2¹⁰ w)/dw, summed
    assertEquals(g, sd.calculateGradients(Map.of(), List.of("w")).get("w"));
    // SameDiff's call keeps the 20 arrays of 40 kB (forward and backward) to the end; ours a few at a time
    assertTrue(theirs.peakBytes >= 15 * 40_000L, "SameDiff's peak " + theirs.peakBytes);
    assertTrue(ours.peakBytes <= 5 * 40_000L, "peak " + ours.peakBytes + " against " + theirs.peakBytes);
  }

  /** Live bytes of the gradient function's session, and their peak. */
  private static final class PeakCounter extends AbstractMemoryMgr {
    private final ArrayCacheMemoryMgr inner = new ArrayCacheMemoryMgr();
    private final Map<INDArray, Long> live = new IdentityHashMap<>();
    private long liveBytes;
    long peakBytes;

    static PeakCounter install(SameDiff sd) {
      SessionMemory.boundCache(sd, 0); // fresh sessions; the counter replaces the gradient session's manager
      PeakCounter c = new PeakCounter();
      sd.getFunction("grad").getSessions().get(Thread.currentThread().getId()).setMmgr(c);
      return c;
    }

    private INDArray counted(INDArray a) {
      long bytes = a.length() * a.dataType().width();
      live.put(a, bytes);
      liveBytes += bytes;
      peakBytes = Math.max(peakBytes, liveBytes);
      return a;
    }

    @Override
    public INDArray allocate(boolean detached, DataType dataType, long... shape) {
      return counted(inner.allocate(detached, dataType, shape));
    }

    @Override
    public INDArray allocate(boolean detached, LongShapeDescriptor descriptor) {
      return counted(inner.allocate(detached, descriptor));
    }

    @Override
    public void release(INDArray array) {
      Long bytes = live.remove(array);
      liveBytes -= bytes == null ? 0 : bytes;
      inner.release(array);
    }

    @Override
    public void close() {
      inner.close();
    }
  }

  @Test
  void withoutAGradientFunctionTheCallSaysWhatToDo() {
    SameDiff sd = SameDiff.create();
    sd.var("w", Nd4j.createFromArray(1f)).mul(2).rename("loss");
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> Gradients.calculate(sd, Map.of(), List.of("loss"), List.of("w")));
    assertTrue(e.getMessage().contains("Gradients.prepare"), e.getMessage());
  }
}
