package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class PermuteKernelTest {
  @Test
  void permuteCopiesWhatAStridedViewReads() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
    Object[][] cases = {
      {new long[] {5, 7, 3, 2, 8}, new long[] {2, 0, 3, 1, 4}}, // the window attention's q, k, v split (small)
      {new long[] {64, 49, 3, 3, 32}, new long[] {2, 0, 3, 1, 4}}, // large enough to split over threads
      {new long[] {4, 3, 7, 8}, new long[] {0, 2, 1, 3}}, // heads back to rows
      {new long[] {2, 3, 4, 5, 2, 4}, new long[] {0, 1, 3, 2, 4, 5}}, // two trailing axes kept: runs of 8
    };
    for (Object[] c : cases) {
      long[] shape = (long[]) c[0];
      long[] axes = (long[]) c[1];
      INDArray in = Nd4j.rand(DataType.FLOAT, shape);
      INDArray expected = in.permute(Arrays.stream(axes).mapToInt(a -> (int) a).toArray()).dup('c');
      INDArray out = Nd4j.create(DataType.FLOAT, expected.shape());
      assertTrue(PermuteKernel.permute(in, axes, out), Arrays.toString(shape));
      assertArrayEquals(expected.data().asFloat(), out.data().asFloat(), Arrays.toString(shape) + " bit for bit");
    }
  }

  @Test
  void permuteLeavesShortRunsAndOddArraysToLibnd4j() {
    INDArray in = Nd4j.rand(DataType.FLOAT, 4, 6, 8);
    INDArray untouched = Nd4j.create(DataType.FLOAT, 6, 4, 8).assign(7);
    assertFalse(PermuteKernel.permute(in, new long[] {0, 2, 1}, Nd4j.create(DataType.FLOAT, 4, 8, 6)),
        "last axis moved");
    assertFalse(PermuteKernel.permute(in, new long[] {0, 1, 2}, Nd4j.create(DataType.FLOAT, 4, 6, 8)), "identity");
    assertFalse(PermuteKernel.permute(Nd4j.rand(DataType.FLOAT, 4, 6, 4), new long[] {1, 0, 2},
        Nd4j.create(DataType.FLOAT, 6, 4, 4)), "runs of 4 floats");
    assertFalse(PermuteKernel.permute(in, new long[] {1, 1, 2}, untouched), "not a permutation");
    assertFalse(PermuteKernel.permute(in, new long[] {1, 0, 2}, Nd4j.create(DataType.FLOAT, 4, 6, 8)), "out's shape");
    assertFalse(PermuteKernel.permute(in.castTo(DataType.DOUBLE), new long[] {1, 0, 2},
        Nd4j.create(DataType.DOUBLE, 6, 4, 8)), "float64");
    assertFalse(PermuteKernel.permute(in.permute(1, 0, 2), new long[] {1, 0, 2}, untouched), "a view");
    assertEquals(7.0, untouched.minNumber().doubleValue(), "a refused output is not written");
  }

  @Test
  void sessionsOfThisProjectGivePermutedValues() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 49, 3, 3, 32);
    SDVariable split = sd.permute("split", x, 2, 0, 3, 1, 4);
    SDVariable heads = sd.permute("heads", split, 0, 1, 3, 2, 4); // last axis in place, runs of 32 floats
    SDVariable columns = sd.permute("columns", x, 0, 1, 2, 4, 3); // the last axis moves: libnd4j's
    INDArray in = Nd4j.rand(DataType.FLOAT, 6, 49, 3, 3, 32);
    SessionMemory.boundCache(sd, 1 << 20);
    try {
      Map<String, INDArray> out = sd.output(Map.of("x", in), "split", "heads", "columns");
      assertEquals(in.permute(2, 0, 3, 1, 4).dup('c'), out.get("split"));
      assertEquals(in.permute(2, 0, 3, 1, 4).permute(0, 1, 3, 2, 4).dup('c'), out.get("heads"));
      assertEquals(in.permute(0, 1, 2, 4, 3).dup('c'), out.get("columns"));
    } finally {
      SessionMemory.release(sd);
    }
  }
}
