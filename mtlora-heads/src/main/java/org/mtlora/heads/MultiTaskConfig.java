package org.mtlora.heads;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mtlora.core.adapter.MtLoraConfig;
import org.mtlora.swin.ReferenceConfig;
import org.mtlora.swin.SwinConfig;
import org.mtlora.tasks.PascalTasks;
import org.mtlora.tasks.Task;

/**
 * Everything that shapes a {@link MultiTaskModel}: the backbone, the adapters, the tasks with their loss weights, and
 * the decoders (per-stage downsampler channels, decoder hidden width).
 *
 * <p>Immutable; from {@link #builder}, {@link #pascal} (the paper's setting) or a reference-style {@code config.json}
 * ({@link #read}). Validation happens in {@link Builder#build()}.
 */
public final class MultiTaskConfig {
  private final SwinConfig swin;
  private final MtLoraConfig lora;
  private final ImmutableList<Task> tasks;
  private final ImmutableMap<String, Double> lossWeights;
  private final ImmutableList<Integer> decoderChannels;
  private final int decoderHidden;

  private MultiTaskConfig(Builder b) {
    this.swin = b.swin;
    this.lora = b.lora;
    this.tasks = ImmutableList.copyOf(b.tasks);
    Map<String, Double> w = new LinkedHashMap<>();
    for (Task t : b.tasks) {
      w.put(t.name(), b.lossWeights.getOrDefault(t.name(), t.defaultWeight()));
    }
    this.lossWeights = ImmutableMap.copyOf(w);
    this.decoderChannels = ImmutableList.copyOf(b.decoderChannels);
    this.decoderHidden = b.decoderHidden > 0 ? b.decoderHidden
        : 4 * b.decoderChannels.stream().mapToInt(Integer::intValue).sum();
  }

  /**
   * The paper's PASCAL-Context setting: the four tasks, MTLoRA with the given ranks on a Swin preset, decoder
   * channels [18, 36, 72, 144], reference loss weights.
   */
  public static MultiTaskConfig pascal(SwinConfig swin, MtLoraConfig lora) {
    return builder(swin, lora, PascalTasks.byNames(lora.tasks())).build();
  }

  public static Builder builder(SwinConfig swin, MtLoraConfig lora, List<Task> tasks) {
    return new Builder(swin, lora, tasks);
  }

