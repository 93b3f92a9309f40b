package org.mtlora.core.adapter;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mtlora.core.nn.Dropout;
import org.mtlora.core.nn.EqualShapeSum;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.nn.LayerNorm;
import org.mtlora.core.nn.Linear;
import org.mtlora.core.params.Init;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.params.Role;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The MTLoRA linear layer (reference {@code MTLoRALinear}; reference-spec §1.1).
 *
 * <pre>
 *   P    = x W^T + b                          pretrained path, on the un-dropped shared input
 *   xd   = dropout(x)                         one mask, shared by the shared path and (without task inputs) the tasks
 *   D_sh = s_sh * (xd A_sh^T) B_sh^T          task-agnostic (shared) low-rank term
 *   D_t  = s_t  * (u_t A_t^T) B_t^T           u_t = the task's own input if given (not dropped), else xd
 * </pre>
 *
 * and the outputs per {@link LoraMode}. Paths that read the same input (the shared one and, without task inputs, the
 * tasks) share one down-projection with their A matrices stacked. Scales are plain multipliers (no alpha / r). A
 * matrices start Kaiming-uniform (a = sqrt(5)), B matrices at zero, so every output equals {@code P} at step 0. With a
 * shared rank of 0 the layer has no adapter and returns {@code P} alone, as the reference does.
 *
 * <p>Parameter names are the reference's state_dict keys under the layer's prefix: {@code linear.weight} {@code [out,
 * in]}, {@code linear.bias}, {@code lora_shared_A} {@code [r, in]}, {@code lora_shared_B} {@code [out, r]}, {@code
 * lora_tasks_A.<task>}, {@code lora_tasks_B.<task>}, and {@code lora_norm.weight/bias} in addition mode.
 */
public final class MtLoraLinear {
  private final String prefix;
  private final long in;
  private final long out;
  private final boolean bias;
  private final Role baseRole;
  private final int sharedRank;
  private final double sharedScale;
  private final ImmutableMap<String, Integer> taskRanks;
  private final ImmutableMap<String, Double> taskScales;
  private final double dropout;
  private final LoraMode mode;
  private final boolean wrapped;

  private MtLoraLinear(Builder b) {
    this.wrapped = b.wrapped;
    this.prefix = b.prefix;
    this.in = b.in;
    this.out = b.out;
    this.bias = b.bias;
    this.baseRole = b.baseRole;
    this.sharedRank = b.sharedRank;
    this.sharedScale = b.sharedScale;
    this.dropout = b.dropout;
    // The reference forces tasks off in lora_only mode, and mode 'matrix' when there are no tasks.
    boolean tasks = !b.taskRanks.isEmpty() && b.mode != LoraMode.LORA_ONLY;
    this.taskRanks = tasks ? ImmutableMap.copyOf(b.taskRanks) : ImmutableMap.of();
    this.taskScales = tasks ? ImmutableMap.copyOf(b.taskScales) : ImmutableMap.of();
    this.mode = tasks || b.mode == LoraMode.LORA_ONLY ? b.mode : LoraMode.MATRIX;
  }

  /** A builder for a layer named {@code prefix} (e.g. {@code backbone.layers.0.blocks.0.attn.qkv}). */
  public static Builder builder(String prefix, long in, long out) {
    return new Builder(prefix, in, out);
  }

  /** The layer's outputs: the shared stream and, in task modes, one output per task (in task order). */
  public record Output(SDVariable shared, ImmutableMap<String, SDVariable> tasks) {}

  /**
   * A reordering of rows that acts on rows alone, each output row a copy of one input row (a row gather, such as a Swin
   * block's window reverse), whatever the width: see {@link #apply(GraphContext, SDVariable, long, Map, RowMap)}.
   */
  @FunctionalInterface
  public interface RowMap {
    /** Leaves the rows where they are. */
    RowMap IDENTITY = (rows, width) -> rows;

