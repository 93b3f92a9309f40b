package org.mtlora.core.adapter;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where MTLoRA adapters go and how large they are (the reference's {@code MODEL.MTLORA} section), per stage of a
 * hierarchical backbone: shared rank and scale, each task's rank and scale, LoRA dropout, the shared mode, and which
 * sites carry adapters (qkv, proj, fc1, fc2, and the patch-merging reduction for MTLoRA+).
 *
 * <p>This is the resolved table of one model (its stage count and task list fixed): users write an {@link
 * AdapterConfig}, which {@link AdapterConfig#resolve} turns into this when the model is built; reference {@code
 * config.json} files and the blocks' tests build it directly. Immutable; build with {@link #builder} or a preset
 * ({@link #mtlora}, {@link #mtloraPlus}, {@link #disabled}). Validation happens in {@link Builder#build()} only.
 */
public final class MtLoraConfig {
  /** The name of the task-agnostic adapters ({@code lora_shared_*}); no task may take it. */
  public static final String RESERVED_NAME = "shared";

  private final boolean enabled;
  private final ImmutableList<String> tasks;
  private final ImmutableList<Integer> sharedRanks;
  private final ImmutableList<Double> sharedScales;
  private final ImmutableMap<String, ImmutableList<Integer>> taskRanks;
  private final ImmutableMap<String, ImmutableList<Double>> taskScales;
  private final ImmutableList<Double> dropout;
  private final LoraMode sharedMode;
  private final boolean qkv;
  private final boolean proj;
  private final boolean fc1;
  private final boolean fc2;
  private final boolean reductionAdapter;
  private final boolean mergedInference;

  private MtLoraConfig(Builder b) {
    this.enabled = b.enabled;
    this.tasks = ImmutableList.copyOf(b.tasks);
    this.sharedRanks = ImmutableList.copyOf(b.sharedRanks);
    this.sharedScales = ImmutableList.copyOf(b.sharedScales);
    ImmutableMap.Builder<String, ImmutableList<Integer>> tr = ImmutableMap.builder();
    ImmutableMap.Builder<String, ImmutableList<Double>> ts = ImmutableMap.builder();
    for (String t : b.tasks) {
      tr.put(t, ImmutableList.copyOf(b.taskRanks.get(t)));
      ts.put(t, ImmutableList.copyOf(b.taskScales.get(t)));
    }
    this.taskRanks = tr.buildOrThrow();
    this.taskScales = ts.buildOrThrow();
    this.dropout = ImmutableList.copyOf(b.dropout);
    this.sharedMode = b.sharedMode;
    this.qkv = b.qkv;
    this.proj = b.proj;
    this.fc1 = b.fc1;
    this.fc2 = b.fc2;
    this.reductionAdapter = b.reductionAdapter;
    this.mergedInference = b.mergedInference;
  }

  /** A builder for {@code numStages} stages and the given tasks (in order). */
  public static Builder builder(List<String> tasks, int numStages) {
    return new Builder(tasks, numStages);
  }

  /** No adapters at all (full fine-tuning or decoders only): every site is a plain dense layer. */
  public static MtLoraConfig disabled(List<String> tasks, int numStages) {
    return builder(tasks, numStages).enabled(false).build();
  }

  /**
   * The paper's MTLoRA: shared rank {@code sharedRank} and task rank {@code taskRank} in every stage, scale 4,
   * dropout 0.05, mode matrix, adapters on qkv, proj, fc1, fc2; the reduction is a plain (trainable) layer.
   */
  public static MtLoraConfig mtlora(List<String> tasks, int numStages, int sharedRank, int taskRank) {
    return builder(tasks, numStages).allStages(sharedRank, taskRank, 4.0).dropout(0.05).build();
  }

  /** MTLoRA+: as {@link #mtlora}, plus a shared adapter on every patch-merging reduction (which stays frozen). */
  public static MtLoraConfig mtloraPlus(List<String> tasks, int numStages, int sharedRank, int taskRank) {
    return builder(tasks, numStages).allStages(sharedRank, taskRank, 4.0).dropout(0.05).reductionAdapter(true).build();
  }

  public boolean enabled() {
    return enabled;
  }

  /** The tasks (adapter names), in order. */
  public ImmutableList<String> tasks() {
    return tasks;
  }

  public int numStages() {
    return sharedRanks.size();
  }

  public int sharedRank(int stage) {
    return enabled ? sharedRanks.get(stage) : 0;
  }

  public double sharedScale(int stage) {
    return sharedScales.get(stage);
  }

  /** Rank of {@code task}'s adapter in {@code stage}. */
  public int taskRank(String task, int stage) {
    return enabled ? taskRanks.get(checkTask(task)).get(stage) : 0;
  }

  public double taskScale(String task, int stage) {
    return taskScales.get(checkTask(task)).get(stage);
  }

  public double dropout(int stage) {
    return dropout.get(stage);
  }

  public LoraMode sharedMode() {
    return sharedMode;
  }

  /** Whether the attention's qkv projection carries an adapter. */
  public boolean qkvEnabled() {
    return enabled && qkv;
  }

  public boolean projEnabled() {
    return enabled && proj;
  }

  public boolean fc1Enabled() {
    return enabled && fc1;
  }

  public boolean fc2Enabled() {
    return enabled && fc2;
  }

  /** Whether qkv is an adapted site (true even when adapters are disabled; see {@link #qkvEnabled()}). */
  public boolean qkvSite() {
    return qkv;
  }

  /** Whether proj is an adapted site. */
  public boolean projSite() {
    return proj;
  }

  /** Whether fc1 is an adapted site. */
  public boolean fc1Site() {
    return fc1;
  }

  /** Whether fc2 is an adapted site. */
  public boolean fc2Site() {
    return fc2;
  }

  /** MTLoRA+: whether the patch-merging reduction carries a shared adapter. */
  public boolean reductionAdapterEnabled() {
    return enabled && reductionAdapter;
  }

  /**
   * Whether this is the placement of a merged inference model: shared adapters are kept only in layers that also
   * have task paths; everywhere else the shared delta is folded into the dense weight (see {@link
   * MtLoraLinear#deltaWeight}), so those layers are plain products.
   */
  public boolean mergedInference() {
    return mergedInference;
  }

  /** This placement for a merged inference model ({@link #mergedInference()}). */
  public MtLoraConfig forMergedInference() {
    Builder b = toBuilder();
    b.mergedInference = true;
    return b.build();
  }

  private String checkTask(String task) {
    Preconditions.checkArgument(taskRanks.containsKey(task), "unknown task '%s'; the configuration has tasks %s",
        task, tasks);
    return task;
  }

  /** A copy to modify. */
  public Builder toBuilder() {
    Builder b = new Builder(tasks, numStages());
    b.enabled = enabled;
    b.sharedRanks.clear();
    b.sharedRanks.addAll(sharedRanks);
    b.sharedScales.clear();
    b.sharedScales.addAll(sharedScales);
    taskRanks.forEach((t, r) -> b.taskRanks.put(t, new java.util.ArrayList<>(r)));
    taskScales.forEach((t, s) -> b.taskScales.put(t, new java.util.ArrayList<>(s)));
    b.dropout.clear();
    b.dropout.addAll(dropout);
    b.sharedMode = sharedMode;
    b.qkv = qkv;
    b.proj = proj;
    b.fc1 = fc1;
    b.fc2 = fc2;
    b.reductionAdapter = reductionAdapter;
    b.mergedInference = mergedInference;
    return b;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof MtLoraConfig c && enabled == c.enabled && tasks.equals(c.tasks)
        && sharedRanks.equals(c.sharedRanks) && sharedScales.equals(c.sharedScales) && taskRanks.equals(c.taskRanks)
        && taskScales.equals(c.taskScales) && dropout.equals(c.dropout) && sharedMode == c.sharedMode && qkv == c.qkv
        && proj == c.proj && fc1 == c.fc1 && fc2 == c.fc2 && reductionAdapter == c.reductionAdapter
        && mergedInference == c.mergedInference;
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(enabled, tasks, sharedRanks, taskRanks, sharedMode, reductionAdapter);
  }

  @Override
  public String toString() {
    return "MtLoraConfig{enabled=" + enabled + ", tasks=" + tasks + ", sharedRanks=" + sharedRanks + ", taskRanks="
        + taskRanks + ", sharedScales=" + sharedScales + ", taskScales=" + taskScales + ", dropout=" + dropout
        + ", mode=" + sharedMode + ", sites=" + (qkv ? "qkv " : "") + (proj ? "proj " : "") + (fc1 ? "fc1 " : "")
        + (fc2 ? "fc2 " : "") + (reductionAdapter ? "reduction" : "") + "}";
  }

  /** Builds an {@link MtLoraConfig}; per-stage lists default to rank 0, scale 1 and dropout 0. */
  public static final class Builder {
    private final List<String> tasks;
    private final int numStages;
    private boolean enabled = true;
    private final List<Integer> sharedRanks = new java.util.ArrayList<>();
    private final List<Double> sharedScales = new java.util.ArrayList<>();
    private final Map<String, List<Integer>> taskRanks = new LinkedHashMap<>();
    private final Map<String, List<Double>> taskScales = new LinkedHashMap<>();
    private final List<Double> dropout = new java.util.ArrayList<>();
    private LoraMode sharedMode = LoraMode.MATRIX;
    private boolean qkv = true;
    private boolean proj = true;
    private boolean fc1 = true;
    private boolean fc2 = true;
    private boolean reductionAdapter;
    private boolean mergedInference;

    private Builder(List<String> tasks, int numStages) {
      Preconditions.checkArgument(numStages > 0, "numStages must be positive, found %s", numStages);
      Preconditions.checkArgument(tasks.stream().distinct().count() == tasks.size(), "tasks must be distinct: %s",
          tasks);
      this.tasks = List.copyOf(tasks);
      this.numStages = numStages;
      for (int i = 0; i < numStages; i++) {
        sharedRanks.add(0);
        sharedScales.add(1.0);
        dropout.add(0.0);
      }
      for (String t : tasks) {
        taskRanks.put(t, new java.util.ArrayList<>(java.util.Collections.nCopies(numStages, 0)));
        taskScales.put(t, new java.util.ArrayList<>(java.util.Collections.nCopies(numStages, 1.0)));
      }
    }

    /** Turns adapters on (default) or off. */
    public Builder enabled(boolean enabled) {
      this.enabled = enabled;
      return this;
    }

    /** The same shared rank, task rank and scale (shared and per task) in every stage. */
    public Builder allStages(int sharedRank, int taskRank, double scale) {
      for (int i = 0; i < numStages; i++) {
        sharedRanks.set(i, sharedRank);
        sharedScales.set(i, scale);
        for (String t : tasks) {
          taskRanks.get(t).set(i, taskRank);
          taskScales.get(t).set(i, scale);
        }
      }
      return this;
    }

    /** Shared rank and scale of one stage. */
    public Builder shared(int stage, int rank, double scale) {
      sharedRanks.set(checkStage(stage), rank);
      sharedScales.set(stage, scale);
      return this;
    }

    /** Rank and scale of one task's adapter in one stage. */
    public Builder task(String task, int stage, int rank, double scale) {
      Preconditions.checkArgument(taskRanks.containsKey(task), "unknown task '%s'; the configuration has tasks %s",
          task, tasks);
      taskRanks.get(task).set(checkStage(stage), rank);
      taskScales.get(task).set(stage, scale);
      return this;
    }

    /** LoRA dropout probability in every stage. */
    public Builder dropout(double p) {
      for (int i = 0; i < numStages; i++) {
        dropout.set(i, p);
      }
      return this;
    }

    /** LoRA dropout probability of one stage. */
    public Builder dropout(int stage, double p) {
      dropout.set(checkStage(stage), p);
      return this;
    }

    public Builder sharedMode(LoraMode mode) {
      this.sharedMode = Preconditions.checkNotNull(mode, "sharedMode");
      return this;
    }

    /** Which sites of every block carry adapters (default: all four). */
    public Builder sites(boolean qkv, boolean proj, boolean fc1, boolean fc2) {
      this.qkv = qkv;
      this.proj = proj;
      this.fc1 = fc1;
      this.fc2 = fc2;
      return this;
    }

    /** MTLoRA+: a shared adapter on every patch-merging reduction (default false). */
    public Builder reductionAdapter(boolean enabled) {
      this.reductionAdapter = enabled;
      return this;
    }

    private int checkStage(int stage) {
      Preconditions.checkArgument(stage >= 0 && stage < numStages, "stage %s out of range [0, %s)", stage,
          numStages);
      return stage;
    }

    /** Validates every field and builds. */
    public MtLoraConfig build() {
      for (String t : tasks) {
        Preconditions.checkArgument(!t.isEmpty() && t.matches("[A-Za-z0-9_]+"),
            "task names must be letters, digits or '_', found '%s'", t);
        Preconditions.checkArgument(!t.equals(RESERVED_NAME), "'%s' is reserved (the task-agnostic adapters' name) and "
            + "cannot name a task", t);
      }
      for (int i = 0; i < numStages; i++) {
        Preconditions.checkArgument(sharedRanks.get(i) >= 0, "shared rank of stage %s must be >= 0, found %s", i,
            sharedRanks.get(i));
        Preconditions.checkArgument(dropout.get(i) >= 0 && dropout.get(i) < 1,
            "LoRA dropout of stage %s must be in [0, 1), found %s", i, dropout.get(i));
        for (String t : tasks) {
          Preconditions.checkArgument(taskRanks.get(t).get(i) >= 0, "rank of task %s in stage %s must be >= 0, found %s",
              t, i, taskRanks.get(t).get(i));
        }
      }
      return new MtLoraConfig(this);
    }
  }
}
