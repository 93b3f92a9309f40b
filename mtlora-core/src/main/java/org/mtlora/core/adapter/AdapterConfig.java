package org.mtlora.core.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableMap;
import com.google.common.collect.ImmutableSortedMap;
import java.util.Iterator;
import org.mtlora.core.io.JsonFields;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The adapter specification a user writes: the fine-tuning {@link Method}, the adapter sizes of every stage (one
 * {@link StageAdapters} for all stages, optionally replaced for single stages), the shared mode and the adapted sites.
 * It names neither the backbone's stage count nor the tasks: {@link #resolve} turns it into the per-stage table of a
 * concrete model ({@link MtLoraConfig}) when the model is built, and checks that every stage and task it names exists.
 *
 * <p>Immutable, compared by value, and written to and read from JSON exactly ({@code fromJson(toJson(c)).equals(c)}).
 */
public final class AdapterConfig {
  private final Method method;
  private final StageAdapters allStages;
  private final ImmutableSortedMap<Integer, StageAdapters> stages;
  private final LoraMode mode;
  private final boolean qkv;
  private final boolean proj;
  private final boolean fc1;
  private final boolean fc2;

  private AdapterConfig(Builder b) {
    this.method = b.method;
    this.allStages = b.allStages;
    this.stages = ImmutableSortedMap.copyOf(b.stages);
    this.mode = b.mode;
    this.qkv = b.qkv;
    this.proj = b.proj;
    this.fc1 = b.fc1;
    this.fc2 = b.fc2;
  }

  /** The paper's MTLoRA: shared rank {@code sharedRank}, task rank {@code taskRank}, scale 4, dropout 0.05. */
  public static AdapterConfig mtlora(int sharedRank, int taskRank) {
    return builder(Method.MTLORA).allStages(StageAdapters.of(sharedRank, taskRank)).build();
  }

  /** MTLoRA+: as {@link #mtlora}, plus a shared adapter on each patch-merging reduction. */
  public static AdapterConfig mtloraPlus(int sharedRank, int taskRank) {
    return builder(Method.MTLORA_PLUS).allStages(StageAdapters.of(sharedRank, taskRank)).build();
  }

  /** The single-LoRA baseline: one shared adapter of rank {@code rank} (scale 4, dropout 0.05), no task adapters. */
  public static AdapterConfig loraOnly(int rank) {
    return builder(Method.LORA_ONLY).allStages(StageAdapters.of(rank, 0)).build();
  }

  /** Full fine-tuning: no adapters, everything trains. */
  public static AdapterConfig fullFineTuning() {
    return builder(Method.FULL_FINE_TUNING).build();
  }

  /** Decoders only: no adapters, only the downsamplers and decoders train. */
  public static AdapterConfig decodersOnly() {
    return builder(Method.DECODERS_ONLY).build();
  }

  /** {@code method} with the paper's sizes where it has adapters (shared rank 16, task rank 4). */
  public static AdapterConfig of(Method method, int sharedRank, int taskRank) {
    return builder(method).allStages(StageAdapters.of(sharedRank, method.hasTaskAdapters() ? taskRank : 0)).build();
  }

  /** A builder; every stage defaults to {@code StageAdapters.of(16, 4)}, mode matrix, all four sites. */
  public static Builder builder(Method method) {
    return new Builder(method);
  }

  public Method method() {
    return method;
  }

  /** The sizes of every stage not replaced by {@link #stageOverrides()}. */
  public StageAdapters allStages() {
    return allStages;
  }

  /** Stages whose sizes differ from {@link #allStages()}, by stage index. */
  public ImmutableSortedMap<Integer, StageAdapters> stageOverrides() {
    return stages;
  }

  /** The sizes of stage {@code i}. */
  public StageAdapters stage(int i) {
    return stages.getOrDefault(i, allStages);
  }

  public LoraMode mode() {
    return mode;
  }

  /** This configuration without the per-task sizes of tasks outside {@code tasks} (for a model of fewer tasks). */
  public AdapterConfig retainTasks(java.util.Collection<String> tasks) {
    Builder b = toBuilder();
    b.allStages = retain(allStages, tasks);
    b.stages.replaceAll((i, st) -> retain(st, tasks));
    return b.build();
  }

  private static StageAdapters retain(StageAdapters st, java.util.Collection<String> tasks) {
    Map<String, LoraSize> kept = new java.util.LinkedHashMap<>(st.taskOverrides());
    kept.keySet().retainAll(tasks);
    return new StageAdapters(st.shared(), st.task(), ImmutableMap.copyOf(kept), st.dropout());
  }

  /** A builder holding this configuration. */
  public Builder toBuilder() {
    Builder b = new Builder(method);
    b.allStages = allStages;
    b.stages.putAll(stages);
    b.mode = mode;
    b.qkv = qkv;
    b.proj = proj;
    b.fc1 = fc1;
    b.fc2 = fc2;
    return b;
  }

