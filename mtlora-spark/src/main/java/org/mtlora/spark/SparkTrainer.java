package org.mtlora.spark;

import com.google.common.base.Preconditions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.api.java.JavaSparkContext;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.Trainer;
import org.mtlora.core.train.TrainerConfig;
import org.mtlora.core.train.TrainingListener;
import org.mtlora.heads.ActivationCheckpointing;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.swin.SwinCheckpoints;

/**
 * Synchronous data-parallel fine-tuning on Apache Spark. Every step, each of {@code workers} Spark tasks computes one
 * shard of the step's batch ({@link ShardData}: worker {@code r} of {@code n} reads slots {@code [r B/n, (r+1) B/n)})
 * on a graph its executor built once, with masks from {@code (seed, step, rank)}; the gradients of the trainable
 * tensors alone travel back and are summed by {@code treeAggregate}; the driver averages, clips and applies AdamW as
 * the single-machine {@link Trainer} does (it is that trainer) and broadcasts the new values with the next step.
 * Batch norm normalises with each worker's batch statistics; the running statistics are the workers' updates
 * averaged. The result equals {@link org.mtlora.core.train.ShardedSteps} with the same number of workers on one
 * machine; with one worker, it equals single-machine training.
 *
 * <pre>{@code
 * try (JavaSparkContext sc = new JavaSparkContext(SparkTrainer.withTaskRetries("local[2]"), "mtlora");
 *      SparkTrainer spark = SparkTrainer.builder(config, backbone, PascalShards.of(root, normals, 448, 32, 0))
 *          .workers(2).build(sc)) {
 *   spark.fit(trainerConfig, listeners, null);
 *   AdapterFolder.save(dir, config, spark.params());
 * }
 * }</pre>
 *
 * <p>A failed task is retried by Spark and recomputes the same shard (the worker is rebuilt, the inputs come from the
 * broadcast); a step is applied once, after all its shards arrived. Checkpoints are the single-machine ones, so a run
 * resumes from {@code resumeFrom} on Spark or on one machine.
 */
public final class SparkTrainer implements AutoCloseable {
  private static final Pattern LOCAL = Pattern.compile("local\\[(\\d+|\\*)]");

  private final JavaSparkContext sc;
  private final MultiTaskConfig config;
  private final ParameterRegistry params;
  private final WorkerSpec spec;
  private final ExchangeListener listener = new ExchangeListener();
  private SparkSteps engine;

  private SparkTrainer(JavaSparkContext sc, MultiTaskConfig config, ParameterRegistry params, WorkerSpec spec) {
    this.sc = sc;
    this.config = config;
    this.params = params;
    this.spec = spec;
    sc.sc().addSparkListener(listener);
  }

  /**
   * A trainer of {@code config} on the backbone file (which every executor must be able to read at the same path)
   * and the data every executor opens from {@code data}.
   */
  public static Builder builder(MultiTaskConfig config, Path backboneWeights, ShardData data) {
    return new Builder(config, backboneWeights, data);
  }

  /**
   * {@code local[N]} becomes {@code local[N,4]}: Spark's local mode runs a failed task once only unless the master
   * names a number of attempts; 4 is a cluster's default ({@code spark.task.maxFailures}). Other masters unchanged.
   */
  public static String withTaskRetries(String master) {
    Matcher m = LOCAL.matcher(master.trim());
    return m.matches() ? "local[" + m.group(1) + ",4]" : master;
  }

  /** The driver's parameters: what training updates and checkpoints hold. */
  public ParameterRegistry params() {
    return params;
  }

  public MultiTaskConfig config() {
    return config;
  }

  WorkerSpec spec() {
    return spec;
  }

  /** Number of workers (Spark tasks per step). */
  public int workers() {
    return spec.workers();
  }

  /**
   * Trains as {@link Trainer#fit(org.mtlora.core.train.StepEngine, Path)} does, each step on the Spark workers.
   *
   * @param resumeFrom a checkpoint of this model (written by a Spark or a single-machine run), or null
   */
  public Trainer.Result fit(TrainerConfig trainerConfig, List<TrainingListener> listeners, Path resumeFrom)
      throws IOException {
    engine = new SparkSteps(sc, spec, params);
    return new Trainer(trainerConfig, listeners).fit(engine, resumeFrom);
  }

