package org.mtlora.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.io.AtomicFiles;
import org.mtlora.core.io.LoadReport;
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
import org.mtlora.data.PascalBatches;
import org.mtlora.data.PascalContextDataset;
import org.mtlora.data.PascalSample;
import org.mtlora.data.SyntheticPascal;
import org.mtlora.heads.Evaluator;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.ActivationCheckpointing;
import org.mtlora.heads.AdapterFolder;
import org.mtlora.heads.InferenceModel;
import org.mtlora.heads.PredictionPictures;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.metrics.DeltaM;
import org.mtlora.swin.SwinCheckpoints;
import org.mtlora.swin.SwinConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mtlora demo}: the whole workflow on a synthetic PASCAL-Context-format data set, in a few minutes on 2 cores.
 * It writes (or reuses) the data set, pre-trains a small Swin backbone on it and saves it as an official-style
 * safetensors checkpoint, loads that back frozen into an MTLoRA model, evaluates, fine-tunes the adapters and decoders
 * with a progress bar, evaluates again, and writes a run folder.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = "Fine-tune MTLoRA on a generated PASCAL-Context-format data set and compare metrics before/after.")
final class DemoCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--data", defaultValue = "runs/demo-data", description = "data set folder (generated when absent)")
  Path data;

  @Option(names = "--run-dir", defaultValue = "runs/demo", description = "output folder (default ${DEFAULT-VALUE})")
  Path runDir;

  @Option(names = "--pretrain-steps", defaultValue = "120", description = "backbone pre-training steps")
  int pretrainSteps;

  @Option(names = "--steps", defaultValue = "200", description = "MTLoRA fine-tuning steps")
  int steps;

  @Option(names = "--batch", defaultValue = "4", description = "batch size (default ${DEFAULT-VALUE})")
  int batch;

  @Option(names = "--seed", defaultValue = "0", description = "seed of data, initialisation and masks")
  long seed;

  @Option(names = "--resume", description = "'auto': continue an interrupted demo in --run-dir from its newest "
      + "checkpoint, reusing its pre-trained backbone (without it, an earlier demo in --run-dir is replaced)")
  String resume;

  @Option(names = "--checkpoint-every", description = "fine-tuning steps between checkpoints (default: half the steps)")
  Long checkpointEvery;

  static final List<String> TASKS = List.of("semseg", "human_parts", "sal", "normals");
  static final int IMG = 64;
  /** Validation images whose predictions the demo draws before and after fine-tuning. */
  static final int PICTURES = 3;

  /** The demo's small backbone: 64x64 input, 16x16 tokens, two stages. */
  static SwinConfig backbone() {
    return SwinConfig.builder().imgSize(IMG).patchSize(4).embedDim(24).depths(2, 2).numHeads(2, 4).windowSize(4)
        .dropPathRate(0.1).build();
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    OptionChecks.atLeast("--steps", steps, 1);
    OptionChecks.atLeast("--pretrain-steps", pretrainSteps, 1);
    OptionChecks.atLeast("--batch", batch, 1);
    long every = checkpointEvery == null ? Math.max(1, steps / 2) : checkpointEvery;
    OptionChecks.atLeast("--checkpoint-every", every, 1);
    if (resume != null && !resume.equals("auto")) {
      throw new IllegalArgumentException("--resume takes 'auto' for the demo, found '" + resume + "'");
    }
    if (Files.isRegularFile(data)) {
      throw new IllegalArgumentException("--data " + data + " is a file; expected a data set folder");
    }
    MultiTaskConfig config = MultiTaskConfig.pascal(backbone(), AdapterConfig.mtlora(8, 4), TASKS);
    try (RunFolder folder = RunFolder.open(runDir, runDescription(config),
        resume == null ? RunFolder.Existing.REPLACE : RunFolder.Existing.RESUME)) {
      return run(out, config, folder, every);
    }
  }

  private String runDescription(MultiTaskConfig config) throws java.io.IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode run = json.createObjectNode();
    run.set("model", config.toJson());
    run.put("seed", seed);
    run.put("steps", steps);
    run.put("pretrain_steps", pretrainSteps);
    run.put("batch", batch);
    return json.writerWithDefaultPrettyPrinter().writeValueAsString(run);
  }

  private int run(PrintWriter out, MultiTaskConfig config, RunFolder folder, long every) throws Exception {
    long t0 = System.nanoTime();
    if (!Files.exists(data.resolve("ImageSets/Context/train.txt"))) {
      out.printf("generating a synthetic PASCAL-Context data set in %s ...%n", data);
      out.flush();
      SyntheticPascal.generate(data, 48, 16, 96, seed);
    }
    PascalContextDataset train = new PascalContextDataset(data, "train");
    PascalContextDataset val = new PascalContextDataset(data, "val");
    PascalBatches trainBatches = new PascalBatches(train, IMG, batch, seed, true);
    PascalBatches valBatches = new PascalBatches(val, IMG, batch, seed, false);
    out.printf("data: %d train / %d val images at %dx%d%n", train.size(), val.size(), IMG, IMG);

    // 1. Pre-train a plain backbone (with decoders) briefly, and save it as the "pretrained" checkpoint.
    SwinConfig swin = config.swin();
    Path pretrained = folder.dir().resolve("pretrained-backbone.safetensors");
    Path from = resume == null ? null : folder.latestCheckpoint().orElse(null);
    if (resume != null && Files.exists(pretrained)) {
      out.printf("%n[1/3] reusing the pre-trained backbone %s%n", pretrained);
    } else {
      pretrain(out, swin, pretrained, trainBatches);
    }

    // 2. MTLoRA model on the frozen pretrained backbone.
    MultiTaskModel model = new MultiTaskModel(config);
    ParameterRegistry params = model.newRegistry(seed + 1);
    LoadReport report = SwinCheckpoints.loadPretrained(pretrained, params, true);
    out.printf("%n[2/3] MTLoRA on the frozen backbone: %s%n%s", report.describe(), params.report().format());
    Map<String, Double> before = Evaluator.evaluate(model, params, valBatches, valBatches.evaluationBatches(),
        DeltaM.PAPER_BASELINES);
    writePictures(folder.dir().resolve("pictures").resolve("before"), config, params, valBatches, val.size());

    // 3. Fine-tune adapters and decoders.
    if (from != null) {
      long at = Checkpoints.validate(from, params, config.toJsonString()).step();
      out.printf(Locale.ROOT, "%n[3/3] fine-tuning (%d steps), resuming from %s (step %d)%n", steps, from, at);
    } else {
      out.printf("%n[3/3] fine-tuning (%d steps)%s%n", steps, resume == null ? ""
          : ", from step 0: no checkpoint in " + folder.checkpoints());
    }
    out.flush();
    SegmentChain g = model.trainingGraph(params, DataType.FLOAT, ActivationCheckpointing.NONE);
    TrainerConfig tc = TrainerConfig.builder(new LrSchedule(3e-3, 1e-4, 1e-4, steps / 10, steps)).seed(seed)
        .checkpoints(folder.checkpoints(), every, 2).modelDescription(config.toJsonString())
        .build();
    try (PrefetchingBatchSource prefetch = new PrefetchingBatchSource(trainBatches, 2, 1)) {
      new Trainer(tc, List.of(new ConsoleProgress("fine-tune"), new CsvLog(folder.log()),
          LossPlot.fromLog(folder.dir().resolve("loss.png"), folder.log()))).fit(g, prefetch, from);
    }
    Map<String, Double> after = Evaluator.evaluate(model, params, valBatches, valBatches.evaluationBatches(),
        DeltaM.PAPER_BASELINES);
    writePictures(folder.dir().resolve("pictures").resolve("after"), config, params, valBatches, val.size());
    Path adapters = folder.dir().resolve("adapters");
    AdapterFolder.save(adapters, config, params);
    long adapterBytes = Files.size(adapters.resolve(AdapterFolder.MODEL));

    out.printf("%n%-22s %10s %10s%n", "metric (val)", "before", "after");
    for (String k : after.keySet()) {
      if (!k.equals("delta_m")) {
        out.printf(Locale.ROOT, "%-22s %10.2f %10.2f%n", k, before.get(k), after.get(k));
      }
    }
    writeMetrics(before, after, adapterBytes, (System.nanoTime() - t0) / 1e9);
    out.printf(Locale.ROOT, "%nrun folder %s: log.csv, loss.png, pictures/before|after/ (predictions), adapters/ "
        + "(%,d bytes of tensors), metrics.json, "
        + "checkpoints/, pretrained-backbone.safetensors; %.0f s in all%n", runDir, adapterBytes,
        (System.nanoTime() - t0) / 1e9);
    out.flush();
    return 0;
  }

  /** Pictures of the first few validation images' predictions (merged model), to see what fine-tuning did. */
  private static void writePictures(Path dir, MultiTaskConfig config, ParameterRegistry params, PascalBatches val,
      int available) throws java.io.IOException {
    InferenceModel merged = InferenceModel.merged(config, params);
    for (int i = 0; i < Math.min(PICTURES, available); i++) {
      PascalSample s = val.sample(i);
      Map<String, INDArray> out = merged.predict(PascalBatches.tensors(List.of(s), IMG).get(MultiTaskModel.INPUT));
      PredictionPictures.write(dir, s.id(), PredictionPictures.fromPlanar(s.image(), IMG), config.tasks(), out, 0);
    }
  }

  /** Trains the plain backbone with decoders and writes its backbone under official Swin names. */
  private void pretrain(PrintWriter out, SwinConfig swin, Path file, PascalBatches trainBatches) throws Exception {
    MultiTaskModel plain = new MultiTaskModel(MultiTaskConfig.pascal(swin, AdapterConfig.fullFineTuning(), TASKS));
    ParameterRegistry plainParams = plain.newRegistry(seed);
    out.printf("%n[1/3] pre-training the backbone (%d steps, all %,d parameters)%n", pretrainSteps,
        plainParams.report().trainableParameters());
    out.flush();
    SegmentChain pg = plain.trainingGraph(plainParams, DataType.FLOAT, ActivationCheckpointing.NONE);
    new Trainer(TrainerConfig.builder(new LrSchedule(2e-3, 1e-4, 1e-4, pretrainSteps / 10, pretrainSteps))
        .seed(seed).build(), List.of(new ConsoleProgress("pre-train"))).fit(pg, trainBatches, null);
    SwinCheckpoints.savePretrained(file, plainParams);
  }

  private void writeMetrics(Map<String, Double> before, Map<String, Double> after, long adapterBytes, double seconds)
      throws java.io.IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = json.createObjectNode();
    before.forEach(root.putObject("before")::put);
    after.forEach(root.putObject("after")::put);
    root.put("adapter_bytes", adapterBytes);
    root.put("seconds", seconds);
    root.put("note", "metrics in percent (mIoU, maxF) and degrees (normals); delta_m against the paper's PASCAL "
        + "baselines is meaningless on synthetic data and shown for the format only");
    byte[] bytes = json.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
    AtomicFiles.write(runDir.resolve("metrics.json"), ch -> ch.write(java.nio.ByteBuffer.wrap(bytes)));
  }

}