  /**
   * The per-stage table for a backbone of {@code numStages} stages and the given tasks.
   *
   * @throws IllegalArgumentException naming the stage or task when the configuration names one the model lacks
   */
  public MtLoraConfig resolve(List<String> tasks, int numStages) {
    for (int s : stages.keySet()) {
      Preconditions.checkArgument(s < numStages, "the adapter configuration sets stage %s but the backbone has %s "
          + "stages (0..%s)", s, numStages, numStages - 1);
    }
    for (int s = 0; s < numStages; s++) {
      for (String t : stage(s).taskOverrides().keySet()) {
        Preconditions.checkArgument(tasks.contains(t), "the adapter configuration sizes task '%s' in stage %s but the "
            + "model's tasks are %s", t, s, tasks);
      }
    }
    MtLoraConfig.Builder b = MtLoraConfig.builder(tasks, numStages);
    if (!method.hasAdapters()) {
      return b.enabled(false).build();
    }
    for (int s = 0; s < numStages; s++) {
      StageAdapters st = stage(s);
      b.shared(s, st.shared().rank(), st.shared().scale()).dropout(s, st.dropout());
      for (String t : tasks) {
        LoraSize size = st.forTask(t);
        b.task(t, s, method.hasTaskAdapters() ? size.rank() : 0, size.scale());
      }
    }
    return b.sharedMode(method == Method.LORA_ONLY ? LoraMode.LORA_ONLY : mode).sites(qkv, proj, fc1, fc2)
        .reductionAdapter(method.adaptsReduction()).build();
  }

  /**
   * The specification of an already resolved table (e.g. from a reference {@code config.json}): every stage as an
   * explicit override, so that {@code from(c, m).resolve(c.tasks(), c.numStages())} equals {@code c}.
   */
  public static AdapterConfig from(MtLoraConfig resolved, Method method) {
    Builder b = builder(method);
    if (!resolved.enabled()) {
      Preconditions.checkArgument(!method.hasAdapters(), "method %s needs adapters but the configuration has none",
          method);
      return b.build();
    }
    Preconditions.checkArgument(method.hasAdapters(), "method %s has no adapters but the configuration has some",
        method);
    Preconditions.checkArgument(resolved.reductionAdapterEnabled() == method.adaptsReduction(),
        "the configuration %s an adapter on the patch-merging reduction, which method %s %s",
        resolved.reductionAdapterEnabled() ? "has" : "lacks", method, method.adaptsReduction() ? "needs" : "excludes");
    for (int s = 0; s < resolved.numStages(); s++) {
      LoraSize first = null;
      Map<String, LoraSize> perTask = new java.util.LinkedHashMap<>();
      for (String t : resolved.tasks()) {
        LoraSize size = LoraSize.of(resolved.taskRank(t, s), resolved.taskScale(t, s));
        if (first == null) {
          first = size;
        } else if (!size.equals(first)) {
          perTask.put(t, size);
        }
      }
      b.stage(s, new StageAdapters(LoraSize.of(resolved.sharedRank(s), resolved.sharedScale(s)),
          first == null ? LoraSize.of(0, 1.0) : first, ImmutableMap.copyOf(perTask), resolved.dropout(s)));
    }
    LoraMode m = resolved.sharedMode() == LoraMode.LORA_ONLY ? LoraMode.MATRIX : resolved.sharedMode();
    return b.mode(m).sites(resolved.qkvSite(), resolved.projSite(), resolved.fc1Site(), resolved.fc2Site()).build();
  }

  /** This configuration as JSON (see {@link #fromJson}). */
  public ObjectNode toJson() {
    ObjectNode o = new ObjectMapper().createObjectNode();
    o.put("method", method.label());
    o.set("all_stages", stageJson(allStages));
    ObjectNode per = o.putObject("stages");
    stages.forEach((i, st) -> per.set(Integer.toString(i), stageJson(st)));
    o.put("mode", mode.name().toLowerCase(java.util.Locale.ROOT));
    ObjectNode sites = o.putObject("sites");
    sites.put("qkv", qkv);
    sites.put("proj", proj);
    sites.put("fc1", fc1);
    sites.put("fc2", fc2);
    return o;
  }

  private static ObjectNode stageJson(StageAdapters st) {
    ObjectNode o = new ObjectMapper().createObjectNode();
    o.set("shared", sizeJson(st.shared()));
    o.set("task", sizeJson(st.task()));
    ObjectNode per = o.putObject("tasks");
    st.taskOverrides().forEach((t, s) -> per.set(t, sizeJson(s)));
    o.put("dropout", st.dropout());
    return o;
  }

