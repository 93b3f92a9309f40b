package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Masks are a function of (seed, step, declaration order) alone, the same in float32 and float64 graphs. */
class RandomMasksTest {
  private static RandomMasks declared() {
    RandomMasks masks = new RandomMasks();
    SameDiff sd = SameDiff.create();
    masks.placeholder(sd, "dropout", DataType.FLOAT, RandomMasks.Kind.ELEMENT, 50, new long[] {8}, 0.95);
    masks.placeholder(sd, "drop_path", DataType.FLOAT, RandomMasks.Kind.SAMPLE, 50, new long[] {8}, 0.7);
    return masks;
  }

  @Test
  void floatMasksAreTheDoubleMasksRoundedAndDependOnlyOnSeedAndStep() {
    Map<String, INDArray> f = declared().sample(3, 11, 4, DataType.FLOAT);
    Map<String, INDArray> d = declared().sample(3, 11, 4, DataType.DOUBLE);
    for (String name : new String[] {"dropout", "drop_path"}) {
      assertEquals(DataType.FLOAT, f.get(name).dataType());
      assertEquals(d.get(name).castTo(DataType.FLOAT), f.get(name), name);
    }
    assertEquals(f, declared().sample(3, 11, 4, DataType.FLOAT));
    assertNotEquals(f.get("dropout"), declared().sample(3, 11, 5, DataType.FLOAT).get("dropout"));
    // inverted dropout: kept elements are 1/0.95, about 95 % of them
    INDArray m = f.get("dropout");
    double kept = m.gt(0).castTo(DataType.DOUBLE).meanNumber().doubleValue();
    assertTrue(kept > 0.9 && kept < 0.99, "kept share " + kept);
    assertEquals((float) (1 / 0.95), m.maxNumber().floatValue());
    // drop path: one value per sample, repeated over its 50 rows
    INDArray p = f.get("drop_path").reshape(3, 50 * 8);
    for (int b = 0; b < 3; b++) {
      assertEquals(p.getFloat(b, 0), p.getRow(b).maxNumber().floatValue());
      assertEquals(p.getFloat(b, 0), p.getRow(b).minNumber().floatValue());
    }
  }

  /** Masks drawn in parallel come back in declaration order and the same on every draw. */
  @Test
  void manyMasksAreDrawnInDeclarationOrderAndReproducibly() {
    RandomMasks masks = new RandomMasks();
    SameDiff sd = SameDiff.create();
    for (int i = 0; i < 24; i++) {
      masks.placeholder(sd, "m" + i, DataType.FLOAT, RandomMasks.Kind.ELEMENT, 40, new long[] {16}, 0.5);
    }
    Map<String, INDArray> first = masks.sample(2, 5, 9, DataType.FLOAT);
    assertEquals(java.util.stream.IntStream.range(0, 24).mapToObj(i -> "m" + i).toList(),
        java.util.List.copyOf(first.keySet()));
    for (int round = 0; round < 3; round++) {
      Map<String, INDArray> again = masks.sample(2, 5, 9, DataType.FLOAT);
      for (String name : first.keySet()) {
        assertEquals(first.get(name), again.get(name), name);
      }
    }
    assertNotEquals(first.get("m0"), first.get("m1")); // one generator per mask
  }

  /** Drawn into an earlier step's arrays, the masks have a fresh draw's values; arrays that do not fit are not used. */
  @Test
  void masksDrawnIntoEarlierArraysEqualAFreshDraw() {
    RandomMasks masks = declared();
    Map<String, INDArray> step4 = masks.sample(3, 11, 4, DataType.FLOAT);
    Map<String, INDArray> expected = declared().sample(3, 11, 5, DataType.FLOAT);
    Map<String, INDArray> step5 = masks.sample(3, 11, 5, DataType.FLOAT, step4);
    for (String name : new String[] {"dropout", "drop_path"}) {
      assertSame(step4.get(name), step5.get(name), name); // written over
      assertEquals(expected.get(name), step5.get(name), name);
    }
    // another batch size, another data type, a view: new arrays, and the old ones keep their values
    INDArray before = step5.get("dropout").dup();
    Map<String, INDArray> batch2 = masks.sample(2, 11, 6, DataType.FLOAT, step5);
    assertNotSame(step5.get("dropout"), batch2.get("dropout"));
    assertEquals(declared().sample(2, 11, 6, DataType.FLOAT), batch2);
    Map<String, INDArray> doubles = masks.sample(3, 11, 6, DataType.DOUBLE, step5);
    assertEquals(DataType.DOUBLE, doubles.get("dropout").dataType());
    assertEquals(declared().sample(3, 11, 6, DataType.DOUBLE), doubles);
    INDArray wide = Nd4j.zeros(DataType.FLOAT, 150, 16);
    INDArray view = wide.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 8));
    Map<String, INDArray> fromView = masks.sample(3, 11, 6, DataType.FLOAT, Map.of("dropout", view));
    assertNotSame(view, fromView.get("dropout"));
    assertEquals(0.0, wide.sumNumber().doubleValue());
    assertEquals(before, step5.get("dropout"));
  }

  /**
   * Without the vector API's module (an application that does not add it) the masks are drawn one at a time, with the
   * same values: a JVM of its own, since this one has the module.
   */
  @Test
  void masksWithoutTheVectorModuleHaveTheSameValues() throws Exception {
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"),
        WithoutVectorModule.class.getName());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), log);
    assertEquals(0, p.exitValue(), log);
    assertTrue(log.contains("kernels libnd4j (no --add-modules jdk.incubator.vector)"), log);
    assertTrue(log.contains("masks " + WithoutVectorModule.digest()), log);
  }

  /** Draws masks long enough for eight-at-a-time decisions and prints where the kernels run and the values' digest. */
  static final class WithoutVectorModule {
    static String digest() {
      RandomMasks masks = new RandomMasks();
      SameDiff sd = SameDiff.create();
      masks.placeholder(sd, "dropout", DataType.FLOAT, RandomMasks.Kind.ELEMENT, 700, new long[] {96}, 0.9);
      masks.placeholder(sd, "drop_path", DataType.FLOAT, RandomMasks.Kind.SAMPLE, 700, new long[] {96}, 0.8);
      Map<String, INDArray> m = masks.sample(2, 7, 3, DataType.FLOAT);
      return Arrays.hashCode(m.get("dropout").data().asFloat()) + "/" + Arrays.hashCode(m.get("drop_path").data()
          .asFloat());
    }

    public static void main(String[] args) {
      System.out.println("kernels " + VectorKernels.describe());
      System.out.println("masks " + digest());
    }
  }
}
