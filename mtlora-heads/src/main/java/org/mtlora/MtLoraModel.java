package org.mtlora;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableMap;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.mtlora.core.io.LoadReport;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.params.ParameterReport;
import org.mtlora.core.train.BatchSource;
import org.mtlora.core.train.ConsoleProgress;
import org.mtlora.core.train.CsvLog;
import org.mtlora.core.train.LossPlot;
import org.mtlora.core.train.RunFolder;
import org.mtlora.core.train.SegmentChain;
import org.mtlora.core.train.Trainer;
import org.mtlora.core.train.TrainerConfig;
import org.mtlora.core.train.TrainingListener;
import org.mtlora.heads.ActivationCheckpointing;
import org.mtlora.heads.AdapterFolder;
import org.mtlora.heads.Evaluator;
import org.mtlora.heads.InferenceModel;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.metrics.DeltaM;
import org.mtlora.swin.SwinCheckpoints;
import org.mtlora.tasks.Task;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The front door: a multi-task Swin model with MTLoRA adapters, ready to fine-tune, evaluate, predict and save — the
 * class to read first. The PEFT equivalents are in brackets.
 *
 * <pre>{@code
 * MultiTaskConfig config = MultiTaskConfig.pascal(SwinConfig.tiny(448), AdapterConfig.mtlora(16, 4));
 * MtLoraModel model = MtLoraModel.create(config, Path.of("swin_tiny_patch4_window7_224.safetensors"));
 * model.printTrainableParameters();                        // print_trainable_parameters()
 * model.fit(trainBatches, TrainingConfig.builder(1000).runDir(Path.of("runs/a")).build());
 * Map<String, Double> metrics = model.evaluate(valBatches, valBatches.evaluationBatches());
 * model.saveAdapters(Path.of("adapters"));                 // save_pretrained(dir)
 * MtLoraModel again = MtLoraModel.fromAdapters(Path.of("adapters"), weights);  // from_pretrained(dir)
 * Map<String, INDArray> out = again.predict(images);        // per task, [B, K, S, S]
 * again.merge().export(Path.of("model.sd"));                // merge_and_unload(); plain SameDiff file
 * }</pre>
 *
 * <p>The model owns its parameters: frozen backbone weights from the pretrained file, everything else initialised
 * from the seed, frozen by the configuration's {@link org.mtlora.core.adapter.Method}. Graphs are built when needed
 * and rebuilt when the parameters changed, so a weight loaded later always takes effect. Data come as {@link
 * BatchSource}s of the model's placeholders: {@code input} {@code [B, 3, S, S]} (RGB, ImageNet-normalised, NCHW) and
 * each task's {@link Task#targetName()}. Not thread-safe.
 */
public final class MtLoraModel {
  private final MultiTaskConfig config;
  private final MultiTaskModel model;
  private final ParameterRegistry params;
  private final LoadReport backboneReport;
  private MultiTaskModel.Graph inference;
  private long inferenceRevision; // the registry's revision when the inference graph was built

  private MtLoraModel(MultiTaskConfig config, ParameterRegistry params, MultiTaskModel model, LoadReport report) {
    this.config = config;
    this.model = model;
    this.params = params;
    this.backboneReport = report;
  }

  /**
   * A model of {@code config} on pretrained backbone weights (safetensors, official Swin or reference names; every
   * backbone weight must be present and of the right shape), adapters and decoders initialised from seed 0.
   */
  public static MtLoraModel create(MultiTaskConfig config, Path backboneWeights) throws IOException {
    return create(config, backboneWeights, 0);
  }

  /** As {@link #create(MultiTaskConfig, Path)}, initialising adapters and decoders from {@code seed}. */
  public static MtLoraModel create(MultiTaskConfig config, Path backboneWeights, long seed) throws IOException {
    Preconditions.checkNotNull(config, "config");
    MultiTaskModel model = new MultiTaskModel(config);
    ParameterRegistry params = model.newRegistry(seed);
    LoadReport report = SwinCheckpoints.loadPretrained(backboneWeights, params, true);
    return new MtLoraModel(config, params, model, report);
  }

  /**
   * The model an adapter folder describes ({@link AdapterFolder}), on the backbone weights it was trained on.
   *
   * @param extraTasks the folder's tasks that are not PASCAL-Context tasks
   * @throws IllegalArgumentException naming the folder and what differs: a missing or edited configuration, a tensor
   *     set that does not match, other backbone weights
   */
  public static MtLoraModel fromAdapters(Path dir, Path backboneWeights, Task... extraTasks) throws IOException {
    MultiTaskConfig config = AdapterFolder.readConfig(dir, List.of(extraTasks));
    MtLoraModel m = create(config, backboneWeights);
    AdapterFolder.loadInto(dir, config, m.params);
    return m;
  }

  public MultiTaskConfig config() {
    return config;
  }

  /** What loading the backbone weights found (renamed keys, ignored classifier tensors). */
  public LoadReport backboneReport() {
    return backboneReport;
  }

  /**
   * The parameters and buffers, for inspection and advanced use (the building blocks). Change values through {@link
   * ParameterRegistry#assign}, so that this model sees the change.
   */
  public ParameterRegistry parameters() {
    return params;
  }

  /** Parameter counts: total and trainable, per role and per task. */
  public ParameterReport trainableParameters() {
    return params.report();
  }

  /**
   * Prints PEFT's line ({@code trainable params: N || all params: M || trainable%: P}) and the table per role and
   * task to standard output; returns the text.
   */
  public String printTrainableParameters() {
    return printTrainableParameters(System.out);
  }