  private static ObjectNode sizeJson(LoraSize s) {
    ObjectNode o = new ObjectMapper().createObjectNode();
    o.put("rank", s.rank());
    o.put("scale", s.scale());
    return o;
  }

  /**
   * Reads what {@link #toJson()} wrote. Every key is required and no other key is allowed; errors name the key.
   */
  public static AdapterConfig fromJson(JsonNode o) {
    JsonFields.onlyKeys(o, "adapters", "method", "all_stages", "stages", "mode", "sites");
    Builder b = builder(Method.parse(JsonFields.text(o, "method")));
    b.allStages(stageFromJson(JsonFields.object(o, "all_stages"), "adapters.all_stages"));
    JsonNode per = JsonFields.object(o, "stages");
    for (Iterator<Map.Entry<String, JsonNode>> it = per.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      int stage;
      try {
        stage = Integer.parseInt(e.getKey());
      } catch (NumberFormatException ex) {
        throw new IllegalArgumentException("adapters.stages: key '" + e.getKey() + "' is not a stage index");
      }
      b.stage(stage, stageFromJson(e.getValue(), "adapters.stages." + stage));
    }
    b.mode(LoraMode.valueOf(JsonFields.text(o, "mode").toUpperCase(java.util.Locale.ROOT)));
    JsonNode sites = JsonFields.object(o, "sites");
    JsonFields.onlyKeys(sites, "adapters.sites", "qkv", "proj", "fc1", "fc2");
    b.sites(JsonFields.bool(sites, "qkv"), JsonFields.bool(sites, "proj"), JsonFields.bool(sites, "fc1"),
        JsonFields.bool(sites, "fc2"));
    return b.build();
  }

  private static StageAdapters stageFromJson(JsonNode o, String where) {
    JsonFields.onlyKeys(o, where, "shared", "task", "tasks", "dropout");
    Map<String, LoraSize> per = new java.util.LinkedHashMap<>();
    JsonFields.object(o, "tasks").fields().forEachRemaining(e -> per.put(e.getKey(), sizeFromJson(e.getValue())));
    return new StageAdapters(sizeFromJson(JsonFields.object(o, "shared")), sizeFromJson(JsonFields.object(o, "task")),
        ImmutableMap.copyOf(per), JsonFields.number(o, "dropout"));
  }

  private static LoraSize sizeFromJson(JsonNode o) {
    return LoraSize.of(JsonFields.integer(o, "rank"), JsonFields.number(o, "scale"));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AdapterConfig c && method == c.method && allStages.equals(c.allStages)
        && stages.equals(c.stages) && mode == c.mode && qkv == c.qkv && proj == c.proj && fc1 == c.fc1 && fc2 == c.fc2;
  }

  @Override
  public int hashCode() {
    return Objects.hash(method, allStages, stages, mode, qkv, proj, fc1, fc2);
  }

  @Override
  public String toString() {
    return toJson().toString();
  }

  /** Builds an {@link AdapterConfig}. */
  public static final class Builder {
    private final Method method;
    private StageAdapters allStages = StageAdapters.of(16, 4);
    private final Map<Integer, StageAdapters> stages = new TreeMap<>();
    private LoraMode mode = LoraMode.MATRIX;
    private boolean qkv = true;
    private boolean proj = true;
    private boolean fc1 = true;
    private boolean fc2 = true;

    private Builder(Method method) {
      this.method = Preconditions.checkNotNull(method, "method");
    }

    /** The sizes of every stage not set by {@link #stage}. */
    public Builder allStages(StageAdapters sizes) {
      this.allStages = Preconditions.checkNotNull(sizes, "sizes");
      return this;
    }

    /** The sizes of stage {@code index} (checked against the backbone when the model is built). */
    public Builder stage(int index, StageAdapters sizes) {
      Preconditions.checkArgument(index >= 0, "stage index must be >= 0, found %s", index);
      stages.put(index, Preconditions.checkNotNull(sizes, "sizes"));
      return this;
    }

    /** How shared and task paths combine ({@link LoraMode}; MTLoRA and MTLoRA+ only). */
    public Builder mode(LoraMode mode) {
      this.mode = Preconditions.checkNotNull(mode, "mode");
      return this;
    }

    /** Which layers of every block carry adapters (default: all four). */
    public Builder sites(boolean qkv, boolean proj, boolean fc1, boolean fc2) {
      this.qkv = qkv;
      this.proj = proj;
      this.fc1 = fc1;
      this.fc2 = fc2;
      return this;
    }

    /** Validates and builds. */
    public AdapterConfig build() {
      Preconditions.checkArgument(mode != LoraMode.LORA_ONLY,
          "mode lora_only is a method of its own: use Method.LORA_ONLY (AdapterConfig.loraOnly)");
      return new AdapterConfig(this);
    }
  }
}
