package org.mtlora.bench;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.mtlora.spark.SparkTrainer;

/**
 * The Spark application of {@code mtlora train --spark-master}: a {@link JavaSparkContext} for {@code local[N]}
 * (quiet: no web UI, loopback driver, failed tasks retried), a cluster's master URL, or {@code submit} (the master
 * spark-submit passed in {@code spark.master}).
 */
final class SparkRun implements AutoCloseable {
  private static final Pattern LOCAL = Pattern.compile("local(\\[(\\d+|\\*)(,\\d+)?])?");

  private final JavaSparkContext sc;
  private final String master;

  private SparkRun(JavaSparkContext sc, String master) {
    this.sc = sc;
    this.master = master;
  }

  static SparkRun start(String master, String appName) {
    SparkConf conf = new SparkConf().setAppName(appName);
    if (master.equals("submit")) {
      if (!conf.contains("spark.master")) {
        throw new IllegalArgumentException("--spark-master submit: no master was given (run through spark-submit "
            + "--master URL, or name the master)");
      }
    } else {
      conf.setMaster(SparkTrainer.withTaskRetries(master));
    }
    String effective = conf.get("spark.master");
    if (LOCAL.matcher(effective).matches()) {
      conf.setIfMissing("spark.ui.enabled", "false").setIfMissing("spark.driver.host", "127.0.0.1");
    } else if (conf.contains("spark.executor.cores")) {
      // one shard at a time per executor, computed with all its cores: Spark would otherwise run one task per core
      // and give each executor's native code OMP_NUM_THREADS = spark.task.cpus (1)
      String cores = conf.get("spark.executor.cores");
      conf.setIfMissing("spark.task.cpus", cores).setIfMissing("spark.executorEnv.OMP_NUM_THREADS", cores);
    }
    return new SparkRun(new JavaSparkContext(conf), effective);
  }

  /**
   * The workers of a local master ({@code local} 1, {@code local[N]} N, {@code local[*]} the cores).
   *
   * @throws IllegalArgumentException for a cluster master: its worker count must be given ({@code --workers})
   */
  static int localWorkers(String master) {
    Matcher m = LOCAL.matcher(master.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("--spark-master " + master + ": a cluster master needs --workers (Spark "
          + "tasks per step; the run's batch is split over them)");
    }
    if (m.group(2) == null) {
      return 1;
    }
    return m.group(2).equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(m.group(2));
  }

  /** As {@link #localWorkers}, once the context runs (a cluster master's default parallelism). */
  static int workers(String master, JavaSparkContext sc) {
    return LOCAL.matcher(master.trim()).matches() ? localWorkers(master) : sc.defaultParallelism();
  }

  JavaSparkContext context() {
    return sc;
  }

  /** The master Spark runs with. */
  String master() {
    return master;
  }

  @Override
  public void close() {
    sc.stop();
  }
}
