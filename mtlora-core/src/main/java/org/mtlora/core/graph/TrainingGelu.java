package org.mtlora.core.graph;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMultiplication;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erfc;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;

/**
 * The exact GELU of a training graph and its backward, found among the ops of a recorded run so that its replays
 * compute each in one pass ({@link VectorGelu}): ten ops of the forward and the derivative become one step that reads
 * {@code x} and writes {@code y} and {@code D}, three ops of the backward one step that reads {@code dy} and {@code D}
 * and writes {@code dx}. The intermediate arrays (eight of the 4C-wide hidden layer per GELU) are never allocated.
 *
 * <p>The ops are those that {@code Gelu} and {@code GeluProduct} put into a training graph and SameDiff's gradient
 * function, each intermediate read by the next op of the run alone and returned by none (VectorGelu's class comment
 * names them). Ops the run does not execute do not count: a gradient function also holds {@code erfc}'s backward,
 * which reads {@code x·α} but is never run. A checkpointed forward holds the forward's four ops alone: its step writes
 * {@code y} only. Each step sits where the first op that writes one of its outputs ran, after every op that writes its
 * inputs; {@link ReplayPlan} releases the inputs after it as after any other step.
 *
 * <p>Only where the session's JVM kernels and fusions are on ({@link VectorKernels#fusions()}): a plan recorded with
 * them off replays op by op.
 */
final class TrainingGelu {
  /** The op names of {@code org.mtlora.core.nn.GeluProduct} and {@code NoGradient} (this package knows no layers). */
  private static final String GELU_PRODUCT = "mtlora_gelu_product";
  private static final String NO_GRADIENT = "mtlora_no_gradient";
  /** Any op. */
  private static final Predicate<DifferentialFunction> ANY = op -> true;

  private final SameDiff sd;
  private final List<ReplayPlan.Entry> entries;
  private final Set<String> requested;
  private final Map<String, INDArray> placeholders;
  /** Entry that writes each variable. */
  private final Map<String, Integer> producer = new HashMap<>();
  /** Entries that read each variable, each once. */
  private final Map<String, Set<Integer>> readers = new HashMap<>();
  /** Groups by the position of the entry they replace; their other members are dropped. */
  private final Map<Integer, ReplayPlan.Entry> groups = new HashMap<>();
  private final Set<Integer> dropped = new LinkedHashSet<>();

  private TrainingGelu(SameDiff sd, List<ReplayPlan.Entry> entries, Set<String> requested,
      Map<String, INDArray> placeholders) {
    this.sd = sd;
    this.entries = entries;
    this.requested = requested;
    this.placeholders = placeholders;
    for (int i = 0; i < entries.size(); i++) {
      ReplayPlan.Entry e = entries.get(i);
      for (String out : e.outputs()) {
        producer.put(out, i);
      }
      for (String in : e.inputs()) {
        readers.computeIfAbsent(in, k -> new LinkedHashSet<>()).add(i);
      }
    }
  }

  /**
   * {@code entries} (a recorded run's ops, in order) with each training GELU's forward and derivative, and its
   * backward, replaced by one step each; {@code requested} are the run's outputs, {@code placeholders} its inputs.
   */
  static List<ReplayPlan.Entry> fuse(SameDiff sd, List<ReplayPlan.Entry> entries, Set<String> requested,
      Map<String, INDArray> placeholders) {
    TrainingGelu found = new TrainingGelu(sd, entries, requested, placeholders);
    for (int i = 0; i < entries.size(); i++) {
      DifferentialFunction op = entries.get(i).op();
      if (op != null && GELU_PRODUCT.equals(op.opName())) {
        found.forward(i);
      }
    }
    if (found.groups.isEmpty()) {
      return entries;
    }
    List<ReplayPlan.Entry> out = new ArrayList<>();
    for (int i = 0; i < entries.size(); i++) {
      ReplayPlan.Entry group = found.groups.get(i);
      if (group != null) {
        out.add(group);
      } else if (!found.dropped.contains(i)) {
        out.add(entries.get(i));
      }
    }
    return out;
  }