    /** {@code rows} ({@code [N, width]}) reordered. */
    SDVariable apply(SDVariable rows, long width);
  }

  public String prefix() {
    return prefix;
  }

  public long in() {
    return in;
  }

  public long out() {
    return out;
  }

  /** The effective mode (after the reference's forcing rules). */
  public LoraMode mode() {
    return mode;
  }

  public int sharedRank() {
    return sharedRank;
  }

  /** Task ranks in task order; empty when the layer has no task paths. */
  public ImmutableMap<String, Integer> taskRanks() {
    return taskRanks;
  }

  /** Whether the layer is an MTLoRA module with adapters (shared rank > 0); otherwise a dense layer. */
  public boolean adapted() {
    return sharedRank > 0;
  }

  private boolean hasSharedMatrices() {
    return adapted() && mode != LoraMode.ADDITION;
  }

  /** Name of the pretrained weight: {@code <prefix>.linear.weight}, or {@code <prefix>.weight} when plain. */
  public String weightName() {
    return prefix + (wrapped ? ".linear.weight" : ".weight");
  }

  /** Name of the pretrained bias. */
  public String biasName() {
    return prefix + (wrapped ? ".linear.bias" : ".bias");
  }

  public String sharedA() {
    return prefix + ".lora_shared_A";
  }

  public String sharedB() {
    return prefix + ".lora_shared_B";
  }

  public String taskA(String task) {
    return prefix + ".lora_tasks_A." + task;
  }

  public String taskB(String task) {
    return prefix + ".lora_tasks_B." + task;
  }

  public String normWeight() {
    return prefix + ".lora_norm.weight";
  }

  public String normBias() {
    return prefix + ".lora_norm.bias";
  }

  /** Every parameter this layer owns, in the reference's order. */
  public ImmutableList<ParamSpec> paramSpecs() {
    ImmutableList.Builder<ParamSpec> specs = ImmutableList.builder();
    specs.add(ParamSpec.of(weightName(), baseRole, Init.truncatedNormal(0.02), out, in));
    if (bias) {
      specs.add(ParamSpec.of(biasName(), baseRole, Init.zeros(), out));
    }
    if (!adapted()) {
      return specs.build();
    }
    if (hasSharedMatrices()) {
      specs.add(ParamSpec.of(sharedA(), Role.ADAPTER_SHARED, Init.kaimingUniform(in), sharedRank, in));
      specs.add(ParamSpec.of(sharedB(), Role.ADAPTER_SHARED, Init.zeros(), out, sharedRank));
    }
    for (Map.Entry<String, Integer> t : taskRanks.entrySet()) {
      specs.add(ParamSpec.ofTask(taskA(t.getKey()), Role.ADAPTER_TASK, t.getKey(), Init.kaimingUniform(in),
          t.getValue(), in));
      specs.add(ParamSpec.ofTask(taskB(t.getKey()), Role.ADAPTER_TASK, t.getKey(), Init.zeros(), out,
          t.getValue()));
    }
    if (mode == LoraMode.ADDITION) {
      specs.add(ParamSpec.of(normWeight(), Role.ADAPTER_SHARED, Init.ones(), out));
      specs.add(ParamSpec.of(normBias(), Role.ADAPTER_SHARED, Init.zeros(), out));
    }
    return specs.build();
  }

  /**
   * Adds the layer to a graph.
   *
   * @param x shared input {@code [B * rowsPerSample, in]} (rows, e.g. tokens)
   * @param rowsPerSample rows per batch sample (for the dropout mask)
   * @param taskInputs each task's own input {@code [B * rowsPerSample, in]}, or null to use the shared input
   * @return the shared output {@code [B * rowsPerSample, out]} and one output per task (empty without task paths)
   */
  public Output apply(GraphContext ctx, SDVariable x, long rowsPerSample, Map<String, SDVariable> taskInputs) {
    return apply(ctx, x, rowsPerSample, taskInputs, RowMap.IDENTITY);
  }

