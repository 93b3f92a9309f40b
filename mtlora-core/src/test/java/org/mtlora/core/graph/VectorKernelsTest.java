package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erfc;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;
import org.nd4j.linalg.factory.Nd4j;

class VectorKernelsTest {
  @Test
  void anyLengthThroughBuffersAndInPlace() {
    Random random = new Random(7);
    // lengths around the lane count, the chunk (8192) and the parallel threshold (4 chunks)
    for (int length : new int[] {1, 17, 8191, 8197, 4 * 8192 + 3, 100_003}) {
      FloatBuffer in = ByteBuffer.allocateDirect(4 * (length + 1)).order(ByteOrder.nativeOrder()).asFloatBuffer();
      FloatBuffer out = ByteBuffer.allocateDirect(4 * (length + 1)).order(ByteOrder.nativeOrder()).asFloatBuffer();
      float[] z = new float[length];
      for (int i = 0; i < length; i++) {
        z[i] = (float) (2 * random.nextGaussian());
        in.put(i, z[i]);
      }
      out.put(length, 42f);
      for (VectorKernels.Function f : VectorKernels.Function.values()) {
        VectorKernels.apply(f, in, out, length);
        float[] expected = f == VectorKernels.Function.ERFC ? VectorErfcTest.erfc(z) : VectorExpTest.exp(z);
        for (int i = 0; i < length; i++) {
          assertEquals(expected[i], out.get(i), f + ", length " + length + ", element " + i);
        }
        assertEquals(42f, out.get(length), "nothing written past the length");
      }

      VectorKernels.apply(VectorKernels.Function.EXP, in, in, length); // in place
      float[] expected = VectorExpTest.exp(z);
      for (int i = 0; i < length; i++) {
        assertEquals(expected[i], in.get(i), "in place, length " + length + ", element " + i);
      }
    }
  }

  @Test
  void sessionsOfThisProjectRunFloatErfcAndExpOnTheKernels() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 64);
    SDVariable scaled = x.mul(1.5);
    SDVariable erfc = sd.math.erfc(scaled);
    SDVariable exp = sd.math.exp(scaled);
    INDArray in = Nd4j.randn(DataType.FLOAT, 300, 64).muli(2);
    float[] z = in.mul(1.5).data().asFloat();
    float[] kernelErfc = VectorErfcTest.erfc(z);
    float[] kernelExp = VectorExpTest.exp(z);
    float[] libnd4jErfc = Nd4j.getExecutioner().exec(new Erfc(in.mul(1.5))).data().asFloat();
    float[] libnd4jExp = Nd4j.getExecutioner().exec(new Exp(in.mul(1.5))).data().asFloat();
    assertFalse(Arrays.equals(kernelErfc, libnd4jErfc), "erfc: the two differ somewhere, so the test can tell them apart");
    assertFalse(Arrays.equals(kernelExp, libnd4jExp), "exp: the two differ somewhere, so the test can tell them apart");

    SessionMemory.boundCache(sd, 1 << 20);
    Map<String, INDArray> out;
    try {
      out = sd.output(Map.of("x", in), erfc.name(), exp.name());
      assertArrayEquals(kernelErfc, out.get(erfc.name()).data().asFloat(), "the erfc kernel's values, bit for bit");
      assertArrayEquals(kernelExp, out.get(exp.name()).data().asFloat(), "the exp kernel's values, bit for bit");
    } finally {
      SessionMemory.release(sd);
    }

    // a float64 graph keeps libnd4j's ops
    SameDiff sd64 = SameDiff.create();
    SDVariable x64 = sd64.placeHolder("x", DataType.DOUBLE, -1, 64);
    SDVariable erfc64 = sd64.math.erfc(x64);
    INDArray in64 = in.castTo(DataType.DOUBLE);
    SessionMemory.boundCache(sd64, 1 << 20);
    try {
      assertArrayEquals(Nd4j.getExecutioner().exec(new Erfc(in64.dup())).data().asDouble(),
          sd64.output(Map.of("x", in64), erfc64.name()).get(erfc64.name()).data().asDouble());
    } finally {
      SessionMemory.release(sd64);
    }
  }
}