  /** As {@link #printTrainableParameters()}, to {@code out}. */
  public String printTrainableParameters(PrintStream out) {
    ParameterReport r = params.report();
    String text = String.format(java.util.Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: "
        + "%.4f%n%s", r.trainableParameters(), r.totalParameters(),
        100.0 * r.trainableParameters() / r.totalParameters(), r.format());
    out.print(text);
    out.flush();
    return text;
  }

  /**
   * Fine-tunes the trainable parameters on {@code data} (batch {@code k} for step {@code k}). With a run folder:
   * checkpoints, {@code log.csv}, {@code loss.png}, resume, and the adapters in {@code <runDir>/adapters} at the end.
   *
   * @throws org.mtlora.core.train.TrainingDivergedException when a loss becomes NaN or infinite (naming the task)
   */
  public FitResult fit(BatchSource data, TrainingConfig training) throws IOException {
    Preconditions.checkNotNull(data, "data");
    List<TrainingListener> listeners = new ArrayList<>();
    if (training.progress()) {
      listeners.add(new ConsoleProgress("fit"));
    }
    TrainerConfig.Builder tc = TrainerConfig.builder(training.schedule()).seed(training.seed())
        .modelDescription(config.toJsonString());
    if (training.runDir().isEmpty()) {
      listeners.addAll(training.listeners());
      Trainer.Result r = new Trainer(tc.build(), listeners).fit(trainingGraph(training, data), data, null);
      return new FitResult(r.steps(), r.lastLoss(), Optional.empty(), Optional.empty());
    }
    Path dir = training.runDir().get();
    String run = "{\"model\":" + config.toJsonString() + ",\"training\":" + training.describe() + "}";
    try (RunFolder folder = RunFolder.open(dir, run,
        training.resume() ? RunFolder.Existing.RESUME : RunFolder.Existing.REFUSE)) {
      Path from = training.resume() ? folder.latestCheckpoint().orElse(null) : null;
      listeners.add(new CsvLog(folder.log()));
      listeners.add(LossPlot.fromLog(folder.dir().resolve("loss.png"), folder.log()));
      listeners.addAll(training.listeners());
      tc.checkpoints(folder.checkpoints(), training.checkpointEvery(), 2);
      Trainer.Result r = new Trainer(tc.build(), listeners).fit(trainingGraph(training, data), data, from);
      Path adapters = folder.dir().resolve("adapters");
      saveAdapters(adapters);
      return new FitResult(r.steps(), r.lastLoss(), Optional.ofNullable(r.lastCheckpoint()), Optional.of(adapters));
    }
  }

  private SegmentChain trainingGraph(TrainingConfig training, BatchSource data) {
    inference = null; // training changes the parameters
    ActivationCheckpointing mode = training.activationCheckpointing();
    if (mode == ActivationCheckpointing.AUTO) { // sized for the first batch (every batch of a run has one size)
      INDArray input = data.batch(0).get(MultiTaskModel.INPUT);
      Preconditions.checkArgument(input != null && input.rank() == 4, "the training data's batches must hold '%s' "
          + "[B, 3, S, S]; batch 0 has %s", MultiTaskModel.INPUT, input == null ? "none" : input.shapeInfoToString());
      mode = mode.resolve(config, input.size(0));
      if (training.progress()) {
        System.err.println("activation checkpointing: " + ActivationCheckpointing.describe(
            ActivationCheckpointing.AUTO, config, input.size(0)));
      }
    }
    return model.trainingGraph(params, DataType.FLOAT, mode);
  }

  /**
   * Each task's metrics over the first {@code numBatches} batches of {@code data}, in evaluation mode: keys {@code
   * <task>.<metric>} (e.g. {@code semseg.mIoU}, {@code normals.mean_angle}) and, when every task is a PASCAL-Context
   * task, {@code delta_m} against the paper's single-task baselines.
   */
  public ImmutableMap<String, Double> evaluate(BatchSource data, int numBatches) {
    return evaluate(data, numBatches, DeltaM.PAPER_BASELINES);
  }

  /** As {@link #evaluate(BatchSource, int)}, with Δm against {@code baselines} (task name to primary metric). */
  public ImmutableMap<String, Double> evaluate(BatchSource data, int numBatches, Map<String, Double> baselines) {
    Preconditions.checkArgument(numBatches >= 1, "numBatches must be >= 1, found %s", numBatches);
    return Evaluator.evaluate(model, params, data, numBatches, baselines);
  }

  /**
   * Every task's prediction for a batch of images, in evaluation mode: {@code out/<task>} {@code [B, K, S, S]}
   * (class logits, the saliency logit, unnormalised normal vectors), keyed by task name.
   *
   * @param input {@code [B, 3, S, S]}, RGB, ImageNet-normalised, float
   */
  public ImmutableMap<String, INDArray> predict(INDArray input) {
    if (inference == null || params.revision() != inferenceRevision) {
      inference = model.build(GraphContext.evaluation(SameDiff.create(), params, DataType.FLOAT), false);
      inferenceRevision = params.revision();
    }
    return inference.predict(input);
  }

  /**
   * The merged inference model of every task ({@link InferenceModel}: each shared adapter without task paths folded
   * into its weight; exact, and smaller and faster than the training graph), which {@link InferenceModel#export}
   * writes as a plain SameDiff file. This model is unchanged.
   */
  public InferenceModel merge() {
    return InferenceModel.merged(config, params);
  }

  /** The merged inference model of one task: only what that task needs is computed ({@link #merge()}). */
  public InferenceModel merge(String task) {
    return InferenceModel.singleTask(config, params, task);
  }

  /**
   * Writes the trainable tensors, the buffers and the full configuration to {@code dir} ({@value
   * AdapterFolder#CONFIG}, {@value AdapterFolder#MODEL}); {@link #fromAdapters} rebuilds the model from it.
   */
  public void saveAdapters(Path dir) throws IOException {
    AdapterFolder.save(dir, config, params);
  }
}