  /**
   * As {@link #apply(GraphContext, SDVariable, long, Map)}, every output's rows then reordered by {@code rowMap} — a
   * map that acts on rows alone, each output row a copy of one input row (a row gather, such as a Swin block's window
   * reverse). Such a map commutes with a product on the right, {@code rowMap(H B^T) = rowMap(H) B^T}, so it is applied
   * to the pretrained product {@code x W^T + b} and to the rank-r intermediates {@code u A^T} instead of to each
   * {@code [N, out]} output: with k low-rank paths, one {@code out}-wide reordering and rank-wide ones instead of k + 1
   * {@code out}-wide ones. The outputs equal those of the plain call reordered, to rounding (each row has the same
   * sums).
   *
   * @param rowMap the row reordering
   */
  public Output apply(GraphContext ctx, SDVariable x, long rowsPerSample, Map<String, SDVariable> taskInputs,
      RowMap rowMap) {
    SameDiff sd = ctx.sd();
    if (taskInputs != null) {
      Preconditions.checkArgument(taskInputs.keySet().equals(taskRanks.keySet()),
          "%s: task inputs must be given for exactly the tasks %s, found %s", prefix, taskRanks.keySet(),
          taskInputs.keySet());
    }
    SDVariable p = rowMap.apply(Linear.apply(ctx, x, weightName(), bias ? biasName() : null), out);
    if (!adapted()) {
      return new Output(p, ImmutableMap.of());
    }
    SDVariable xd = Dropout.apply(ctx, prefix + ".lora_dropout", x, rowsPerSample, new long[] {in}, dropout);
    SDVariable sharedDelta;
    Map<String, SDVariable> taskDeltas = new LinkedHashMap<>();
    if (taskInputs == null && !taskRanks.isEmpty()) { // every path reads xd: one down-projection for all
      ImmutableList<SDVariable> deltas = stackedLowRank(ctx, xd, rowMap);
      sharedDelta = hasSharedMatrices() ? deltas.get(0) : null;
      int k = hasSharedMatrices() ? 1 : 0;
      for (String t : taskRanks.keySet()) {
        taskDeltas.put(t, deltas.get(k++));
      }
    } else {
      sharedDelta = hasSharedMatrices()
          ? lowRank(sd, xd, ctx.param(sharedA()), ctx.param(sharedB()), sharedScale, sharedRank, rowMap) : null;
      for (String t : taskRanks.keySet()) {
        taskDeltas.put(t, lowRank(sd, taskInputs.get(t), ctx.param(taskA(t)), ctx.param(taskB(t)),
            taskScales.get(t), taskRanks.get(t), rowMap));
      }
    }
    Map<String, SDVariable> tasks = new LinkedHashMap<>();
    for (String t : taskRanks.keySet()) {
      SDVariable y = EqualShapeSum.apply(sd, p, taskDeltas.get(t));
      if (mode == LoraMode.MATRIX_V2) {
        y = EqualShapeSum.apply(sd, y, sharedDelta);
      }
      tasks.put(t, y);
    }
    SDVariable shared;
    if (mode == LoraMode.ADDITION) {
      SDVariable sum = null;
      for (SDVariable y : tasks.values()) {
        sum = sum == null ? y : EqualShapeSum.apply(sd, sum, y);
      }
      shared = EqualShapeSum.apply(sd, p, LayerNorm.apply(sd, sum, 2, ctx.param(normWeight()), ctx.param(normBias())));
    } else {
      shared = EqualShapeSum.apply(sd, p, sharedDelta);
    }
    return new Output(shared, ImmutableMap.copyOf(tasks));
  }

