package org.mtlora.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.JavaOp;
import org.mtlora.core.graph.SessionMemory;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.testing.GradientCheck;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Shared set-up for block tests: double precision, random inputs, forward and gradient-check helpers. */
@org.junit.jupiter.api.extension.ExtendWith(org.mtlora.core.testing.DoublePrecision.class)
abstract class BlocksTestBase {



  static INDArray randn(long seed, long... shape) {
    return GradientCheck.randn(seed, 1.0, shape);
  }

  static GraphContext trainingContext(SameDiff sd) {
    return GraphContext.training(sd, new ParameterRegistry(), DataType.DOUBLE);
  }

  static GraphContext evalContext(SameDiff sd) {
    return GraphContext.evaluation(sd, new ParameterRegistry(), DataType.DOUBLE);
  }

  static INDArray eval(SameDiff sd, SDVariable out, Map<String, INDArray> placeholders) {
    SessionMemory.ensureSession(sd); // as the library runs its graphs (and the only session for its Java ops)
    return sd.output(placeholders, out.name()).get(out.name());
  }

  static void assertClose(INDArray expected, INDArray actual, double tol) {
    assertArrayEquals(expected.shape(), actual.shape(), "shape");
    double max = Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.reduce.same.AMax(
        expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)))).getDouble(0);
    assertEquals(0.0, max, tol, "max abs difference");
  }

  /**
   * Runs {@code op}'s {@link JavaOp#compute} from a context holding {@code inputs} into new arrays of {@code
   * outputShapes}, in the first input's data type.
   */
  static INDArray[] compute(JavaOp op, INDArray[] inputs, long[]... outputShapes) {
    try (OpContext context = Nd4j.getExecutioner().buildContext()) {
      for (int i = 0; i < inputs.length; i++) {
        context.setInputArray(i, inputs[i]);
      }
      INDArray[] outputs = new INDArray[outputShapes.length];
      for (int i = 0; i < outputs.length; i++) {
        outputs[i] = Nd4j.create(inputs[0].dataType(), outputShapes[i]);
        context.setOutputArray(i, outputs[i]);
      }
      op.compute(context);
      return outputs;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The same values as a view at an offset of a larger array: what the JVM kernels refuse, so the fallback runs. */
  static INDArray asView(INDArray a) {
    INDArray larger = Nd4j.create(a.dataType(), a.size(0) + 1, a.size(1));
    INDArray view = larger.get(NDArrayIndex.interval(1, a.size(0) + 1), NDArrayIndex.all());
    view.assign(a);
    return view;
  }

  /** Gradient check of {@code out} (weighted-sum loss) over every variable of {@code sd}. */
  static GradientCheck.Result gradCheck(SameDiff sd, SDVariable out, Map<String, INDArray> placeholders) {
    SDVariable loss = GradientCheck.weightedSumLoss(sd, out, placeholders);
    return GradientCheck.assertPasses(sd, loss.name(), placeholders);
  }
}
