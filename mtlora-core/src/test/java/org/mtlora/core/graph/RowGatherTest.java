package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** {@link RowGather} against libnd4j's {@code gather}, bit for bit, and in a session of this project. */
class RowGatherTest {
  private static INDArray random(long... shape) {
    Nd4j.getRandom().setSeed(shape.length * 31L + shape[0]);
    return Nd4j.randn(DataType.FLOAT, shape);
  }

  /** Every index of {@code [0, length)} in a scrambled order, then {@code extra} repeats (a gather may repeat). */
  private static int[] order(int length, int extra) {
    int[] order = new int[length + extra];
    for (int i = 0; i < order.length; i++) {
      order[i] = (int) ((i * 7L + 3) % length);
    }
    return order;
  }

  private static INDArray libnd4j(INDArray in, INDArray indices, int axis) {
    long[] shape = in.shape().clone(); // shape() is the array's own
    shape[axis < 0 ? axis + in.rank() : axis] = indices.length();
    INDArray out = Nd4j.create(DataType.FLOAT, shape);
    Nd4j.exec(DynamicCustomOp.builder("gather").addInputs(in, indices).addOutputs(out).addIntegerArguments(axis)
        .build());
    return out;
  }

  @Test
  void gathersWhatLibnd4jGathers() {
    Object[][] cases = { // shape, axis, indices
        {new long[] {2, 50, 16}, 1, order(50, 0)}, // the blocks' [B, L, C] rows, two images
        {new long[] {1, 50, 16}, 1, order(50, 3)},
        {new long[] {3, 5, 7, 8}, 1, order(5, 2)}, // runs of 56 floats
        {new long[] {3, 5, 7, 8}, 2, order(7, 0)}, // runs of 8, 15 outer runs
        {new long[] {3, 5, 7, 8}, -2, order(7, 1)},
        {new long[] {40, 9}, 0, order(40, 5)}};
    for (Object[] c : cases) {
      INDArray in = random((long[]) c[0]);
      int axis = (int) c[1];
      for (DataType indexType : new DataType[] {DataType.INT, DataType.LONG}) {
        INDArray indices = Nd4j.createFromArray((int[]) c[2]).castTo(indexType);
        INDArray expected = libnd4j(in, indices, axis);
        INDArray out = Nd4j.valueArrayOf(expected.shape(), 7f);
        assertTrue(RowGather.tryGather(in, indices, List.of((long) axis), out),
            java.util.Arrays.toString((long[]) c[0]) + " along " + axis + ", " + indexType);
        assertEquals(expected, out, java.util.Arrays.toString((long[]) c[0]) + " along " + axis + ", " + indexType);
      }
    }
  }

  @Test
  void leavesWhatItDoesNotTakeToLibnd4j() {
    INDArray in = random(2, 6, 8);
    INDArray indices = Nd4j.createFromArray(order(6, 0));
    INDArray out = Nd4j.valueArrayOf(new long[] {2, 6, 8}, 7f);
    assertFalse(RowGather.tryGather(in, Nd4j.createFromArray(0, 6), List.of(1L), Nd4j.create(DataType.FLOAT, 2, 2, 8)),
        "an index out of range (libnd4j reports it)");
    assertFalse(RowGather.tryGather(in, Nd4j.createFromArray(0, -1), List.of(1L), Nd4j.create(DataType.FLOAT, 2, 2, 8)),
        "a negative index");
    assertFalse(RowGather.tryGather(random(2, 6, 4), indices, List.of(1L), Nd4j.create(DataType.FLOAT, 2, 6, 4)),
        "runs of 4");
    assertFalse(RowGather.tryGather(in, indices, List.of(2L), out), "along the last axis");
    assertFalse(RowGather.tryGather(in.castTo(DataType.DOUBLE), indices, List.of(1L), out), "float64");
    assertFalse(RowGather.tryGather(in, indices.castTo(DataType.FLOAT), List.of(1L), out), "float indices");
    assertFalse(RowGather.tryGather(in, indices, List.of(), out), "no axis argument");
    assertFalse(RowGather.tryGather(in.dup('f'), indices, List.of(1L), out), "F order");
    assertFalse(RowGather.tryGather(random(3, 6, 8).get(NDArrayIndex.interval(1, 3), NDArrayIndex.all(),
        NDArrayIndex.all()), indices, List.of(1L), out), "a view");
    assertFalse(RowGather.tryGather(in, indices, List.of(1L), Nd4j.create(DataType.FLOAT, 2, 5, 8)), "output shape");
    assertEquals(7.0, out.minNumber().doubleValue(), 0.0);
    assertEquals(7.0, out.maxNumber().doubleValue(), 0.0);
  }

  @Test
  void sessionsOfThisProjectGatherRows() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 50, 16);
    int[] order = order(50, 0);
    SDVariable rows = sd.gather("rows", x, sd.constant(Nd4j.createFromArray(order)), 1);
    INDArray in = random(3, 50, 16);
    SessionMemory.boundCache(sd, 1 << 20);
    try {
      INDArray out = sd.output(Map.of("x", in), "rows").get("rows");
      for (int b = 0; b < 3; b++) {
        for (int l = 0; l < 50; l++) {
          assertEquals(in.get(NDArrayIndex.point(b), NDArrayIndex.point(order[l]), NDArrayIndex.all()),
              out.get(NDArrayIndex.point(b), NDArrayIndex.point(l), NDArrayIndex.all()), b + ", " + l);
        }
      }
    } finally {
      SessionMemory.release(sd);
    }
  }
}
