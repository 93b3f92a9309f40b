package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.Gradients;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.testing.GradientCheck;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

@org.junit.jupiter.api.extension.ExtendWith(org.mtlora.core.testing.DoublePrecision.class)
class ColumnCentringTest {
  /** Hand-computed: columns [1, 3, 8] and [2, -2, 6] have means 4 and 2, over rows of unknown number. */
  @Test
  void centresEachColumnByHand() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.DOUBLE, -1, 2);
    ColumnCentring.Statistics stats = ColumnCentring.statistics(sd, x, 2);
    SDVariable m = stats.mean();
    SDVariable y = stats.centred();
    Map<String, INDArray> feed = Map.of("x", Nd4j.createFromArray(new double[][] {{1, 2}, {3, -2}, {8, 6}}));
    Map<String, INDArray> out = sd.output(feed, m.name(), y.name());
    assertArrayEquals(new long[] {1, 2}, out.get(m.name()).shape());
    assertArrayEquals(new double[] {4, 2}, out.get(m.name()).reshape(2).toDoubleVector(), 1e-15);
    assertArrayEquals(new double[] {-3, 0, -1, -4, 4, 4}, out.get(y.name()).reshape(6).toDoubleVector(), 1e-15);
  }

  /**
   * A batch norm on rows over a batch of unknown size: values against loops, float64 gradient check, and no backward
   * op that reads the norm's input or its squares (SameDiff's reduce_mean_bp and subtract_bp would).
   */
  @Test
  void batchNormOnRowsWithoutReduceMeanBackward() {
    SameDiff sd = SameDiff.create();
    SDVariable in = sd.placeHolder("in", DataType.DOUBLE, -1, 3);
    SDVariable x = sd.math.tanh(in.mul(sd.var("s", GradientCheck.randn(1, 1.0, 1, 3))));
    // without γ and β: the composite of ColumnCentring (with them, a batch norm on rows is one op, BatchNormTraining)
    BatchNorm.TrainOutput out = BatchNorm.train(sd, x, 2, 3, null, null, 1e-5);
    Map<String, INDArray> feed = Map.of("in", GradientCheck.randn(4, 1.0, 5, 3));
    INDArray xv = Nd4j.math().tanh(feed.get("in").mulRowVector(sd.getVariable("s").getArr()));
    INDArray expected = Nd4j.create(DataType.DOUBLE, 5, 3);
    for (int c = 0; c < 3; c++) {
      double mean = 0;
      for (int r = 0; r < 5; r++) {
        mean += xv.getDouble(r, c) / 5;
      }
      double var = 0;
      for (int r = 0; r < 5; r++) {
        var += Math.pow(xv.getDouble(r, c) - mean, 2) / 5;
      }
      for (int r = 0; r < 5; r++) {
        expected.putScalar(r, c, (xv.getDouble(r, c) - mean) / Math.sqrt(var + 1e-5));
      }
    }
    INDArray y = sd.output(feed, out.output().name()).get(out.output().name());
    assertTrue(expected.equalsWithEps(y, 1e-12), y + " vs " + expected);
    SDVariable loss = GradientCheck.weightedSumLoss(sd, out.output(), feed);
    GradientCheck.assertPasses(sd, loss.name(), feed);
    List<String> gradOps = Arrays.stream(sd.getFunction("grad").ops()).map(o -> o.opName()).toList();
    assertFalse(gradOps.contains("reduce_mean_bp") || gradOps.contains("subtract_bp"), gradOps.toString());
  }

  /**
   * What the statistics keep for the backward, in a float32 graph (statistics in float64): no backward op reads the
   * float64 copy of the input or the squares (the input itself is read by the scale's backward, {@code Σ dy ⊙ x}).
   */
  @Test
  void theStatisticsKeepNothingForTheBackward() {
    SameDiff sd = SameDiff.create();
    SDVariable in = sd.placeHolder("in", DataType.FLOAT, -1, 3);
    SDVariable x = sd.math.tanh(in.mul(sd.var("s", Nd4j.ones(DataType.FLOAT, 1, 3))));
    BatchNorm.TrainOutput out = BatchNorm.train(sd, x, 2, 3, null, null, 1e-5);
    sd.setLossVariables(sd.sum("loss", out.output().mul(out.output())));
    Gradients.prepare(sd);
    SameDiff grad = sd.getFunction("grad");
    List<String> statisticsInputs = Arrays.stream(sd.ops())
        .filter(o -> o.opName().equals(ColumnMean.NAME)).map(o -> o.arg(1).name()).toList();
    assertEquals(2, statisticsInputs.size(), "the mean's and the variance's input");
    List<String> backwardReaders = statisticsInputs.stream()
        .flatMap(n -> grad.getVariables().get(n).getInputsForOp().stream())
        .filter(op -> !sd.getOps().containsKey(op)).toList();
    assertEquals(List.of(), backwardReaders);
  }

  /** An evaluation graph keeps SameDiff's stock mean and subtract. */
  @Test
  void evaluationGraphsKeepTheStockOps() {
    SameDiff sd = SameDiff.create();
    GraphContext.evaluation(sd, new ParameterRegistry(), DataType.DOUBLE);
    SDVariable x = sd.var("x", Nd4j.ones(DataType.DOUBLE, 2, 3));
    SDVariable y = ColumnCentring.statistics(sd, x, 3).centred();
    assertEquals("subtract", y.getCreator().opName());
  }
}
