package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.RowPickKernel;
import org.mtlora.core.graph.SessionMemory;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.testing.GradientCheck;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class RowPickTest extends BlocksTestBase {
  private static final int N = 9;
  private static final int K = 4;
  /** In range, at both ends, and outside it: an ignore label (255), K itself and a negative one select nothing. */
  private static final int[] LABELS = {0, 3, 255, 2, 4, -1, 1, 3, 0};

  private static INDArray labels() {
    return Nd4j.createFromArray(LABELS);
  }

  /** x[i, t_i] and 1 where 0 ≤ t_i < K, else 0 and 0, by hand. */
  private static void assertPicked(INDArray x, INDArray picked, INDArray valid) {
    for (int i = 0; i < N; i++) {
      boolean in = LABELS[i] >= 0 && LABELS[i] < K;
      assertEquals(in ? x.getDouble(i, LABELS[i]) : 0.0, picked.getDouble(i), 0.0, "picked " + i);
      assertEquals(in ? 1.0 : 0.0, valid.getDouble(i), 0.0, "valid " + i);
    }
  }

  /** dx[i, t_i] = dpicked[i] where the label selects, zeros elsewhere (over a buffer that held garbage). */
  private static void assertScattered(INDArray dPicked, INDArray dx) {
    for (int i = 0; i < N; i++) {
      for (int k = 0; k < K; k++) {
        assertEquals(k == LABELS[i] ? dPicked.getDouble(i) : 0.0, dx.getDouble(i, k), 0.0, "dx " + i + "," + k);
      }
    }
  }

  @Test
  void picksEachRowsLabelledEntryInFloatAndDouble() {
    for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
      INDArray x = GradientCheck.randn(1, 1.0, N, K).castTo(type);
      INDArray[] out = compute(new RowPick(), new INDArray[] {x, labels()}, new long[] {N}, new long[] {N});
      assertPicked(x, out[0], out[1]);
    }
  }

  @Test
  void readsViewsAndFloatLabelsThroughTheGeneralPath() {
    INDArray x = GradientCheck.randn(2, 1.0, N, K).castTo(DataType.FLOAT);
    INDArray view = asView(x);
    assertTrue(view.isView());
    assertFalse(RowPickKernel.tryForward(view, labels(), Nd4j.create(DataType.FLOAT, N),
        Nd4j.create(DataType.FLOAT, N)));
    INDArray[] out = compute(new RowPick(), new INDArray[] {view, labels().castTo(DataType.FLOAT)}, new long[] {N},
        new long[] {N});
    assertPicked(x, out[0], out[1]);
  }

  @Test
  void gradientScattersIntoZerosInFloatAndDouble() {
    for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
      INDArray x = GradientCheck.randn(3, 1.0, N, K).castTo(type);
      INDArray dPicked = GradientCheck.randn(4, 1.0, N).castTo(type);
      try (var context = Nd4j.getExecutioner().buildContext()) {
        context.setInputArray(0, x);
        context.setInputArray(1, labels());
        context.setInputArray(2, dPicked);
        INDArray dx = Nd4j.valueArrayOf(new long[] {N, K}, 7.0, type); // what an arena's buffer may hold
        context.setOutputArray(0, dx);
        new RowPickGradient().compute(context);
        assertScattered(dPicked, dx);
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
  }

  /** In a graph the library's session runs, and differentiated: float64 gradient check of a weighted sum of picked. */
  @Test
  void gradientCheckInAGraph() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", GradientCheck.randn(5, 1.0, N, K));
    SDVariable[] pick = RowPick.apply(sd, x, sd.constant("t", labels()), K, DataType.DOUBLE);
    SessionMemory.ensureSession(sd);
    Map<String, INDArray> out = sd.output(Map.of(), pick[0].name(), pick[1].name());
    assertPicked(x.getArr(), out.get(pick[0].name()), out.get(pick[1].name()));
    gradCheck(sd, pick[0], Map.of());
  }

  /** A graph that is never differentiated holds SameDiff's one-hot composite, with the same values. */
  @Test
  void evaluationGraphsKeepTheOneHotComposite() {
    SameDiff sd = SameDiff.create();
    GraphContext.evaluation(sd, new ParameterRegistry(), DataType.FLOAT);
    INDArray x = GradientCheck.randn(6, 1.0, N, K).castTo(DataType.FLOAT);
    SDVariable[] pick = RowPick.apply(sd, sd.constant("x", x), sd.constant("t", labels()), K, DataType.FLOAT);
    List<String> ops = Arrays.stream(sd.ops()).map(o -> o.opName()).toList();
    assertTrue(ops.contains("onehot"), ops.toString());
    assertFalse(ops.contains(RowPick.NAME), ops.toString());
    Map<String, INDArray> out = sd.output(Map.of(), pick[0].name(), pick[1].name());
    assertPicked(x, out.get(pick[0].name()), out.get(pick[1].name()));
  }
}
