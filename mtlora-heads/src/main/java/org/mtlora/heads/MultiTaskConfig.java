package org.mtlora.heads;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.adapter.Method;
import org.mtlora.core.adapter.MtLoraConfig;
import org.mtlora.core.io.JsonFields;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.swin.ReferenceConfig;
import org.mtlora.swin.SwinConfig;
import org.mtlora.tasks.PascalTasks;
import org.mtlora.tasks.Task;

/**
 * Everything that shapes a {@link MultiTaskModel}, in one direction: the backbone shape, the adapter specification
 * (which also fixes the freeze policy, see {@link Method}), the tasks with their loss weights, and the decoders
 * (per-stage downsampler channels, decoder hidden width). The per-stage adapter table the backbone uses ({@link
 * #lora()}) is derived from these when the configuration is built.
 *
 * <p>Immutable and compared by value; from {@link #builder}, {@link #pascal} (the paper's setting), a reference-style
 * {@code config.json} ({@link #read}) or its own JSON ({@link #fromJson}; {@code fromJson(toJson(c)).equals(c)}).
 */
public final class MultiTaskConfig {
  /** Format name of {@link #toJson()}. */
  public static final String FORMAT = "mtlora-model";
  /** The only version this code reads and writes. */
  public static final int VERSION = 1;

  private final SwinConfig swin;
  private final AdapterConfig adapters;
  private final ImmutableList<Task> tasks;
  private final ImmutableMap<String, Double> lossWeights;
  private final ImmutableList<Integer> decoderChannels;
  private final int decoderHidden;
  private final MtLoraConfig lora;

  private MultiTaskConfig(Builder b, List<Integer> channels, MtLoraConfig lora) {
    this.swin = b.swin;
    this.adapters = b.adapters;
    List<Task> ts = new ArrayList<>();
    Map<String, Double> w = new LinkedHashMap<>();
    b.tasks.forEach((name, t) -> {
      ts.add(t);
      w.put(name, b.lossWeights.getOrDefault(name, t.defaultWeight()));
    });
    this.tasks = ImmutableList.copyOf(ts);
    this.lossWeights = ImmutableMap.copyOf(w);
    this.decoderChannels = ImmutableList.copyOf(channels);
    this.decoderHidden = b.decoderHidden > 0 ? b.decoderHidden
        : 4 * channels.stream().mapToInt(Integer::intValue).sum();
    this.lora = lora;
  }

  /**
   * The paper's PASCAL-Context setting: the four tasks (semseg, normals, sal, human_parts, the reference's order) with
   * the reference's loss weights, decoder channels 18 * 2^stage.
   */
  public static MultiTaskConfig pascal(SwinConfig swin, AdapterConfig adapters) {
    return builder(swin, adapters).tasks(PascalTasks.all()).build();
  }

  /** As {@link #pascal(SwinConfig, AdapterConfig)} with the named PASCAL-Context tasks, in the given order. */
  public static MultiTaskConfig pascal(SwinConfig swin, AdapterConfig adapters, List<String> taskNames) {
    return builder(swin, adapters).tasks(PascalTasks.byNames(taskNames)).build();
  }

  /** A builder; add tasks with {@link Builder#task}. */
  public static Builder builder(SwinConfig swin, AdapterConfig adapters) {
    return new Builder(swin, adapters);
  }

  /**
   * Reads a reference-style configuration ({@code config.json}): the backbone and adapter sections (see {@link
   * ReferenceConfig}), {@code MODEL.DECODER_CHANNELS}, {@code NUM_OUTPUT}, {@code loss_weights} and {@code
   * MODEL.DECODER_HEAD} (only {@code hrnet} is supported). The method is MTLoRA+ when the reduction is adapted, the
   * single-LoRA baseline in mode {@code lora_only}, MTLoRA otherwise, full fine-tuning without adapters. Errors name
   * the file and the key.
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
    MtLoraConfig l = ref.lora();
    Method method = !l.enabled() ? Method.FULL_FINE_TUNING
        : l.reductionAdapterEnabled() ? Method.MTLORA_PLUS
        : l.sharedMode() == org.mtlora.core.adapter.LoraMode.LORA_ONLY ? Method.LORA_ONLY : Method.MTLORA;
    List<Task> tasks = PascalTasks.byNames(ref.tasks());
    Builder b = builder(ref.swin(), AdapterConfig.from(l, method)).tasks(tasks);
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

  /** The adapter specification as written by the user. */
  public AdapterConfig adapters() {
    return adapters;
  }

  /** The fine-tuning method (adapter placement and freeze policy). */
  public Method method() {
    return adapters.method();
  }

  /** Which parameters train: the method's policy. */
  public FreezePolicy freezePolicy() {
    return adapters.method().freezePolicy();
  }