  /**
   * {@code scale * (u A^T) B^T}: two skinny products, never the full {@code [out, in]} delta. The scale multiplies the
   * rank-r intermediate, not the output, which saves one {@code [N, out]} array (and its gradient) per path; so does
   * {@code rowMap}, applied to the intermediate.
   */
  private static SDVariable lowRank(SameDiff sd, SDVariable u, SDVariable a, SDVariable b, double scale, int rank,
      RowMap rowMap) {
    SDVariable down = rowMap.apply(sd.mmul(u, a, false, true, false).mul(scale), rank); // [N, r]
    return sd.mmul(down, b, false, true, false); // [N, out]
  }

  /**
   * The low-rank terms of every path (the shared one if it has matrices, then the tasks in order) when all of them read
   * the same input {@code u}, with a single down-projection: {@code H = u [A_1; ...; A_k]^T} ({@code [N, R]}, R the
   * sum of the ranks), then for path p {@code H P_p^T} with {@code P_p = [0 .. s_p B_p .. 0]} ({@code [out, R]}: the
   * path's scaled B in its own rank columns, zeros in the others), which equals {@code s_p (u A_p^T) B_p^T}. The input
   * (and, backward, its gradient) is read once instead of once per path; the zero blocks are constants, so B's
   * gradient is the path's columns of {@code P_p}'s. {@code rowMap} reorders the rows of {@code H}.
   */
  private ImmutableList<SDVariable> stackedLowRank(GraphContext ctx, SDVariable u, RowMap rowMap) {
    SameDiff sd = ctx.sd();
    List<SDVariable> as = new ArrayList<>();
    List<SDVariable> bs = new ArrayList<>();
    List<Integer> ranks = new ArrayList<>();
    List<Double> scales = new ArrayList<>();
    if (hasSharedMatrices()) {
      as.add(ctx.param(sharedA()));
      bs.add(ctx.param(sharedB()));
      ranks.add(sharedRank);
      scales.add(sharedScale);
    }
    for (String t : taskRanks.keySet()) {
      as.add(ctx.param(taskA(t)));
      bs.add(ctx.param(taskB(t)));
      ranks.add(taskRanks.get(t));
      scales.add(taskScales.get(t));
    }
    int total = ranks.stream().mapToInt(Integer::intValue).sum();
    SDVariable stackedA = sd.concat(0, as.toArray(new SDVariable[0]));
    SDVariable down = rowMap.apply(sd.mmul(u, stackedA, false, true, false), total); // [N, R]
    ImmutableList.Builder<SDVariable> deltas = ImmutableList.builder();
    int offset = 0;
    for (int k = 0; k < ranks.size(); k++) {
      int after = total - offset - ranks.get(k);
      List<SDVariable> columns = new ArrayList<>();
      if (offset > 0) {
        columns.add(sd.constant(Nd4j.zeros(ctx.dataType(), out, offset)));
      }
      columns.add(bs.get(k).mul(scales.get(k))); // [out, r_k]
      if (after > 0) {
        columns.add(sd.constant(Nd4j.zeros(ctx.dataType(), out, after)));
      }
      SDVariable padded = columns.size() == 1 ? columns.get(0) : sd.concat(1, columns.toArray(new SDVariable[0]));
      deltas.add(sd.mmul(down, padded, false, true, false)); // [N, out]
      offset += ranks.get(k);
    }
    return deltas.build();
  }

  /**
   * The dense weight delta of one low-rank path, {@code scale * B A} ({@code [out, in]}), from the registry's
   * current values: {@code "shared"} or a task name. The only place the delta matrix is formed (merging, export).
   */
  public INDArray deltaWeight(ParameterRegistry params, String path) {
    Preconditions.checkState(adapted(), "%s has no adapter (shared rank 0)", prefix);
    if (path.equals("shared")) {
      Preconditions.checkArgument(hasSharedMatrices(), "%s has no shared matrices in mode %s", prefix, mode);
      return params.get(sharedB()).mmul(params.get(sharedA())).muli(sharedScale);
    }
    Preconditions.checkArgument(taskRanks.containsKey(path), "%s: unknown path '%s'; expected shared or one of %s",
        prefix, path, taskRanks.keySet());
    return params.get(taskB(path)).mmul(params.get(taskA(path))).muli(taskScales.get(path));
  }

