package org.mtlora.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.mtlora.core.nn.GraphContext;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.AdapterFiles;
import org.mtlora.core.train.Checkpoints;
import org.mtlora.core.train.ConsoleProgress;
import org.mtlora.core.train.CsvLog;
import org.mtlora.core.train.LossPlot;
import org.mtlora.core.train.LrSchedule;
import org.mtlora.core.train.PrefetchingBatchSource;
import org.mtlora.core.train.SegmentChain;
import org.mtlora.core.train.Trainer;
import org.mtlora.core.train.TrainerConfig;
import org.mtlora.data.PascalBatches;
import org.mtlora.data.PascalContextDataset;
import org.mtlora.heads.Evaluator;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.ActivationCheckpointing;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.metrics.DeltaM;
import org.mtlora.swin.SwinCheckpoints;
import org.nd4j.autodiff.samediff.SameDiff;
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

  @Option(names = "--resume", description = "a checkpoint, or 'auto' for the newest in the run folder")
  String resume;

  @Option(names = "--activation-checkpointing", defaultValue = "block",
      description = "none, stage or block: recompute backbone activations per segment in the backward to save "
          + "memory (default ${DEFAULT-VALUE}; see docs/performance.md)")
  String checkpointing;

  @Option(names = "--checkpoint-every", defaultValue = "780", description = "steps between checkpoints (5 epochs)")
  long checkpointEvery;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    ActivationCheckpointing recompute = ActivationCheckpointing.named(checkpointing); // before any slow work
    MultiTaskConfig config = opts.config();
    MultiTaskModel model = new MultiTaskModel(config);
    ParameterRegistry params = model.newRegistry(opts.freezePolicy(), opts.seed);
    out.println(SwinCheckpoints.loadPretrained(opts.backboneWeights, params, true).describe());
    out.print(params.report().format());
    PascalContextDataset train = new PascalContextDataset(opts.pascal, "train", opts.normalsValidClasses());
    PascalContextDataset val = new PascalContextDataset(opts.pascal, "val", opts.normalsValidClasses());
    PascalBatches batches = new PascalBatches(train, config.swin().imgSize(), opts.batch, opts.seed, true);
    long steps = (long) epochs * batches.stepsPerEpoch();
    long warmup = (long) warmupEpochs * batches.stepsPerEpoch();
    TrainerConfig tc = TrainerConfig.builder(LrSchedule.reference(opts.batch, warmup, steps)).seed(opts.seed)
        .checkpoints(runDir.resolve("checkpoints"), checkpointEvery, 3).modelDescription(config.toJson()).build();
    Path from = resume == null ? null
        : resume.equals("auto") ? Checkpoints.latest(runDir.resolve("checkpoints")) : Path.of(resume);
    SegmentChain g = model.trainingGraph(params, DataType.FLOAT, recompute);
    out.printf(Locale.ROOT, "training %d steps (%d epochs of %d), batch %d%s%n", steps, epochs,
        batches.stepsPerEpoch(), opts.batch, from == null ? "" : ", resuming from " + from);
    out.flush();
    try (PrefetchingBatchSource prefetch = new PrefetchingBatchSource(batches, 2, 1)) {
      new Trainer(tc, List.of(new ConsoleProgress("train"), new CsvLog(runDir.resolve("log.csv")),
          new LossPlot(runDir.resolve("loss.png")))).fit(g, prefetch, from);
    }
    AdapterFiles.save(runDir.resolve("adapters.safetensors"), params, config.toJson());
    PascalBatches valBatches = new PascalBatches(val, config.swin().imgSize(), opts.batch, opts.seed, false);
    Map<String, Double> metrics = Evaluator.evaluate(model, params, valBatches, valBatches.evaluationBatches(),
        DeltaM.PAPER_BASELINES);
    EvalCommand.print(out, metrics);
    Files.writeString(runDir.resolve("metrics.json"), new ObjectMapper().writerWithDefaultPrettyPrinter()
        .writeValueAsString(metrics));
    return 0;
  }
}
