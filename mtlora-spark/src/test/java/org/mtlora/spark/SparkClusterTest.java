package org.mtlora.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The equivalence on Spark's {@code local-cluster[2,1,1536]}: a standalone master, and two executors in JVMs of their
 * own, each building its worker and receiving values only by broadcast and serialization — as on a real cluster.
 * Spark's test mode ({@code spark.testing}) gives the executors the test's class path; {@code spark.test.home} points
 * at an empty stand-in for a Spark build (the launcher looks for its folders only).
 */
class SparkClusterTest {
  @TempDir Path dir;

  @Test
  void twoExecutorJvmsEndBitIdenticalToTheSameShardsComputedInProcess() throws Exception {
    TinySetup tiny = TinySetup.create(dir);
    List<Double> expectedLosses = new ArrayList<>();
    Map<String, INDArray> expected = tiny.inProcess(2, expectedLosses);

    Path home = dir.resolve("spark-home");
    Files.createDirectories(home.resolve("launcher/target/scala-2.13"));
    Files.createDirectories(home.resolve("assembly/target/scala-2.13/jars"));
    System.setProperty("spark.testing", "true");
    System.setProperty("spark.test.home", home.toString());
    SparkConf conf = new SparkConf().setMaster("local-cluster[2,1,1536]").setAppName("SparkClusterTest")
        .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1")
        .set("spark.executor.extraJavaOptions", System.getProperty("mtlora.executor.opts", ""))
        // Spark gives executors OMP_NUM_THREADS = spark.task.cpus (1); with another thread count than this JVM's,
        // native reductions sum in another order (see docs/distributed.md)
        .set("spark.executorEnv.OMP_NUM_THREADS", String.valueOf(Nd4j.getEnvironment().maxThreads()));
    List<Double> losses = new ArrayList<>();
    try (JavaSparkContext sc = new JavaSparkContext(conf);
        SparkTrainer trainer = tiny.spark(sc, 2, ShardHook.NONE)) {
      trainer.fit(TinySetup.trainerConfig(null), List.of(r -> losses.add(r.totalLoss())), null);
      assertEquals(0, ExecutorWorkers.cached(trainer.spec().runId()), "the driver JVM computed shards itself");
      SparkTrainerTest.assertSameValues(expected, TinySetup.values(trainer.params()));
      assertEquals(expectedLosses, losses);
    } finally {
      System.clearProperty("spark.testing");
      System.clearProperty("spark.test.home");
    }
  }
}
