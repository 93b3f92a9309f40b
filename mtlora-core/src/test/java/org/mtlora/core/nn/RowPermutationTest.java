package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.testing.GradientCheck;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

@org.junit.jupiter.api.extension.ExtendWith(org.mtlora.core.testing.DoublePrecision.class)
class RowPermutationTest {
  private static final int[] ORDER = {3, 0, 5, 1, 4, 2};

  @Test
  void forwardReordersEachSamplesRowsAndTheBackwardIsTheInversePermutation() {
    INDArray xv = GradientCheck.randn(1, 1.0, 2, 6, 3);
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", xv);
    SDVariable y = RowPermutation.apply(sd, sd.math.tanh(x), ORDER, "order");
    INDArray out = sd.output(Map.of(), y.name()).get(y.name());
    INDArray t = org.nd4j.linalg.ops.transforms.Transforms.tanh(xv, true);
    for (int b = 0; b < 2; b++) {
      for (int p = 0; p < ORDER.length; p++) {
        assertEquals(t.get(org.nd4j.linalg.indexing.NDArrayIndex.point(b),
            org.nd4j.linalg.indexing.NDArrayIndex.point(ORDER[p]), org.nd4j.linalg.indexing.NDArrayIndex.all()),
            out.get(org.nd4j.linalg.indexing.NDArrayIndex.point(b), org.nd4j.linalg.indexing.NDArrayIndex.point(p),
                org.nd4j.linalg.indexing.NDArrayIndex.all()));
      }
    }
    SDVariable loss = GradientCheck.weightedSumLoss(sd, y, Map.of());
    GradientCheck.assertPasses(sd, loss.name(), Map.of());
    List<String> gradOps = java.util.Arrays.stream(sd.getFunction("grad").ops()).map(o -> o.opName()).toList();
    assertTrue(gradOps.stream().noneMatch(n -> n.equals("gather_bp")), gradOps.toString());
  }

  @Test
  void aNonPermutationIsRefused() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.var("x", GradientCheck.randn(2, 1.0, 1, 3, 2));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RowPermutation.apply(sd, x, new int[] {0, 0, 2}, "bad"));
    assertTrue(e.getMessage().contains("bad is not a permutation of 0..2"), e.getMessage());
  }
}
