package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.FloatBuffer;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class RowMeansTest {
  @Test
  void meansOfRowsOfAnyWidthMatchFloat64() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
    Random random = new Random(11);
    // widths at a vector, with a scalar tail, the layer norms' and the largest; row counts across chunks and threads
    int[][] cases = {{3, 16}, {5, 17}, {200, 96}, {1000, 384}, {7, 1536}, {9, 8192}};
    for (int[] c : cases) {
      int rows = c[0];
      int width = c[1];
      float[] x = new float[rows * width];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) (3 + random.nextGaussian()); // an offset, as layer-norm inputs have
      }
      FloatBuffer means = FloatBuffer.allocate(rows + 1);
      means.put(rows, 42f);
      RowMeans.means(VectorKernels.nativeBytes(Nd4j.createFromArray(x)), means, rows, width);
      for (int r = 0; r < rows; r++) {
        double sum = 0;
        for (int i = 0; i < width; i++) {
          sum += x[r * width + i];
        }
        assertEquals(sum / width, means.get(r), 4e-6, rows + " x " + width + ", row " + r);
      }
      assertEquals(42f, means.get(rows), "nothing written past the rows");
    }
  }

  @Test
  void leavesOtherReductionsToLibnd4j() {
    INDArray x = Nd4j.rand(DataType.FLOAT, 6, 32);
    INDArray untouched = Nd4j.create(DataType.FLOAT, 6, 1).assign(7);
    assertFalse(RowMeans.tryApply(x, 0, Nd4j.create(DataType.FLOAT, 1, 32)), "not the last axis");
    assertFalse(RowMeans.tryApply(Nd4j.rand(DataType.FLOAT, 6, 8), 1, untouched), "rows of 8 floats");
    assertFalse(RowMeans.tryApply(Nd4j.rand(DataType.FLOAT, 2, 8200), 1, Nd4j.create(DataType.FLOAT, 2, 1)),
        "rows longer than a chunk");
    assertFalse(RowMeans.tryApply(x.castTo(DataType.DOUBLE), 1, untouched.castTo(DataType.DOUBLE)), "float64");
    assertFalse(RowMeans.tryApply(Nd4j.rand(DataType.FLOAT, 32, 6).transpose(), 1, untouched), "F order");
    INDArray half = Nd4j.rand(DataType.FLOAT, 6, 64).get(NDArrayIndex.all(), NDArrayIndex.interval(0, 32));
    assertFalse(RowMeans.tryApply(half, 1, untouched), "a view");
    assertFalse(RowMeans.tryApply(x, 1, Nd4j.create(DataType.FLOAT, 3, 1)), "out's length");
    assertEquals(7.0, untouched.minNumber().doubleValue(), "a refused output is not written");
  }

  @Test
  void sessionsOfThisProjectRunLastAxisMeansOnTheKernel() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 5, 384);
    SDVariable rows = sd.mean("rows", x, true, 2); // a layer norm's mean, keeping the axis
    SDVariable last = sd.mean("last", x, false, -1);
    SDVariable columns = sd.mean("columns", x, true, 1); // another axis: libnd4j's
    Nd4j.getRandom().setSeed(17);
    INDArray in = Nd4j.randn(DataType.FLOAT, 3, 5, 384).addi(2);
    INDArray kernel = Nd4j.create(DataType.FLOAT, 3, 5, 1);
    RowMeans.means(VectorKernels.nativeBytes(in), kernel.data().asNioFloat(), 15, 384);
    INDArray libnd4j = in.mean(true, 2);
    assertFalse(java.util.Arrays.equals(kernel.data().asFloat(), libnd4j.data().asFloat()),
        "the two sum in different orders somewhere, so the test can tell them apart");

    SessionMemory.boundCache(sd, 1 << 20);
    try {
      Map<String, INDArray> out = sd.output(Map.of("x", in), "rows", "last", "columns");
      assertArrayEquals(kernel.data().asFloat(), out.get("rows").data().asFloat(), "the kernel's bits");
      assertArrayEquals(kernel.data().asFloat(), out.get("last").data().asFloat(), "the kernel's bits, axis -1");
      assertArrayEquals(new long[] {3, 5}, out.get("last").shape());
      // two float sums of 384 values near 2 (sum ~768) in different orders: rounding errors of about
      // √384 · 2⁻²⁴ · 768 ≈ 1e-3 on the sum, ~2.5e-6 on the mean
      assertTrue(out.get("rows").equalsWithEps(libnd4j, 1e-5), "and libnd4j's values to float rounding");
      assertEquals(in.mean(true, 1), out.get("columns"));
    } finally {
      SessionMemory.release(sd);
    }
  }
}
