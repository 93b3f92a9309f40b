package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.nn.LayerNorm;
import org.mtlora.core.nn.LayerNormTest;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class LayerNormFusionTest {
  /**
   * An evaluation graph with three layer norms on rows: of 96 floats (whole vectors), of 100 (a scalar tail) and of 12
   * (below {@code RowMeans}' shortest row, so its variance stays op by op while its outer product is fused).
   */
  private static SameDiff threeNorms(DataType type) {
    SameDiff sd = SameDiff.create();
    sd.constant(GraphContext.INFERENCE_ONLY, Nd4j.scalar(type, 0));
    for (int width : new int[] {96, 100, 12}) {
      SDVariable x = sd.placeHolder("x" + width, type, -1, width);
      SDVariable gamma = sd.constant("gamma" + width, ramp(type, width, 0.5, 1.5));
      SDVariable beta = sd.constant("beta" + width, ramp(type, width, -0.25, 0.25));
      sd.identity("y" + width, LayerNorm.apply(sd, x, 2, gamma, beta));
    }
    return sd;
  }

  private static INDArray ramp(DataType type, int n, double from, double to) {
    return Nd4j.linspace(from, to, n, type);
  }

  private static Map<String, INDArray> inputs(DataType type) {
    Nd4j.getRandom().setSeed(23);
    // 700 rows cross the kernels' chunks and their split over threads; an offset, as layer-norm inputs have
    return Map.of("x96", Nd4j.randn(type, 700, 96).addi(3), "x100", Nd4j.randn(type, 700, 100).muli(2).subi(1),
        "x12", Nd4j.randn(type, 700, 12));
  }

  @Test
  void findsEachLayerNormsVarianceAndOuterProduct() {
    LayerNormFusion f = LayerNormFusion.of(threeNorms(DataType.FLOAT));
    assertArrayEquals(new int[] {3, 3}, f.size());
    assertEquals(6, f.skippable().size(), "each norm's squares and outer product");

    SameDiff other = SameDiff.create();
    SDVariable x = other.placeHolder("x", DataType.FLOAT, -1, 32);
    SDVariable c = x.sub(other.mean(x, true, 1));
    SDVariable s = c.mul(c);
    other.mean(s, true, 1);
    s.add(1.0); // the squares read twice
    SDVariable r = other.placeHolder("r", DataType.FLOAT, -1, 1);
    SDVariable g = other.placeHolder("g", DataType.FLOAT, 1, 32);
    SDVariable o = other.mmul(r, g);
    c.mul(o);
    o.add(1.0); // the outer product read twice
    assertArrayEquals(new int[] {0, 0}, LayerNormFusion.of(other).size());
  }

  @Test
  void theSessionComputesTheGroupsWithTheBitsOfTheirOps() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
    SameDiff sd = threeNorms(DataType.FLOAT);
    Map<String, INDArray> in = inputs(DataType.FLOAT);
    List<String> outputs = List.of("y96", "y100", "y12");
    // the 96 and 100 norms: variance and outer product; the 12 norm: its outer product only
    Map<String, INDArray> fused = run(sd, in, 5, outputs);
    List<String> all = new ArrayList<>(LayerNormFusion.of(sd).skippable());
    all.addAll(outputs);
    Map<String, INDArray> opByOp = run(sd, in, 0, all);
    for (String y : outputs) {
      assertArrayEquals(opByOp.get(y).data().asFloat(), fused.get(y).data().asFloat(), y + ": the same bits");
    }
    for (int width : new int[] {96, 100, 12}) {
      INDArray x = in.get("x" + width).castTo(DataType.DOUBLE);
      INDArray expected = layerNorm(x, ramp(DataType.DOUBLE, width, 0.5, 1.5), ramp(DataType.DOUBLE, width, -0.25,
          0.25));
      INDArray got = fused.get("y" + width).castTo(DataType.DOUBLE);
      assertEquals(0, expected.sub(got).amaxNumber().doubleValue(), 2e-5, "width " + width);
    }
  }

  @Test
  void float64NormsRunOpByOp() {
    assumeTrue(VectorKernels.enabled(), "kernels off here: " + VectorKernels.describe());
    SameDiff sd = threeNorms(DataType.DOUBLE);
    Map<String, INDArray> in = inputs(DataType.DOUBLE);
    Map<String, INDArray> out = run(sd, in, 0, List.of("y96", "y100", "y12"));
    for (int width : new int[] {96, 100, 12}) {
      INDArray expected = layerNorm(in.get("x" + width), ramp(DataType.DOUBLE, width, 0.5, 1.5),
          ramp(DataType.DOUBLE, width, -0.25, 0.25));
      assertEquals(0, expected.sub(out.get("y" + width)).amaxNumber().doubleValue(), 1e-12, "width " + width);
    }
  }

  @Test
  void theKernelsAgreeWithPlainLoops() {
    int rows = 37;
    int width = 100;
    INDArray x = Nd4j.create(DataType.FLOAT, rows, width);
    float[] m = new float[rows];
    java.util.Random random = new java.util.Random(3);
    for (int i = 0; i < x.length(); i++) {
      x.putScalar(i, (float) random.nextGaussian());
    }
    for (int r = 0; r < rows; r++) {
      m[r] = (float) random.nextGaussian() * 0.1f;
    }
    INDArray c = Nd4j.create(DataType.FLOAT, rows, width);
    float[] variances = new float[rows];
    LayerNormFusion.centre(VectorKernels.nativeBytes(x), java.nio.FloatBuffer.wrap(m), VectorKernels.nativeBytes(c),
        variances, rows, width);
    float[] g = new float[width];
    for (int j = 0; j < width; j++) {
      g[j] = 0.5f + j / 100f;
    }
    INDArray out = Nd4j.create(DataType.FLOAT, rows, width);
    LayerNormFusion.scale(VectorKernels.nativeBytes(c), m, g, VectorKernels.nativeBytes(out));
    for (int r = 0; r < rows; r++) {
      double sum = 0;
      for (int j = 0; j < width; j++) {
        float centred = x.getFloat(r, j) - m[r];
        assertEquals(centred, c.getFloat(r, j), 0f, "c exactly x − m");
        sum += (double) centred * centred;
        assertEquals(centred * (m[r] * g[j]), out.getFloat(r, j), 0f, "c · (r · g), rounded as the ops round");
      }
      assertEquals(sum / width, variances[r], 1e-6 * Math.max(1, sum / width), "row " + r);
    }
  }

  private static INDArray layerNorm(INDArray x, INDArray gamma, INDArray beta) {
    return LayerNormTest.reference(x, gamma, beta, LayerNorm.DEFAULT_EPS);
  }

  private static Map<String, INDArray> run(SameDiff sd, Map<String, INDArray> in, int fused, List<String> names) {
    SessionMemory.boundCache(sd, 1 << 20);
    try {
      Map<String, INDArray> out = sd.output(in, names.toArray(new String[0]));
      KernelSession session = (KernelSession) sd.getSessions().get(Thread.currentThread().getId());
      assertEquals(fused, session.fusedInLastRun(), "groups computed together");
      Map<String, INDArray> copies = new java.util.HashMap<>();
      out.forEach((k, v) -> copies.put(k, v.dup()));
      return copies;
    } finally {
      SessionMemory.release(sd);
    }
  }
}
