package org.mtlora.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.mtlora.core.io.AtomicFiles;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.Checkpoints;
import org.mtlora.core.train.ConsoleProgress;
import org.mtlora.core.train.CsvLog;
import org.mtlora.core.train.LossPlot;
import org.mtlora.core.train.LrSchedule;
import org.mtlora.core.train.PrefetchingBatchSource;
import org.mtlora.core.train.RunFolder;
import org.mtlora.core.train.SegmentChain;
import org.mtlora.core.train.Trainer;
import org.mtlora.core.train.TrainerConfig;
import org.mtlora.core.train.TrainingListener;
import org.mtlora.spark.PascalShards;
import org.mtlora.spark.SparkTrainer;
import org.mtlora.data.PascalBatches;
import org.mtlora.data.PascalContextDataset;
import org.mtlora.heads.Evaluator;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.ActivationCheckpointing;
import org.mtlora.heads.AdapterFolder;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.metrics.DeltaM;
import org.mtlora.swin.SwinCheckpoints;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code mtlora train}: fine-tunes on PASCAL-Context with the reference's recipe (AdamW 0.05, LR 5e-4 / 5e-7 / 5e-6
 * scaled by batch / 512, warmup then cosine, clipping 5), checkpoints and resume, then evaluates on val.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
    description = "Fine-tune on PASCAL-Context (reference recipe), with checkpoints, resume and a final evaluation.")
