package org.mtlora.core.graph;

import com.google.common.collect.ImmutableSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.CustomOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.Op;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.ops.impl.shape.Reshape;
import org.nd4j.linalg.api.ops.impl.transforms.same.Identity;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The ops of one forward run of a graph, in the order SameDiff's session ran them, with the shapes of their outputs
 * and, for every array, the step after which nothing reads it: a later run whose placeholders, constants and variables
 * have the same shapes, strides, orders and data types runs these steps directly ({@link #run}) — each op parameterised
 * and executed exactly as {@link KernelSession} does, outputs taken from and released to the same memory manager —
 * without the session's per-op work (dependency tracking, output-shape calls, bookkeeping by frame and iteration).
 *
 * <p>A plan is only built ({@link #of}) where replaying is exact: every op is on a list of ops whose output shapes follow
 * from their input shapes and arguments ({@link #SHAPE_STATIC}), every integer input that may shape an output is the
 * same in every run (a constant, or computed from constants and shapes alone), there is no control
 * flow, and each output was allocated by the session. Otherwise {@link #of} returns null and every run goes through the
 * session.
 *
 * <p>Where the session's fusions are on, a plan also computes groups of recorded ops in one pass: each exact GELU of a
 * training graph, with its derivative, and its backward ({@link TrainingGelu}); their intermediate arrays are never
 * allocated, and the results have the bits of the ops they replace.
 */
final class ReplayPlan {
  /**
   * Ops whose output shapes depend only on their input shapes, their arguments and the values of integer inputs that
   * are the same in every run (see {@link #of}): those of this project's evaluation graphs and gradient functions. An op
   * outside this list keeps a graph on SameDiff's session.
   */
  static final ImmutableSet<String> SHAPE_STATIC = ImmutableSet.<String>builder().add(
      "add", "add_scalar", "subtract", "multiply", "divide", "mul_scalar", "sub_scalar", "div_scalar", "rsub_scalar",
      "pow", "neg", "erfc", "erf", "exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "abs", "square", "sign",
      "maximum", "matmul", "softmax", "log_softmax", "reduce_mean", "reduce_sum", "reduce_max", "permute", "reshape",
      "concat", "gather", "unstack", "stack", "identity", "transpose", "expand_dims", "squeeze", "tile", "cast", "pad",
      "fill", "onehot", "shape_of", "size_at", "greaterthanorequal_scalar", "notequals_scalar")
      // the backward ops of training graphs' gradient functions
      .add("add_bp", "subtract_bp", "multiply_bp", "divide_bp", "matmul_bp", "concat_bp", "reduce_sum_bp",
          "reduce_mean_bp", "softmax_bp", "log_softmax_bp", "thresholdedrelu_bp", "tanh_bp")
      // this project's ops (org.mtlora.core.nn), each a native op with its own backward
      .add("mtlora_frozen_weight_matmul", "mtlora_row_permutation", "mtlora_broadcast_product",
          "mtlora_broadcast_sum", "mtlora_equal_shape_sum", "mtlora_row_centring", "mtlora_column_centring",
          "mtlora_column_mean", "mtlora_mask_product", "mtlora_relu", "mtlora_gelu_product", "mtlora_no_gradient")
      // this project's ops computed in Java (JavaOp)
      .add("mtlora_batch_norm", "mtlora_batch_norm_bp", "mtlora_layer_norm", "mtlora_layer_norm_bp",
          "mtlora_pixel_log_likelihood", "mtlora_pixel_log_likelihood_bp")
      .build();

  /** Ops whose outputs depend on their inputs' shapes alone: the same in every run of a plan. */
  private static final ImmutableSet<String> SHAPE_ONLY = ImmutableSet.of("shape_of", "size_at");

  /**
   * Ops of {@link #SHAPE_STATIC} whose output shapes never depend on the values of their inputs (element-wise ones
   * and those that index with an array), so that they may read integer or boolean arrays computed in the run; so may
   * {@code onehot}'s first input (the indices; the depth is an argument).
   */
  private static final ImmutableSet<String> VALUES_KEEP_SHAPE = ImmutableSet.of("add", "subtract", "multiply",
      "divide", "maximum", "cast", "gather", "add_bp", "subtract_bp", "multiply_bp", "divide_bp",
      "mtlora_pixel_log_likelihood", "mtlora_pixel_log_likelihood_bp");

  /**
   * Whether {@code op} is executed from its context alone (its inputs, arguments and allocated outputs), as SameDiff's
   * session does for every op of {@link #SHAPE_STATIC} but {@code identity}: {@link KernelSession#execute}.
   */
  static boolean runsFromContext(DifferentialFunction op) {
    return SHAPE_STATIC.contains(op.opName()) && !(op instanceof Identity)
        && (op instanceof DynamicCustomOp || (op instanceof Op && !(op instanceof CustomOp)));
  }

  /** How a step makes its output. */
  private enum Kind {
    /** Executes the op (KernelSession#execute) into newly allocated outputs. */
    EXECUTE,
    /** {@code identity}: its output is its input array. */
    IDENTITY,
    /**
     * A row-major {@code reshape} of a whole row-major buffer: its output is a new array over its input's buffer (the
     * same floats in the same order), not a copy. The buffer is released after the last reader of either.
     */
    RESHAPE,
    /** A group of recorded ops computed in one pass ({@link FusedGroup}) into newly allocated outputs. */
    FUSED,
    /**
     * An op whose outputs follow from array shapes and integer constants alone (the shape arithmetic of reshapes and
     * gradient functions: {@code shape_of}, {@code size_at} and what is computed from them), small and not returned:
     * executed in the first replay into arrays of the plan's own, which later runs read without executing it.
     */
    ONCE
  }

  /** Largest output, in elements, that a {@link Kind#ONCE} step keeps from run to run. */
  private static final long ONCE_MAX_ELEMENTS = 1 << 12;

  /** Ops of a recorded run that a replay computes in one pass ({@link TrainingGelu}). */
  interface FusedGroup {
    /** Reads the group's inputs and writes its outputs (allocated, of the recorded shapes). */
    void run(INDArray[] inputs, INDArray[] outputs);
  }

  /**
   * One entry of a recorded run before its plan is made: an op with the names of its inputs and outputs and the arrays
   * it wrote, or a group of such ops computed together ({@code op} null).
   */
  record Entry(DifferentialFunction op, FusedGroup group, List<String> inputs, List<String> outputs,
      INDArray[] arrays) {}

  /**
   * One op: where its inputs are read from and its outputs written to (slots of a run's values), and the arrays the
   * last run made for its outputs ({@code made}, one per output; see {@link #run}).
   */
  private record Step(
      DifferentialFunction op, FusedGroup group, OpContext context, int[] inputs, int[] outputs,
      LongShapeDescriptor[] shapes, Kind kind, int[] releaseAfter, INDArray[] made) {}

  /** {@code Reshape}'s first integer argument for a row-major reshape ({@code 'c'}, negated). */
  private static final long ROW_MAJOR = -'c';

  /** What {@link KernelSession} saw of one op while it ran: the op and the arrays it was given. */
  record Recorded(DifferentialFunction op, INDArray[] outputs) {}

  private final SameDiff sd;
  private final List<Step> steps;
  private final List<String> outputs;
  private final Set<String> outputSet;
  private final Map<String, Integer> slots;
  /** Slots read from the graph at the start of each run (constants and variables), by name. */
  private final Map<String, Integer> stored;
  /** Placeholder name → its recorded shape, strides, order and data type. */
  private final Map<String, LongShapeDescriptor> placeholders;
  /**
   * The same for each constant and variable the plan reads: a variable's array may be replaced between runs (a chain
   * sets its boundary inputs, of the batch's size, before each run).
   */
  private final Map<String, LongShapeDescriptor> storedShapes = new LinkedHashMap<>();
  private final int slotCount;
  /** The arena, and its generation, whose buffers the arrays of the steps' {@code made} lie in; null before a run. */
  private Arena madeIn;
  private long madeInGeneration;

  private ReplayPlan(SameDiff sd, List<Step> steps, List<String> outputs, Map<String, Integer> slots,
      Map<String, Integer> stored, Map<String, LongShapeDescriptor> placeholders) {
    this.sd = sd;
    this.steps = steps;
    this.outputs = List.copyOf(outputs);
    this.outputSet = Set.copyOf(outputs);
    this.slots = slots;
    this.stored = stored;
    stored.keySet().forEach(name -> storedShapes.put(name, sd.getArrForVarName(name).shapeDescriptor()));
    this.placeholders = placeholders;
    this.slotCount = slots.size();
  }

  /**
   * The plan of a run that returned {@code outputs} from {@code placeholders}, its ops as {@code recorded} in the order
   * they ran; null where replaying would not be exact (see the class comment).
   */
  static ReplayPlan of(SameDiff sd, List<Recorded> recorded, List<String> outputs,
      Map<String, INDArray> placeholders, boolean fuse) {
    List<Entry> entries = new ArrayList<>();
    for (Recorded r : recorded) {
      DifferentialFunction op = r.op();
      SameDiffOp sdo = sd.getOps().get(op.getOwnName());
      if (sdo == null || !replayable(op, sdo, r.outputs())) {
        return null;
      }
      entries.add(new Entry(op, null, sdo.getInputsToOp() == null ? List.of() : sdo.getInputsToOp(),
          sdo.getOutputsOfOp(), r.outputs()));
    }
    if (fuse) {
      entries = TrainingGelu.fuse(sd, entries, Set.copyOf(outputs), placeholders);
    }
    Map<String, Integer> slots = new LinkedHashMap<>();
    Map<String, Integer> stored = new LinkedHashMap<>();
    Map<String, LongShapeDescriptor> phShapes = new LinkedHashMap<>();
    placeholders.forEach((name, arr) -> {
      phShapes.put(name, arr.shapeDescriptor());
      slots.put(name, slots.size());
    });
    List<int[]> inputsOf = new ArrayList<>();
    List<int[]> outputsOf = new ArrayList<>();
    List<Kind> kinds = new ArrayList<>();
    Map<Integer, Boolean> wholeRowMajor = new HashMap<>(); // slots whose arrays a reshape may share
    Set<String> sameInEveryRun = new HashSet<>(); // constants, and what follows from them and from shapes alone
    Set<String> fromShapes = new HashSet<>(); // what follows from shapes and integer constants alone
    Set<String> requested = Set.copyOf(outputs);
    for (Entry r : entries) {
      DifferentialFunction op = r.op();
      String opName = op == null ? "" : op.opName();
      List<String> in = r.inputs();
      int[] inSlots = new int[in.size()];
      boolean fixedInputs = true;
      for (int i = 0; i < inSlots.length; i++) {
        String name = in.get(i);
        Integer s = slots.get(name);
        if (s == null) {
          VariableType type = sd.getVariable(name).getVariableType();
          if (type != VariableType.CONSTANT && type != VariableType.VARIABLE) {
            return null; // an array no earlier op wrote and no placeholder holds
          }
          s = slots.size();
          slots.put(name, s);
          stored.put(name, s);
          if (type == VariableType.CONSTANT) {
            sameInEveryRun.add(name);
          }
        }
        inSlots[i] = s;
        boolean fixed = sameInEveryRun.contains(name);
        fixedInputs &= fixed;
        if (!fixed && !sd.getVariable(name).dataType().isFPType() && !VALUES_KEEP_SHAPE.contains(opName)
            && !SHAPE_ONLY.contains(opName) && !(i == 0 && opName.equals("onehot"))) {
          return null; // integers computed from the run's values could change an output's shape
        }
      }
      List<String> out = r.outputs();
      int[] outSlots = new int[out.size()];
      for (int i = 0; i < outSlots.length; i++) {
        if (slots.containsKey(out.get(i))) {
          return null; // written twice: not a plain forward
        }
        outSlots[i] = slots.size();
        slots.put(out.get(i), outSlots[i]);
        if (fixedInputs || SHAPE_ONLY.contains(opName)) {
          sameInEveryRun.add(out.get(i));
        }
      }
      boolean shapesAlone = r.group() == null && (SHAPE_ONLY.contains(opName) || (!in.isEmpty()
          && in.stream().allMatch(name -> fromShapes.contains(name) || integerConstant(sd, name))));
      if (shapesAlone) {
        fromShapes.addAll(out);
      }
      Kind kind = r.group() != null ? Kind.FUSED : op instanceof Identity ? Kind.IDENTITY
          : sharesBuffer(op, inSlots, r.arrays(), wholeRowMajor) ? Kind.RESHAPE
          : shapesAlone && keptFromRunToRun(r, requested) ? Kind.ONCE : Kind.EXECUTE;
      for (int i = 0; i < outSlots.length; i++) {
        INDArray o = r.arrays()[i];
        boolean allocated = kind == Kind.EXECUTE || kind == Kind.FUSED || kind == Kind.ONCE;
        wholeRowMajor.put(outSlots[i], allocated ? !o.isView() && o.ordering() == 'c'
            && o.data().length() == o.length() : wholeRowMajor.getOrDefault(inSlots[0], false));
      }
      kinds.add(kind);
      inputsOf.add(inSlots);
      outputsOf.add(outSlots);
    }
    for (String name : outputs) {
      if (!slots.containsKey(name)) {
        return null;
      }
    }
    // Buffers by owner: an identity's or a shared reshape's output is its input's buffer. A buffer is released after
    // the last reader of any array over it, unless one of them is returned, a placeholder, a constant or a variable.
    int n = slots.size();
    int[] owner = new int[n];
    for (int s = 0; s < n; s++) {
      owner[s] = s;
    }
    for (int i = 0; i < entries.size(); i++) {
      if (kinds.get(i) == Kind.IDENTITY || kinds.get(i) == Kind.RESHAPE) {
        owner[outputsOf.get(i)[0]] = owner[inputsOf.get(i)[0]];
      }
    }
    boolean[] pinned = new boolean[n];
    for (int i = 0; i < entries.size(); i++) {
      if (kinds.get(i) == Kind.ONCE) {
        for (int s : outputsOf.get(i)) {
          pinned[s] = true; // the plan's own arrays, kept for the next run
        }
      }
    }
    placeholders.keySet().forEach(p -> pinned[slots.get(p)] = true);
    stored.values().forEach(s -> pinned[s] = true);
    outputs.forEach(o -> pinned[owner[slots.get(o)]] = true);
    int[] lastUse = new int[n];
    Arrays.fill(lastUse, -1);
    for (int i = 0; i < entries.size(); i++) {
      for (int s : outputsOf.get(i)) {
        lastUse[owner[s]] = Math.max(lastUse[owner[s]], i);
      }
      for (int s : inputsOf.get(i)) {
        lastUse[owner[s]] = Math.max(lastUse[owner[s]], i);
      }
    }
    List<List<Integer>> releases = new ArrayList<>();
    entries.forEach(r -> releases.add(new ArrayList<>()));
    for (int s = 0; s < n; s++) {
      if (owner[s] == s && !pinned[s] && lastUse[s] >= 0) {
        releases.get(lastUse[s]).add(s);
      }
    }
    List<Step> steps = new ArrayList<>();
    for (int i = 0; i < entries.size(); i++) {
      Entry r = entries.get(i);
      List<String> out = r.outputs();
      LongShapeDescriptor[] shapes = new LongShapeDescriptor[out.size()];
      for (int j = 0; j < shapes.length; j++) {
        shapes[j] = r.arrays()[j].shapeDescriptor();
      }
      int[] release = releases.get(i).stream().mapToInt(Integer::intValue).toArray();
      Kind kind = kinds.get(i);
      OpContext context = kind == Kind.EXECUTE || kind == Kind.ONCE ? Nd4j.getExecutioner().buildContext() : null;
      steps.add(new Step(r.op(), r.group(), context, inputsOf.get(i), outputsOf.get(i), shapes, kind, release,
          new INDArray[shapes.length]));
    }
    return new ReplayPlan(sd, steps, outputs, slots, stored, phShapes);
  }

  /**
   * Whether {@code op} is a reshape that can share its input's buffer: row-major ({@code Reshape}'s first integer
   * argument {@code -99}), its input a whole row-major buffer that an earlier step of the plan allocates, its recorded
   * output row-major with as many elements.
   */
  private static boolean sharesBuffer(DifferentialFunction op, int[] inSlots, INDArray[] outputs,
      Map<Integer, Boolean> wholeRowMajor) {
    if (!(op instanceof Reshape reshape) || outputs.length != 1 || inSlots.length == 0
        || !wholeRowMajor.getOrDefault(inSlots[0], false)) {
      return false;
    }
    long[] args = reshape.iArgs();
    // the shape in the arguments after the order, or (the gradient functions' reshapes) in a second input that is the
    // same in every run (ReplayPlan.of checks it), the arguments the order alone
    boolean rowMajor = args.length > 0 && args[0] == ROW_MAJOR
        && (inSlots.length == 1 ? args.length > 1 : inSlots.length == 2 && args.length == 1);
    INDArray out = outputs[0];
    return rowMajor && out.ordering() == 'c' && !out.isView()
        && Arrays.equals(out.stride(), Nd4j.getStrides(out.shape(), 'c'));
  }

  /** Whether {@code name} is a constant of an integer or boolean type (a shape's, an axis'), not a parameter. */
  private static boolean integerConstant(SameDiff sd, String name) {
    return sd.getVariable(name).getVariableType() == VariableType.CONSTANT
        && !sd.getVariable(name).dataType().isFPType();
  }

  /** Whether a step's recorded outputs may be kept from run to run: none returned, each small. */
  private static boolean keptFromRunToRun(Entry r, Set<String> requested) {
    for (int i = 0; i < r.outputs().size(); i++) {
      if (requested.contains(r.outputs().get(i)) || r.arrays()[i].length() > ONCE_MAX_ELEMENTS) {
        return false;
      }
    }
    return true;
  }

  /** Whether {@code op}, as it ran with {@code outputs}, can be replayed exactly. */
  private static boolean replayable(DifferentialFunction op, SameDiffOp sdo, INDArray[] outputs) {
    if (!SHAPE_STATIC.contains(op.opName()) || sdo.getOutputsOfOp() == null || outputs == null
        || outputs.length != sdo.getOutputsOfOp().size()) {
      return false;
    }
    for (INDArray o : outputs) {
      if (o == null || o.isEmpty()) {
        return false;
      }
    }
    int inputs = sdo.getInputsToOp() == null ? 0 : sdo.getInputsToOp().size();
    if (op instanceof Identity) {
      return inputs == 1 && outputs.length == 1;
    }
    // a legacy op with a second input reads it as an axis or a scalar that the session sets on the op
    return op instanceof DynamicCustomOp || (op instanceof Op && !(op instanceof CustomOp) && inputs == 1);
  }

  /** Whether a run asking for {@code names} from {@code feed} can be replayed by this plan. */
  boolean matches(List<String> names, Map<String, INDArray> feed) {
    if (!outputs.equals(names) || feed.size() != placeholders.size()) {
      return false;
    }
    for (Map.Entry<String, INDArray> e : feed.entrySet()) {
      if (!sameLayout(e.getValue(), placeholders.get(e.getKey()))) {
        return false;
      }
    }
    for (Map.Entry<String, LongShapeDescriptor> e : storedShapes.entrySet()) {
      if (!sameLayout(sd.getArrForVarName(e.getKey()), e.getValue())) {
        return false;
      }
    }
    return true;
  }

  /** Whether {@code arr} has {@code recorded}'s shape, strides, order and data type. */
  private static boolean sameLayout(INDArray arr, LongShapeDescriptor recorded) {
    return recorded != null && arr != null && arr.dataType() == recorded.dataType()
        && arr.ordering() == recorded.getOrder() && Arrays.equals(arr.shape(), recorded.getShape())
        && Arrays.equals(arr.stride(), recorded.getStride());
  }

  /** How many ops a run executes. */
  int size() {
    return steps.size();
  }

  /** How many steps compute a group of recorded ops in one pass. */
  int fusedGroups() {
    return count(Kind.FUSED);
  }

  /** How many steps follow from shapes alone and run in the first replay only ({@link Kind#ONCE}). */
  int stepsRunOnce() {
    return count(Kind.ONCE);
  }

  /** How many reshapes share their input's buffer instead of copying it. */
  int sharedReshapes() {
    return count(Kind.RESHAPE);
  }

  private int count(Kind kind) {
    return (int) steps.stream().filter(s -> s.kind() == kind).count();
  }

  /**
   * Runs the plan: {@code session} executes each op (its JVM kernels and fusions included), new arrays come from and
   * go back to {@code memory}. Returns the requested outputs by name.
   *
   * <p>A run asks {@code memory} for the same arrays in the same order as the last one, so when both take their
   * buffers from the same arena, reset in between, they are handed the same blocks: a step then keeps the array
   * objects it made in the last run (its outputs, or a shared reshape's array over the same buffer) instead of making
   * new ones — ND4J takes 10-15 µs to make an array over a buffer, and a Swin-T training step makes about 5,000
   * (docs/performance.md, lever row "Replayed steps keep their array objects"). A block that differs from the last
   * run's gets a new array, so a run computes the same whether or not it keeps any.
   */
  Map<String, INDArray> run(KernelSession session, BufferCache memory, Map<String, INDArray> feed) {
    Arena arena = memory.arena();
    boolean again = arena != null && arena == madeIn && arena.generation() == madeInGeneration;
    madeIn = arena;
    madeInGeneration = arena == null ? 0 : arena.generation();
    INDArray[] values = new INDArray[slotCount];
    feed.forEach((name, arr) -> values[slots.get(name)] = arr);
    stored.forEach((name, s) -> values[s] = sd.getArrForVarName(name));
    session.startRun(outputSet);
    for (Step step : steps) {
      INDArray[] in = new INDArray[step.inputs().length];
      for (int i = 0; i < in.length; i++) {
        in[i] = values[step.inputs()[i]];
      }
      // the last run's array where the memory hands out its buffer again (again: the same arena generation)
      IntFunction<INDArray> fromMemory = j -> memory.allocate(step.shapes()[j], again ? step.made()[j] : null);
      if (step.kind() == Kind.IDENTITY) {
        values[step.outputs()[0]] = in[0];
      } else if (step.kind() == Kind.FUSED) {
        step.group().run(in, newOutputs(step, values, fromMemory));
      } else if (step.kind() == Kind.RESHAPE) {
        INDArray view = step.made()[0];
        if (view == null || view.data() != in[0].data() || view.wasClosed()) {
          LongShapeDescriptor d = step.shapes()[0];
          view = Nd4j.create(in[0].data(), d.getShape(), d.getStride(), 0, 'c', d.dataType());
          step.made()[0] = view;
        }
        values[step.outputs()[0]] = view;
      } else if (step.kind() == Kind.ONCE && step.made()[0] != null) {
        for (int j = 0; j < step.made().length; j++) {
          values[step.outputs()[j]] = step.made()[j];
        }
      } else {
        OpContext context = step.context();
        DifferentialFunction op = step.op();
        if (op instanceof DynamicCustomOp c) {
          context.setArgs(in, c.iArgs(), c.dArgs(), c.tArgs(), c.bArgs());
        } else {
          context.setInputArray(0, in[0]);
        }
        INDArray[] out =
            newOutputs(step, values, step.kind() == Kind.ONCE ? j -> ownArray(step.shapes()[j]) : fromMemory);
        for (int j = 0; j < out.length; j++) {
          context.setOutputArray(j, out[j]);
        }
        session.execute(op, context);
        op.clearArrays();
        context.purge();
      }
      for (int s : step.releaseAfter()) {
        memory.release(values[s]);
        values[s] = null;
      }
    }
    Map<String, INDArray> out = new LinkedHashMap<>();
    outputs.forEach(name -> out.put(name, values[slots.get(name)]));
    return out;
  }

  /**
   * The arrays {@code make} gives for {@code step}'s outputs, by output index, also stored in their slots of {@code
   * values} and kept as the step's {@code made}.
   */
  private static INDArray[] newOutputs(Step step, INDArray[] values, IntFunction<INDArray> make) {
    INDArray[] out = new INDArray[step.shapes().length];
    for (int j = 0; j < out.length; j++) {
      out[j] = make.apply(j);
      step.made()[j] = out[j];
      values[step.outputs()[j]] = out[j];
    }
    return out;
  }

  /** An array of the plan's own, not from the run's memory, for a {@link Kind#ONCE} step's output. */
  private static INDArray ownArray(LongShapeDescriptor d) {
    return Nd4j.createUninitializedDetached(d.dataType(), d.getOrder(), d.getShape());
  }


  /** Frees the op contexts' native memory. */
  void close() {
    madeIn = null;
    for (Step s : steps) {
      Arrays.fill(s.made(), null);
      if (s.context() != null) {
        try {
          s.context().close();
        } catch (Exception e) {
          throw new IllegalStateException("closing an op context", e);
        }
      }
    }
  }
}