  /** The per-stage adapter table resolved against this backbone and these tasks. */
  public MtLoraConfig lora() {
    return lora;
  }

  public ImmutableList<Task> tasks() {
    return tasks;
  }

  /** The task names, in order. */
  public ImmutableList<String> taskNames() {
    return tasks.stream().map(Task::name).collect(ImmutableList.toImmutableList());
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

  /**
   * The same model serving one task: only that task's adapters, downsampler and decoder (with its loss weight and
   * per-task adapter sizes), the same backbone and decoder shape.
   */
  public MultiTaskConfig restrictedTo(String task) {
    Task t = tasks.stream().filter(x -> x.name().equals(task)).findFirst().orElseThrow(
        () -> new IllegalArgumentException("unknown task '" + task + "'; the model's tasks are " + taskNames()));
    return builder(swin, adapters.retainTasks(List.of(task))).task(t, lossWeights.get(task))
        .decoderChannels(decoderChannels).decoderHidden(decoderHidden).build();
  }

  /** A builder holding this configuration (to change a field). */
  public Builder toBuilder() {
    Builder b = new Builder(swin, adapters).tasks(tasks).decoderChannels(decoderChannels).decoderHidden(decoderHidden);
    lossWeights.forEach(b::lossWeight);
    return b;
  }

  /**
   * Everything needed to rebuild the model: format and version, backbone shape, adapters (method, per-stage sizes,
   * mode, sites), tasks (name, output and target channels, loss weight) and decoder shape. Stored in adapter folders,
   * checkpoints and run folders; read back by {@link #fromJson}.
   */
  public ObjectNode toJson() {
    ObjectMapper m = new ObjectMapper();
    ObjectNode root = m.createObjectNode();
    root.put("format", FORMAT);
    root.put("version", VERSION);
    root.set("backbone", swin.toJson());
    root.set("adapters", adapters.toJson());
    ArrayNode ts = root.putArray("tasks");
    for (Task t : tasks) {
      ObjectNode o = ts.addObject();
      o.put("name", t.name());
      o.put("output_channels", t.outputChannels());
      o.put("target_channels", t.targetChannels());
      o.put("loss_weight", lossWeights.get(t.name()));
    }
    ObjectNode dec = root.putObject("decoder");
    dec.put("head", "hrnet");
    decoderChannels.forEach(dec.putArray("channels")::add);
    dec.put("hidden", decoderHidden);
    return root;
  }

  /** {@link #toJson()} as a string. */
  public String toJsonString() {
    return toJson().toString();
  }

  /** Reads {@link #toJson()}'s output whose tasks are PASCAL-Context tasks. */
  public static MultiTaskConfig fromJson(JsonNode json) {
    return fromJson(json, List.of());
  }

  /**
   * Reads {@link #toJson()}'s output. Tasks are found by name among {@code extraTasks} and then the PASCAL-Context
   * tasks, and must predict the stored numbers of channels. Every key is required and no other is allowed; errors
   * name the key.
   */
  public static MultiTaskConfig fromJson(JsonNode json, List<Task> extraTasks) {
    JsonFields.onlyKeys(json, "model configuration", "format", "version", "backbone", "adapters", "tasks", "decoder");
    Preconditions.checkArgument(FORMAT.equals(JsonFields.text(json, "format")),
        "'format' is '%s', expected '%s'", json.get("format").asText(), FORMAT);
    int version = JsonFields.integer(json, "version");
    Preconditions.checkArgument(version == VERSION, "'version' is %s; this mtlora4j reads version %s", version,
        VERSION);
    Builder b = builder(SwinConfig.fromJson(JsonFields.object(json, "backbone")),
        AdapterConfig.fromJson(JsonFields.object(json, "adapters")));
    JsonNode ts = json.get("tasks");
    Preconditions.checkArgument(ts != null && ts.isArray() && !ts.isEmpty(), "'tasks' must be a non-empty array");
    Map<String, Task> extra = new LinkedHashMap<>();
    extraTasks.forEach(t -> extra.put(t.name(), t));
    for (JsonNode o : ts) {
      JsonFields.onlyKeys(o, "tasks[]", "name", "output_channels", "target_channels", "loss_weight");
      String name = JsonFields.text(o, "name");
      Task t = extra.get(name);
      if (t == null) {
        Preconditions.checkArgument(PascalTasks.names().contains(name), "task '%s' is not a PASCAL-Context task %s "
            + "and no Task of that name was given (pass its Task object when loading)", name, PascalTasks.names());
        t = PascalTasks.byName(name);
      }
      Preconditions.checkArgument(t.outputChannels() == JsonFields.integer(o, "output_channels")
          && t.targetChannels() == JsonFields.integer(o, "target_channels"),
          "task '%s' was saved with %s output and %s target channels; the given Task has %s and %s", name,
          o.get("output_channels"), o.get("target_channels"), t.outputChannels(), t.targetChannels());
      b.task(t, JsonFields.number(o, "loss_weight"));
    }
    JsonNode dec = JsonFields.object(json, "decoder");
    JsonFields.onlyKeys(dec, "decoder", "head", "channels", "hidden");
    Preconditions.checkArgument("hrnet".equals(JsonFields.text(dec, "head")), "decoder.head must be 'hrnet'");
    return b.decoderChannels(JsonFields.integers(dec, "channels")).decoderHidden(JsonFields.integer(dec, "hidden"))
        .build();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof MultiTaskConfig c && swin.equals(c.swin) && adapters.equals(c.adapters)
        && tasks.equals(c.tasks) && lossWeights.equals(c.lossWeights) && decoderChannels.equals(c.decoderChannels)
        && decoderHidden == c.decoderHidden;
  }

  @Override
  public int hashCode() {
    return Objects.hash(swin, adapters, tasks, lossWeights, decoderChannels, decoderHidden);
  }

  @Override
  public String toString() {
    return toJsonString();
  }

  /**
   * A builder; decoder channels default to 18 * 2^stage ([18, 36, 72, 144]), the hidden width to 4 x their sum, loss
   * weights to each task's default.
   */
  public static final class Builder {
    private final SwinConfig swin;
    private final AdapterConfig adapters;
    private final Map<String, Task> tasks = new LinkedHashMap<>();
    private final Map<String, Double> lossWeights = new LinkedHashMap<>();
    private List<Integer> decoderChannels;
    private int decoderHidden;

    private Builder(SwinConfig swin, AdapterConfig adapters) {
      this.swin = Preconditions.checkNotNull(swin, "swin");
      this.adapters = Preconditions.checkNotNull(adapters, "adapters");
    }

    /** Adds a task with its default loss weight. */
    public Builder task(Task task) {
      Preconditions.checkNotNull(task, "task");
      Preconditions.checkArgument(!tasks.containsKey(task.name()), "task '%s' added twice", task.name());
      tasks.put(task.name(), task);
      return this;
    }

    /** Adds a task with a loss weight. */
    public Builder task(Task task, double lossWeight) {
      task(task);
      return lossWeight(task.name(), lossWeight);
    }

    /** Adds tasks with their default loss weights, in order. */
    public Builder tasks(List<? extends Task> all) {
      all.forEach(this::task);
      return this;
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

    /** Validates (task names, loss weights, decoder shape, adapters against backbone and tasks) and builds. */
    public MultiTaskConfig build() {
      Preconditions.checkArgument(!tasks.isEmpty(), "at least one task is needed");
      List<Integer> channels = decoderChannels;
      if (channels == null) {
        channels = new ArrayList<>();
        for (int i = 0; i < swin.numStages(); i++) {
          channels.add(18 << i); // [18, 36, 72, 144] for the four Swin stages
        }
      }
      for (Task t : tasks.values()) {
        Preconditions.checkArgument(t.name().matches("[A-Za-z0-9_]+"),
            "task names must be letters, digits or '_', found '%s'", t.name());
        Preconditions.checkArgument(!t.name().equals(MtLoraConfig.RESERVED_NAME),
            "'%s' is reserved (the task-agnostic adapters' name) and cannot name a task", t.name());
        Preconditions.checkArgument(t.outputChannels() > 0 && t.targetChannels() > 0,
            "task '%s' must have positive output and target channels, found %s and %s", t.name(), t.outputChannels(),
            t.targetChannels());
      }
      for (Map.Entry<String, Double> w : lossWeights.entrySet()) {
        Preconditions.checkArgument(tasks.containsKey(w.getKey()), "loss weight for unknown task '%s'; tasks are %s",
            w.getKey(), tasks.keySet());
        Preconditions.checkArgument(w.getValue() >= 0 && Double.isFinite(w.getValue()),
            "loss weight of %s must be finite and >= 0, found %s", w.getKey(), w.getValue());
      }
      Preconditions.checkArgument(channels.size() == swin.numStages(),
          "decoder channels %s must have one entry per stage (%s)", channels, swin.numStages());
      for (int c : channels) {
        Preconditions.checkArgument(c > 0, "decoder channels must be positive, found %s", channels);
      }
      Preconditions.checkArgument(decoderHidden >= 0, "decoderHidden must be >= 0, found %s", decoderHidden);
      MtLoraConfig lora = adapters.resolve(List.copyOf(tasks.keySet()), swin.numStages());
      return new MultiTaskConfig(this, channels, lora);
    }
  }
}