final class TrainCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin PascalRunOptions opts;

  @Option(names = "--epochs", defaultValue = "300", description = "epochs (default ${DEFAULT-VALUE})")
  int epochs;

  @Option(names = "--warmup-epochs", defaultValue = "20", description = "warmup epochs (default ${DEFAULT-VALUE})")
  int warmupEpochs;

  @Option(names = "--run-dir", defaultValue = "runs/train", description = "output folder (default ${DEFAULT-VALUE})")
  Path runDir;

  @Option(names = "--resume", description = "a checkpoint, or 'auto' for the newest in the run folder (which must "
      + "hold a run of the same options; without --resume a folder holding checkpoints is refused)")
  String resume;

  @Option(names = "--activation-checkpointing", defaultValue = "auto",
      description = "auto, none, stage or block: recompute backbone activations per segment in the backward to save "
          + "memory; auto takes none (the fastest) when its estimated peak fits the memory limit, else stage, else "
          + "block; with --spark-master auto means block (default ${DEFAULT-VALUE}; see docs/fine-tuning.md)")
  String checkpointing;

  @Option(names = "--checkpoint-every", defaultValue = "780", description = "steps between checkpoints (5 epochs)")
  long checkpointEvery;

  @Option(names = "--spark-master", paramLabel = "MASTER",
      description = "train data-parallel on Apache Spark: local[N] (N workers on this machine, each failed task "
          + "tried up to 4 times), a cluster's master URL, or 'submit' (the master spark-submit was given). The "
          + "batch (--batch) is the global one, split evenly over the workers (docs/distributed.md)")
  String sparkMaster;

  @Option(names = "--workers", description = "with --spark-master: Spark tasks per step (default: N of local[N], "
      + "else Spark's default parallelism)")
  Integer workers;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    // 1. Every option, before any work.
    ActivationCheckpointing recompute = ActivationCheckpointing.named(checkpointing);
    if (workers != null) {
      OptionChecks.atLeast("--workers", workers, 1);
      if (sparkMaster == null) {
        throw new IllegalArgumentException("--workers needs --spark-master");
      }
    }
    int dataParallel = sparkMaster == null ? 1 : workers != null ? workers : SparkRun.localWorkers(sparkMaster);
    if (opts.batch % dataParallel != 0) {
      throw new IllegalArgumentException("--batch " + opts.batch + " does not split evenly over " + dataParallel
          + " Spark workers (--spark-master " + sparkMaster + (workers != null ? ", --workers " + workers : "")
          + "): choose a multiple");
    }
    opts.validate();
    OptionChecks.atLeast("--epochs", epochs, 1);
    OptionChecks.atLeast("--warmup-epochs", warmupEpochs, 0);
    if (warmupEpochs >= epochs) {
      throw new IllegalArgumentException("--warmup-epochs must be less than --epochs, found " + warmupEpochs
          + " and " + epochs);
    }
    OptionChecks.atLeast("--checkpoint-every", checkpointEvery, 1);
    if (resume != null && !resume.equals("auto")) {
      OptionChecks.file("--resume", Path.of(resume), "a checkpoint file (or 'auto')");
    }
    MultiTaskConfig config = opts.config();

    // 2. The run folder: writable, ours alone, and holding nothing that does not fit.
    try (RunFolder folder = RunFolder.open(runDir, runDescription(config, dataParallel),
        resume == null ? RunFolder.Existing.REFUSE : RunFolder.Existing.RESUME)) {
      if (sparkMaster == null) {
        return train(out, config, recompute, folder, null);
      }
      try (SparkRun spark = SparkRun.start(sparkMaster, "mtlora train")) {
        return train(out, config, recompute, folder, spark);
      }
    }
  }

  /** What must not change between a run and its resumption: the model and everything that decides the batches. */
  private String runDescription(MultiTaskConfig config, int dataParallel) throws java.io.IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode run = json.createObjectNode();
    run.set("model", config.toJson());
    run.put("seed", opts.seed);
    run.put("batch", opts.batch);
    run.put("epochs", epochs);
    run.put("warmup_epochs", warmupEpochs);
    run.put("normals_valid_classes", opts.normalsValidClasses().ids().toString());
    if (dataParallel > 1) { // one worker computes exactly what one machine does; more change batch norm and masks
      run.put("data_parallel_workers", dataParallel);
    }
    return json.writerWithDefaultPrettyPrinter().writeValueAsString(run);
  }

  private int train(PrintWriter out, MultiTaskConfig config, ActivationCheckpointing recompute, RunFolder folder,
      SparkRun spark) throws Exception {
    PascalContextDataset train = new PascalContextDataset(opts.pascal, "train", opts.normalsValidClasses());
    PascalContextDataset val = new PascalContextDataset(opts.pascal, "val", opts.normalsValidClasses());
    MultiTaskModel model = new MultiTaskModel(config);
    ParameterRegistry params = model.newRegistry(opts.seed);
    out.println(SwinCheckpoints.loadPretrained(opts.backboneWeights, params, true).describe());
    SparkTrainer distributed = null;
    if (spark != null) {
      distributed = SparkTrainer.builder(config, opts.backboneWeights, PascalShards.of(opts.pascal,
          opts.normalsValidClasses(), config.swin().imgSize(), opts.batch, opts.seed)).workers(workers != null
          ? workers : SparkRun.workers(sparkMaster, spark.context())).initSeed(opts.seed)
          .activationCheckpointing(recompute).build(spark.context());
      params = distributed.params(); // the driver's values; the executors build the graphs
    }
    Path from = resume == null ? null
        : resume.equals("auto") ? folder.latestCheckpoint().orElse(null) : Path.of(resume);
    if (from != null) {
      Checkpoints.State state = Checkpoints.validate(from, params, config.toJsonString()); // before the slow graph build
      if (state.seed() != opts.seed) {
        throw new IllegalArgumentException(from + ": checkpoint of --seed " + state.seed() + ", this run has --seed "
            + opts.seed);
      }
      out.printf(Locale.ROOT, "resuming from %s (step %d)%n", from, state.step());
    } else if (resume != null) {
      out.printf("no checkpoint in %s: starting from step 0%n", folder.checkpoints());
    }
    out.print(params.report().format());
    PascalBatches batches = new PascalBatches(train, config.swin().imgSize(), opts.batch, opts.seed, true);
    long steps = (long) epochs * batches.stepsPerEpoch();
    long warmup = (long) warmupEpochs * batches.stepsPerEpoch();
    TrainerConfig tc = TrainerConfig.builder(LrSchedule.reference(opts.batch, warmup, steps)).seed(opts.seed)
        .checkpoints(folder.checkpoints(), checkpointEvery, 3).modelDescription(config.toJsonString()).build();
    List<TrainingListener> listeners = List.of(new ConsoleProgress("train"), new CsvLog(folder.log()),
        LossPlot.fromLog(folder.dir().resolve("loss.png"), folder.log()));
    if (distributed != null) {
      out.printf(Locale.ROOT, "training %d steps (%d epochs of %d), batch %d over %d Spark workers (%s)%n", steps,
          epochs, batches.stepsPerEpoch(), opts.batch, distributed.workers(), spark.master());
      out.flush();
      distributed.fit(tc, listeners, from);
      SparkTrainer.Exchange x = distributed.exchange();
      out.printf(Locale.ROOT, "exchanged per step: %.2f MB broadcast (trainable values and buffers), %.2f MB of "
          + "task results (%d workers' gradients); %d failed task(s) retried%n", x.broadcastBytesPerStep() / 1e6,
          x.resultBytesPerStep() / 1e6, x.workers(), x.failedTasks());
      distributed.close();
    } else {
      ActivationCheckpointing mode = recompute.resolve(config, opts.batch);
      SegmentChain g = model.trainingGraph(params, DataType.FLOAT, mode);
      out.printf(Locale.ROOT, "training %d steps (%d epochs of %d), batch %d, activation checkpointing %s%n", steps,
          epochs, batches.stepsPerEpoch(), opts.batch, ActivationCheckpointing.describe(recompute, config, opts.batch));
      out.flush();
      try (PrefetchingBatchSource prefetch = new PrefetchingBatchSource(batches, 2, 1)) {
        new Trainer(tc, listeners).fit(g, prefetch, from);
      }
    }
    Path adapters = folder.dir().resolve("adapters");
    AdapterFolder.save(adapters, config, params);
    out.printf("adapters: %s (./mtlora eval --adapters %s --backbone-weights ... --pascal ...)%n", adapters, adapters);
    PascalBatches valBatches = new PascalBatches(val, config.swin().imgSize(), opts.batch, opts.seed, false);
    Map<String, Double> metrics = Evaluator.evaluate(model, params, valBatches, valBatches.evaluationBatches(),
        DeltaM.PAPER_BASELINES);
    EvalCommand.print(out, metrics);
    byte[] bytes = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(metrics);
    AtomicFiles.write(folder.dir().resolve("metrics.json"), ch -> ch.write(java.nio.ByteBuffer.wrap(bytes)));
    return 0;
  }
}