  /**
   * Reads a reference-style configuration ({@code config.json}): the backbone and adapter sections (see {@link
   * ReferenceConfig}), {@code MODEL.DECODER_CHANNELS}, {@code NUM_OUTPUT}, {@code loss_weights} and {@code
   * MODEL.DECODER_HEAD} (only {@code hrnet} is supported). Errors name the file and the key.
   */
  public static MultiTaskConfig read(Path file) throws IOException {
    ReferenceConfig ref = ReferenceConfig.read(file);
    try {
      return fromReference(ref);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  static MultiTaskConfig fromReference(ReferenceConfig ref) {
    JsonNode root = ref.json();
    List<Task> tasks = PascalTasks.byNames(ref.tasks());
    Builder b = builder(ref.swin(), ref.lora(), tasks);
    JsonNode channels = root.path("MODEL.DECODER_CHANNELS");
    if (channels.isArray()) {
      List<Integer> c = new ArrayList<>();
      channels.forEach(v -> c.add(v.asInt()));
      b.decoderChannels(c);
    }
    for (Task t : tasks) {
      JsonNode k = root.path("NUM_OUTPUT").path(t.name());
      Preconditions.checkArgument(k.isMissingNode() || k.asInt() == t.outputChannels(),
          "NUM_OUTPUT.%s is %s but task %s predicts %s channels", t.name(), k, t.name(), t.outputChannels());
      JsonNode head = root.path("MODEL.DECODER_HEAD").path(t.name());
      Preconditions.checkArgument(head.isMissingNode() || head.asText().equals("hrnet"),
          "MODEL.DECODER_HEAD.%s is '%s'; only 'hrnet' is supported", t.name(), head.asText());
      JsonNode w = root.path("loss_weights").path(t.name());
      if (!w.isMissingNode()) {
        b.lossWeight(t.name(), w.asDouble());
      }
    }
    Preconditions.checkArgument(root.path("MODEL.PER_TASK_DOWNSAMPLER").asBoolean(true),
        "MODEL.PER_TASK_DOWNSAMPLER=false is not supported");
    return b.build();
  }

  public SwinConfig swin() {
    return swin;
  }

  public MtLoraConfig lora() {
    return lora;
  }

  public ImmutableList<Task> tasks() {
    return tasks;
  }

  /** Loss weight per task, in task order. */
  public ImmutableMap<String, Double> lossWeights() {
    return lossWeights;
  }

  /** Output channels of each task's downsampler, one per stage. */
  public ImmutableList<Integer> decoderChannels() {
    return decoderChannels;
  }

  /** Width of the decoder's hidden 1x1 convolution. */
  public int decoderHidden() {
    return decoderHidden;
  }

  /** A JSON description (backbone shape, adapters, tasks, loss weights, decoder), stored with checkpoints and adapters. */
  public String toJson() {
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    com.fasterxml.jackson.databind.node.ObjectNode root = json.createObjectNode();
    com.fasterxml.jackson.databind.node.ObjectNode sw = root.putObject("swin");
    sw.put("img_size", swin.imgSize());
    sw.put("patch_size", swin.patchSize());
    sw.put("embed_dim", swin.embedDim());
    swin.depths().forEach(sw.putArray("depths")::add);
    swin.numHeads().forEach(sw.putArray("num_heads")::add);
    sw.put("window_size", swin.windowSize());
    sw.put("drop_path_rate", swin.dropPathRate());
    root.put("mtlora", lora.toString());
    lossWeights.forEach(root.putObject("loss_weights")::put);
    decoderChannels.forEach(root.putArray("decoder_channels")::add);
    root.put("decoder_hidden", decoderHidden);
    return root.toString();
  }

  /** A builder; decoder channels default to 18 * 2^stage ([18, 36, 72, 144]), loss weights to each task's default. */
  public static final class Builder {
    private final SwinConfig swin;
    private final MtLoraConfig lora;
    private final List<Task> tasks;
    private final Map<String, Double> lossWeights = new LinkedHashMap<>();
    private List<Integer> decoderChannels;
    private int decoderHidden;

    private Builder(SwinConfig swin, MtLoraConfig lora, List<Task> tasks) {
      this.swin = Preconditions.checkNotNull(swin, "swin");
      this.lora = Preconditions.checkNotNull(lora, "lora");
      this.tasks = List.copyOf(tasks);
    }

    /** Overrides one task's loss weight. */
    public Builder lossWeight(String task, double weight) {
      lossWeights.put(task, weight);
      return this;
    }

    /** Downsampler output channels, one per stage. */
    public Builder decoderChannels(List<Integer> channels) {
      this.decoderChannels = List.copyOf(channels);
      return this;
    }

    /**
     * Width of the decoder's hidden 1x1 convolution; default 4 x the sum of the decoder channels (1080 for [18, 36,
     * 72, 144], the reference's width).
     */
    public Builder decoderHidden(int hidden) {
      this.decoderHidden = hidden;
      return this;
    }

    /** Validates and builds. */
    public MultiTaskConfig build() {
      Preconditions.checkArgument(!tasks.isEmpty(), "at least one task is needed");
      if (decoderChannels == null) {
        List<Integer> c = new ArrayList<>();
        for (int i = 0; i < swin.numStages(); i++) {
          c.add(18 << i); // [18, 36, 72, 144] for the four Swin stages
        }
        decoderChannels = c;
      }
      List<String> names = tasks.stream().map(Task::name).toList();
      Preconditions.checkArgument(names.equals(lora.tasks()),
          "tasks %s must equal the adapter configuration's tasks %s (same order)", names, lora.tasks());
      Preconditions.checkArgument(decoderChannels.size() == swin.numStages(),
          "decoder channels %s must have one entry per stage (%s)", decoderChannels, swin.numStages());
      for (Map.Entry<String, Double> w : lossWeights.entrySet()) {
        Preconditions.checkArgument(names.contains(w.getKey()), "loss weight for unknown task '%s'; tasks are %s",
            w.getKey(), names);
        Preconditions.checkArgument(w.getValue() >= 0 && Double.isFinite(w.getValue()),
            "loss weight of %s must be finite and >= 0, found %s", w.getKey(), w.getValue());
      }
      for (int c : decoderChannels) {
        Preconditions.checkArgument(c > 0, "decoder channels must be positive, found %s", decoderChannels);
      }
      Preconditions.checkArgument(decoderHidden >= 0, "decoderHidden must be >= 0, found %s", decoderHidden);
      return new MultiTaskConfig(this);
    }
  }
}