  /** Groups the GELU whose product {@code p = x·e} is entry {@code pi}, and its backward, where they match. */
  private void forward(int pi) {
    ReplayPlan.Entry p = entries.get(pi);
    if (p.inputs().size() != 2 || p.outputs().size() != 1) {
      return;
    }
    String x = p.inputs().get(0);
    String e = p.inputs().get(1);
    int ei = producerOf(e, op -> op instanceof Erfc);
    int ai = ei < 0 ? -1 : producerOf(input(ei, 0), op -> NO_GRADIENT.equals(op.opName()));
    int yi = soleReader(p.outputs().get(0), op -> op instanceof ScalarMultiplication);
    if (ai < 0 || yi < 0 || soleReader(output(ai), ANY) != ei || !input(ai, 0).equals(x) || !isFloat(x)) {
      return;
    }
    Float alpha = entries.get(ai).inputs().size() == 2 ? constantScalar(input(ai, 1)) : null;
    Float beta = GeluFusion.scalar(entries.get(yi).op());
    List<Integer> members = new ArrayList<>(List.of(ai, ei, pi, yi));
    Float gamma = 1f;
    Float kappa = 1f;
    int di = -1;
    Set<Integer> eReaders = readersOf(e);
    if (eReaders.size() == 2 && !requested.contains(e)) { // the derivative D = e + ((x·exp((x·x)·γ))·κ)
      di = eReaders.stream().filter(r -> r != pi).findFirst().orElseThrow();
      String v = otherInput(di, e, AddOp.class);
      int vi = v == null ? -1 : producerOf(v, op -> op instanceof ScalarMultiplication);
      int ui = vi < 0 || soleReader(v, ANY) != di ? -1 : producerOf(input(vi, 0), op -> op.getClass() == MulOp.class);
      String g = ui < 0 || soleReader(output(ui), ANY) != vi ? null : otherInput(ui, x, MulOp.class);
      int gi = g == null ? -1 : producerOf(g, op -> op instanceof Exp);
      int ti = gi < 0 || soleReader(g, ANY) != ui ? -1
          : producerOf(input(gi, 0), op -> op instanceof ScalarMultiplication);
      int si = ti < 0 || soleReader(output(ti), ANY) != gi ? -1
          : producerOf(input(ti, 0), op -> op.getClass() == MulOp.class);
      if (si < 0 || soleReader(output(si), ANY) != ti || !entries.get(si).inputs().equals(List.of(x, x))) {
        return;
      }
      gamma = GeluFusion.scalar(entries.get(ti).op());
      kappa = GeluFusion.scalar(entries.get(vi).op());
      members.addAll(List.of(si, ti, gi, ui, vi, di));
    } else if (eReaders.size() != 1 || requested.contains(e)) {
      return;
    }
    if (alpha == null || beta == null || gamma == null || kappa == null || members.stream().anyMatch(this::taken)) {
      return;
    }
    List<String> outputs = di < 0 ? List.of(output(yi)) : List.of(output(yi), output(di));
    INDArray[] arrays = outputs.stream().map(this::recordedArray).toArray(INDArray[]::new);
    if (!wholeFloatBuffers(recordedArray(x), arrays)) {
      return;
    }
    VectorGelu.Constants constants = new VectorGelu.Constants(alpha, beta, gamma, kappa);
    ReplayPlan.FusedGroup pass = (in, out) ->
        check(VectorKernels.tryGeluForward(in[0], constants, out[0], out.length > 1 ? out[1] : null));
    add(members, di < 0 ? yi : Math.min(yi, di), new ReplayPlan.Entry(null, pass, List.of(x), outputs, arrays));
    if (di >= 0) {
      backward(output(di), arrays[1]);
    }
  }

  /**
   * Groups the backward {@code dx = ((dy·β)·D) + c} of a GELU whose derivative {@code d} a group writes (recorded as
   * {@code dArray}), where it matches.
   */
  private void backward(String d, INDArray dArray) {
    Set<Integer> dReaders = readersOf(d);
    if (requested.contains(d) || dReaders.size() != 1) {
      return;
    }
    int mi = dReaders.iterator().next();
    String q = otherInput(mi, d, MulOp.class);
    int qi = q == null ? -1 : producerOf(q, op -> op instanceof ScalarMultiplication);
    if (qi < 0 || soleReader(q, ANY) != mi) {
      return;
    }
    String dy = input(qi, 0);
    Float beta = GeluFusion.scalar(entries.get(qi).op());
    List<Integer> members = new ArrayList<>(List.of(qi, mi));
    int last = mi;
    Float plus = null;
    int si = soleReader(output(mi), op -> op.getClass() == AddOp.class);
    String c = si < 0 ? null : otherInput(si, output(mi), AddOp.class);
    if (c != null && constantScalar(c) != null) { // the sum with the zero NoGradient returns as x's other gradient
      plus = constantScalar(c);
      members.add(si);
      last = si;
    }
    INDArray[] arrays = {recordedArray(output(last))};
    if (beta == null || !isFloat(dy) || members.stream().anyMatch(this::taken)
        || !wholeFloatBuffers(recordedArray(dy), arrays) || !wholeFloatBuffers(dArray, arrays)) {
      return;
    }
    Float sum = plus;
    ReplayPlan.FusedGroup pass = (in, out) -> check(VectorKernels.tryGeluBackward(in[0], in[1], beta, sum, out[0]));
    add(members, last, new ReplayPlan.Entry(null, pass, List.of(dy, d), List.of(output(last)), arrays));
  }