  /** Builds an {@link MtLoraLinear}; {@link #build()} validates every field. */
  public static final class Builder {
    private final String prefix;
    private final long in;
    private final long out;
    private boolean bias = true;
    private Role baseRole = Role.PRETRAINED;
    private int sharedRank;
    private double sharedScale = 1.0;
    private final Map<String, Integer> taskRanks = new LinkedHashMap<>();
    private final Map<String, Double> taskScales = new LinkedHashMap<>();
    private double dropout;
    private LoraMode mode = LoraMode.MATRIX;
    private boolean wrapped = true;

    private Builder(String prefix, long in, long out) {
      this.prefix = prefix;
      this.in = in;
      this.out = out;
    }

    /** Whether the pretrained layer has a bias (default true; false for patch-merging reduction). */
    public Builder bias(boolean bias) {
      this.bias = bias;
      return this;
    }

    /** Role of the pretrained weight and bias (default {@link Role#PRETRAINED}). */
    public Builder baseRole(Role role) {
      this.baseRole = role;
      return this;
    }

    /** Rank and scale of the shared (task-agnostic) path; rank 0 means no adapter at all. */
    public Builder shared(int rank, double scale) {
      this.sharedRank = rank;
      this.sharedScale = scale;
      return this;
    }

    /** Adds a task-specific path, in call order. */
    public Builder task(String task, int rank, double scale) {
      Preconditions.checkArgument(!taskRanks.containsKey(task), "%s: task %s added twice", prefix, task);
      taskRanks.put(task, rank);
      taskScales.put(task, scale);
      return this;
    }

    /** LoRA dropout probability on the shared input of the low-rank paths, in [0, 1) (default 0). */
    public Builder dropout(double p) {
      this.dropout = p;
      return this;
    }

    /** How the paths combine (default {@link LoraMode#MATRIX}). */
    public Builder mode(LoraMode mode) {
      this.mode = Preconditions.checkNotNull(mode, "mode");
      return this;
    }

    /**
     * A plain dense layer rather than an MTLoRA module (the reference's {@code nn.Linear} where a site has LoRA
     * disabled): no adapter, and parameters named {@code <prefix>.weight} / {@code <prefix>.bias}.
     */
    public Builder plain() {
      this.wrapped = false;
      this.sharedRank = 0;
      this.taskRanks.clear();
      this.taskScales.clear();
      return this;
    }

    /** Validates and builds. */
    public MtLoraLinear build() {
      Preconditions.checkArgument(prefix != null && !prefix.isEmpty(), "layer prefix must be non-empty");
      Preconditions.checkArgument(in > 0 && out > 0, "%s: in and out must be positive, found in=%s out=%s", prefix,
          in, out);
      Preconditions.checkArgument(sharedRank >= 0, "%s: shared rank must be >= 0, found %s", prefix, sharedRank);
      Preconditions.checkArgument(wrapped || (sharedRank == 0 && taskRanks.isEmpty()),
          "%s: a plain layer has no adapters", prefix);
      Preconditions.checkArgument(dropout >= 0 && dropout < 1, "%s: dropout must be in [0, 1), found %s", prefix,
          dropout);
      for (Map.Entry<String, Integer> t : taskRanks.entrySet()) {
        Preconditions.checkArgument(t.getKey() != null && !t.getKey().isEmpty() && !t.getKey().contains("."),
            "%s: task names must be non-empty and contain no '.', found '%s'", prefix, t.getKey());
        Preconditions.checkArgument(t.getValue() > 0, "%s: rank of task %s must be positive, found %s", prefix,
            t.getKey(), t.getValue());
      }
      return new MtLoraLinear(this);
    }
  }
}