  /** What one step exchanges, measured over the last {@link #fit}. */
  public record Exchange(long steps, int workers, double broadcastBytesPerStep, double resultBytesPerStep,
      long failedTasks) {}

  /**
   * Bytes exchanged per step in the last {@link #fit}: the broadcast of trainable values and buffers (payload), and
   * the serialized task results Spark reports (all workers' gradients and buffers); and how many tasks failed.
   */
  public Exchange exchange() {
    Preconditions.checkState(engine != null, "exchange() before fit()");
    long expected = engine.steps() * spec.workers();
    long deadline = System.nanoTime() + 10_000_000_000L; // Spark's listener events arrive asynchronously
    while (listener.succeededTasks() < expected && System.nanoTime() < deadline) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    long steps = Math.max(1, engine.steps());
    return new Exchange(engine.steps(), spec.workers(), engine.broadcastBytesPerStep(),
        (double) listener.resultBytes() / steps, listener.failedTasks());
  }

  /** Forgets this run's cached workers in this JVM (executors of a cluster drop theirs when the application ends). */
  @Override
  public void close() {
    sc.sc().removeSparkListener(listener);
    ExecutorWorkers.release(spec.runId());
  }

  /** Builds a {@link SparkTrainer}; defaults: Spark's default parallelism as workers, seed 0, block checkpointing. */
  public static final class Builder {
    private final MultiTaskConfig config;
    private final Path backboneWeights;
    private final ShardData data;
    private int workers;
    private long initSeed;
    private ActivationCheckpointing checkpointing = ActivationCheckpointing.BLOCK;
    private ShardHook hook = ShardHook.NONE;

    private Builder(MultiTaskConfig config, Path backboneWeights, ShardData data) {
      this.config = Preconditions.checkNotNull(config, "config");
      this.backboneWeights = Preconditions.checkNotNull(backboneWeights, "backboneWeights");
      this.data = Preconditions.checkNotNull(data, "data");
    }

    /** Spark tasks per step; each computes an equal shard of the global batch. */
    public Builder workers(int n) {
      Preconditions.checkArgument(n >= 1, "workers must be >= 1, found %s", n);
      this.workers = n;
      return this;
    }

    /** Seed of the adapters' and decoders' initial values (as {@code MtLoraModel.create}). */
    public Builder initSeed(long seed) {
      this.initSeed = seed;
      return this;
    }

    /**
     * How each worker's step keeps activations (default BLOCK, the smallest peak: several workers may share one
     * machine); {@link ActivationCheckpointing#AUTO} means BLOCK here, as the workers' memory is not this process's.
     */
    public Builder activationCheckpointing(ActivationCheckpointing mode) {
      Preconditions.checkNotNull(mode, "mode");
      this.checkpointing = mode == ActivationCheckpointing.AUTO ? ActivationCheckpointing.BLOCK : mode;
      return this;
    }

    /** Called on the executor before every shard (tests inject failures with it). */
    public Builder hook(ShardHook hook) {
      this.hook = Preconditions.checkNotNull(hook, "hook");
      return this;
    }

    /** Loads the driver's parameters (pretrained backbone, initial adapters and decoders) and binds to {@code sc}. */
    public SparkTrainer build(JavaSparkContext sc) throws IOException {
      Preconditions.checkNotNull(sc, "sc");
      Preconditions.checkArgument(Files.isRegularFile(backboneWeights), "backbone weights %s: no such file",
          backboneWeights);
      int n = workers > 0 ? workers : sc.defaultParallelism();
      MultiTaskModel model = new MultiTaskModel(config);
      ParameterRegistry params = model.newRegistry(initSeed);
      SwinCheckpoints.loadPretrained(backboneWeights, params, true);
      WorkerSpec spec = new WorkerSpec(UUID.randomUUID().toString(), config.toJsonString(),
          backboneWeights.toAbsolutePath().toString(), initSeed, checkpointing, data, n, params.frozenHash(), hook);
      return new SparkTrainer(sc, config, params, spec);
    }
  }
}