  /** Records a group replacing {@code members}, placed at {@code position}. */
  private void add(List<Integer> members, int position, ReplayPlan.Entry group) {
    dropped.addAll(members);
    dropped.remove(position);
    groups.put(position, group);
  }

  /** Whether entry {@code i} is in a group already. */
  private boolean taken(int i) {
    return groups.containsKey(i) || dropped.contains(i);
  }

  /** The entry that writes {@code variable}, its only output, when its op passes {@code kind}; else −1. */
  private int producerOf(String variable, Predicate<DifferentialFunction> kind) {
    Integer i = producer.get(variable);
    ReplayPlan.Entry e = i == null ? null : entries.get(i);
    return e != null && e.op() != null && e.outputs().size() == 1 && !e.inputs().isEmpty() && kind.test(e.op())
        ? i : -1;
  }

  /**
   * The one entry that reads {@code variable}, when the run does not return it and the entry's op passes {@code kind};
   * else −1.
   */
  private int soleReader(String variable, Predicate<DifferentialFunction> kind) {
    Set<Integer> r = readersOf(variable);
    if (r.size() != 1 || requested.contains(variable)) {
      return -1;
    }
    int i = r.iterator().next();
    DifferentialFunction op = entries.get(i).op();
    return op != null && kind.test(op) ? i : -1;
  }

  private Set<Integer> readersOf(String variable) {
    return readers.getOrDefault(variable, Set.of());
  }

  /** Input {@code k} of entry {@code i}. */
  private String input(int i, int k) {
    return entries.get(i).inputs().get(k);
  }

  /** The only output of entry {@code i}. */
  private String output(int i) {
    return entries.get(i).outputs().get(0);
  }

  /**
   * The other input of entry {@code i}, a two-input op of class {@code type} exactly (not a subclass such as {@code
   * GeluProduct}), one of whose inputs is {@code known}; null otherwise.
   */
  private String otherInput(int i, String known, Class<? extends DifferentialFunction> type) {
    ReplayPlan.Entry e = entries.get(i);
    if (e.op() == null || e.op().getClass() != type || e.inputs().size() != 2 || e.outputs().size() != 1) {
      return null;
    }
    List<String> in = e.inputs();
    if (in.get(0).equals(known) && !in.get(1).equals(known)) {
      return in.get(1);
    }
    return in.get(1).equals(known) && !in.get(0).equals(known) ? in.get(0) : null;
  }

  /** The value of a float constant of one element, else null. */
  private Float constantScalar(String name) {
    if (sd.getVariable(name) == null || sd.getVariable(name).getVariableType() != VariableType.CONSTANT) {
      return null;
    }
    INDArray a = sd.getArrForVarName(name);
    return a == null || a.length() != 1 || a.dataType() != DataType.FLOAT ? null : a.getFloat(0);
  }

  private boolean isFloat(String name) {
    return sd.getVariable(name) != null && sd.getVariable(name).dataType() == DataType.FLOAT;
  }

  /** The array {@code name} had in the recorded run: an op's output, a placeholder, a constant or a variable. */
  private INDArray recordedArray(String name) {
    Integer i = producer.get(name);
    if (i != null) {
      return entries.get(i).arrays()[entries.get(i).outputs().indexOf(name)];
    }
    return placeholders.containsKey(name) ? placeholders.get(name) : sd.getArrForVarName(name);
  }

  /** Whether {@code in} and every one of {@code outs} are whole float buffers of one length. */
  private static boolean wholeFloatBuffers(INDArray in, INDArray[] outs) {
    if (in == null) {
      return false;
    }
    for (INDArray o : outs) {
      if (!VectorKernels.accepts(in, o)) {
        return false;
      }
    }
    return true;
  }

  /** A replayed group's arrays have the recorded layout, which {@link #fuse} checked: a kernel takes them. */
  private static void check(boolean computed) {
    if (!computed) {
      throw new IllegalStateException("a replayed GELU step got arrays of another layout than the recorded run's");
    }
  }
}
