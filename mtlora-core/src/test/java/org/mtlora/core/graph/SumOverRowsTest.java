package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** {@link SumOverRows} against sums in float64, and its use by the session for {@code reduce_sum} over rows. */
class SumOverRowsTest {
  private static INDArray random(long rows, long columns, int seed) {
    Nd4j.getRandom().setSeed(seed);
    return Nd4j.randn(DataType.FLOAT, rows, columns).addi(0.5); // a mean away from zero: long sums grow
  }

  /** {@code Σ_r x[r, c]} in float64, and {@code Σ_r |x[r, c]|} for the tolerance. */
  private static double[][] expected(INDArray x) {
    long rows = x.size(0);
    long columns = x.size(1);
    double[][] sums = new double[2][(int) columns];
    for (int c = 0; c < columns; c++) {
      for (int r = 0; r < rows; r++) {
        double term = x.getDouble(r, c);
        sums[0][c] += term;
        sums[1][c] += Math.abs(term);
      }
    }
    return sums;
  }

  private static void assertClose(double[][] expected, INDArray actual, String what) {
    for (int c = 0; c < expected[0].length; c++) {
      // the bound of a float sum of 256 terms (each block; the blocks are added in double) and the final rounding
      double u = Math.ulp(1f) / 2;
      double tolerance = SumOverRows.BLOCK_ROWS * u * expected[1][c] + u * Math.abs(expected[0][c]) + 1e-30;
      assertEquals(expected[0][c], actual.getDouble(c), tolerance, what + ", column " + c);
    }
  }

  @Test
  void columnSumsAreTheFloat64SumsWithinTheBlockBound() {
    // rows around the block of 256, columns around the lane count and the column block of 4096
    for (int[] shape : new int[][] {{16384, 1}, {1024, 17}, {255, 1080}, {257, 96}, {3136, 270}, {600, 513},
        {7, 4097}, {300, 8200}}) {
      INDArray x = random(shape[0], shape[1], shape[0] + shape[1]);
      INDArray sum = Nd4j.create(DataType.FLOAT, shape[1]);
      assertTrue(SumOverRows.trySum(x, new int[] {0}, sum), shape[0] + " x " + shape[1]);
      assertClose(expected(x), sum, shape[0] + " x " + shape[1]);
    }
  }

  @Test
  void longSumsStayWithinTheBlockBoundWhereAFloatSumOfAllRowsDrifts() {
    int rows = 1 << 18; // a quarter of a million equal terms: the worst case for rounding, every error the same way
    INDArray x = Nd4j.ones(DataType.FLOAT, rows, 16).muli(0.1f);
    INDArray sum = Nd4j.create(DataType.FLOAT, 16);
    assertTrue(SumOverRows.trySum(x, new int[] {0}, sum));
    double exact = rows * (double) 0.1f;
    float sequential = 0f;
    for (int r = 0; r < rows; r++) {
      sequential += 0.1f;
    }
    double u = Math.ulp(1f) / 2;
    double error = Math.abs(sum.getFloat(0) - exact);
    assertTrue(error <= SumOverRows.BLOCK_ROWS * u * exact, "within the bound of 256-term float sums: " + error);
    assertTrue(Math.abs(sequential - exact) > 10 * error, "a float sum of all rows drifts: " + sequential);
    for (int c = 1; c < 16; c++) {
      assertEquals(sum.getFloat(0), sum.getFloat(c), "every column in the same order");
    }
  }

  @Test
  void whatTheKernelDoesNotTakeIsLeftUntouched() {
    INDArray x = random(300, 64, 1);
    INDArray out = Nd4j.create(DataType.FLOAT, 64).assign(7);
    assertFalse(SumOverRows.trySum(x, new int[] {1}, Nd4j.create(DataType.FLOAT, 300)), "over the columns");
    assertFalse(SumOverRows.trySum(x, new int[] {0, 1}, Nd4j.create(DataType.FLOAT, 1)), "over both axes");
    assertFalse(SumOverRows.trySum(x.dup('f'), new int[] {0}, out), "F order");
    assertFalse(SumOverRows.trySum(x.castTo(DataType.DOUBLE), new int[] {0}, out), "float64");
    assertFalse(SumOverRows.trySum(random(8, 64, 5), new int[] {0}, out), "below the minimum");
    assertFalse(SumOverRows.trySum(x.get(NDArrayIndex.interval(0, 290), NDArrayIndex.all()), new int[] {0}, out),
        "a view");
    assertFalse(SumOverRows.trySum(x.reshape(300, 8, 8), new int[] {0}, out), "rank 3");
    assertEquals(7f, out.minNumber().floatValue());
    assertEquals(7f, out.maxNumber().floatValue());
  }

  @Test
  void sessionsRunSumsOverRowsOnTheKernel() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 200);
    sd.identity("sum", x.sum(0));
    sd.identity("rows", x.sum(1)); // over the other axis: libnd4j's
    INDArray xv = random(700, 200, 8);
    Map<String, INDArray> out = new ForwardRunner(sd).output(Map.of("x", xv), List.of("sum", "rows"), 1 << 20);
    INDArray sum = Nd4j.create(DataType.FLOAT, 200);
    assertTrue(SumOverRows.trySum(xv, new int[] {0}, sum));
    assertArrayEquals(sum.toFloatVector(), out.get("sum").toFloatVector(), 0f, "the kernel's bits");
    assertFalse(Arrays.equals(sum.toFloatVector(), xv.sum(0).toFloatVector()),
        "libnd4j's own sums differ in some column: the comparison above tells the two apart");
    assertClose(expected(xv), out.get("sum"), "through the session");
    assertArrayEquals(xv.sum(1).toFloatVector(), out.get("rows").toFloatVector(), 0f);
  }
}
