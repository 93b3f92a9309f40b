package org.mtlora.heads;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableMap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import org.mtlora.core.adapter.MtLoraLinear;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A model for serving: evaluation mode only (batch-norm running statistics, no dropout), built by merging a trained
 * model's adapters — all its tasks ({@link #merged}) or one ({@link #singleTask}) — and exportable as a plain
 * SameDiff file ({@link #export}).
 *
 * <p>Merging (reference-spec §1.1, §1.3): every adapted dense layer without task paths folds its task-agnostic delta
 * into its weight, {@code W' = W + s_sh · B_sh A_sh}, and becomes one dense product; this is all of qkv, every layer
 * of the blocks that are not a stage's last, and MTLoRA+'s reduction adapter. The layers of a stage's last block that
 * carry task paths keep the exact maths of their mode (the task paths need the unmerged {@code W x}). The trained
 * registry is never changed; a non-finite delta is refused naming the layer (PEFT's {@code safe_merge}).
 *
 * <p>Graph names as in {@link MultiTaskModel}: placeholder {@code input} {@code [B, 3, S, S]} (RGB,
 * ImageNet-normalised, NCHW, float32) and outputs {@code out/<task>} {@code [B, K, S, S]}.
 */
public final class InferenceModel {
  private final MultiTaskConfig config;
  private final MultiTaskModel model;
  private final ParameterRegistry params;
  private MultiTaskModel.Graph graph;

  private InferenceModel(MultiTaskConfig config, MultiTaskModel model, ParameterRegistry params) {
    this.config = config;
    this.model = model;
    this.params = params;
  }

  /** The merged model of every task of {@code config}, from a trained registry of that model. */
  public static InferenceModel merged(MultiTaskConfig config, ParameterRegistry trained) {
    return merge(config, trained);
  }

  /**
   * The merged model of one task: only the shared stream, that task's stream, downsampler and decoder are computed.
   *
   * @throws IllegalArgumentException for a task the model does not have
   */
  public static InferenceModel singleTask(MultiTaskConfig config, ParameterRegistry trained, String task) {
    return merge(config.restrictedTo(task), trained);
  }

  private static InferenceModel merge(MultiTaskConfig served, ParameterRegistry trained) {
    MultiTaskModel unmerged = new MultiTaskModel(served);
    MultiTaskModel merged = new MultiTaskModel(served, served.lora().forMergedInference());
    ParameterRegistry out = new ParameterRegistry();
    out.declareAll(merged.paramSpecs());
    for (ParamSpec s : out.specs()) {
      Preconditions.checkArgument(trained.contains(s.name()), "the trained model has no %s: merge needs the "
          + "registry of the model the configuration describes", s.name());
      out.set(s.name(), trained.get(s.name()).dup());
    }
    Map<String, MtLoraLinear> mergedLayers = new java.util.HashMap<>();
    merged.backbone().denseLayers().forEach(l -> mergedLayers.put(l.prefix(), l));
    for (MtLoraLinear layer : unmerged.backbone().denseLayers()) {
      if (layer.adapted() && !mergedLayers.get(layer.prefix()).adapted()) {
        INDArray delta = layer.deltaWeight(trained, "shared");
        Preconditions.checkArgument(Double.isFinite(delta.sumNumber().doubleValue()), // NaN or inf in, NaN or inf out
            "%s: the shared adapter's delta has NaN or infinite values; refusing to merge it", layer.prefix());
        out.assign(layer.weightName(), trained.get(layer.weightName()).add(delta.castTo(
            trained.get(layer.weightName()).dataType())));
      }
    }
    out.applyPolicy(FreezePolicy.of(s -> false));
    return new InferenceModel(served, merged, out);
  }

  /** The configuration served (one task for a single-task model). */
  public MultiTaskConfig config() {
    return config;
  }

  /** The merged parameters and buffers (a registry of their own; nothing trains). */
  public ParameterRegistry parameters() {
    return params;
  }

  /**
   * Every served task's prediction for a batch, {@code out/<task>} {@code [B, K, S, S]}, keyed by task name.
   *
   * @param input {@code [B, 3, S, S]}, RGB, ImageNet-normalised
   */
  public ImmutableMap<String, INDArray> predict(INDArray input) {
    if (graph == null) {
      graph = model.build(GraphContext.evaluation(SameDiff.create(), params, DataType.FLOAT), false);
    }
    return graph.predict(input);
  }

  /** Whether predictions now replay the first one's ops ({@link org.mtlora.core.graph.ForwardRunner}). */
  boolean replays() {
    return graph != null && graph.context().forwardRunner().replays();
  }

  /**
   * Writes the evaluation graph with its weights as a SameDiff file (written to a temporary file, then moved): a
   * program with only ND4J on its class path loads it with {@code SameDiff.load(file, true)} and runs {@code
   * sd.output(Map.of("input", x), "out/<task>")}.
   *
   * @return the file's size in bytes
   */
  public long export(Path file) throws IOException {
    SameDiff sd = model.build(GraphContext.evaluation(SameDiff.create(), params, DataType.FLOAT), false).sd();
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
    try {
      sd.save(tmp.toFile(), true);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
    return Files.size(file);
  }
}
