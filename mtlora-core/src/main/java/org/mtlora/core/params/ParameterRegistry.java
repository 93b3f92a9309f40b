package org.mtlora.core.params;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The single source of truth for a model's parameters: every declared {@link ParamSpec} in declaration order, its
 * current value and whether it trains.
 *
 * <p>Blocks declare their parameters ({@link #declare}); values come from {@link #initialise} or a checkpoint
 * ({@link #set}, which checks the shape); a {@link FreezePolicy} sets the trainable flags; graph builders then turn
 * trainable parameters into SameDiff variables and frozen ones into constants. Not thread-safe.
 */
public final class ParameterRegistry {
  private long revision;
  private final Map<String, ParamSpec> specs = new LinkedHashMap<>();
  private final Map<String, INDArray> values = new LinkedHashMap<>();
  private final Map<String, Boolean> trainable = new LinkedHashMap<>();

  /** Declares a parameter or buffer; frozen until a policy says otherwise. Names must be unique. */
  public void declare(ParamSpec spec) {
    Preconditions.checkArgument(!specs.containsKey(spec.name()), "parameter %s is declared twice", spec.name());
    specs.put(spec.name(), spec);
    trainable.put(spec.name(), false);
  }

  /** Declares every spec in order. */
  public void declareAll(Iterable<ParamSpec> all) {
    all.forEach(this::declare);
  }

  /** Whether {@code name} is declared. */
  public boolean contains(String name) {
    return specs.containsKey(name);
  }

  /** The spec of a declared name. */
  public ParamSpec spec(String name) {
    ParamSpec s = specs.get(name);
    Preconditions.checkArgument(s != null, "unknown parameter %s (%s parameters declared)", name, specs.size());
    return s;
  }

  /** Every spec, in declaration order. */
  public ImmutableList<ParamSpec> specs() {
    return ImmutableList.copyOf(specs.values());
  }

  /** Gives every parameter without a value its initial value, drawn in declaration order from {@code seed}. */
  public void initialise(long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    for (ParamSpec s : specs.values()) {
      SplittableRandom own = rng.split();
      if (!values.containsKey(s.name())) {
        values.put(s.name(), inHeldOrder(s, s.init().create(s.shape(), own)));
        revision++;
      }
    }
  }

  /**
   * Whether the registry holds {@code spec}'s values column-major ({@code 'f'}) when it makes them itself ({@link
   * #initialise}, {@link #load}): the dense layers' pretrained weights, {@code [out, in]} matrices of role {@link
   * Role#PRETRAINED} or {@link Role#REDUCTION}. Their transpose is then a row-major {@code [in, out]} array over the
   * same memory, which a graph multiplies a frozen weight by without a copy of its own ({@code
   * GraphContext#frozenTransposed}): 104 MB less for Swin-T. The values are the same in either order.
   */
  public static boolean heldColumnMajor(ParamSpec spec) {
    return spec.shape().length == 2 && (spec.role() == Role.PRETRAINED || spec.role() == Role.REDUCTION);
  }

  /** {@code fresh} (an array of the caller's own), or a column-major copy of it (then closed) where the spec wants one. */
  private static INDArray inHeldOrder(ParamSpec spec, INDArray fresh) {
    if (!heldColumnMajor(spec) || isWholeColumnMajor(fresh)) {
      return fresh;
    }
    INDArray f = fresh.dup('f');
    // freed now: the copy would otherwise double these weights until a collection (a reshaped array is a view that
    // cannot be closed itself; the buffer it wraps, when it holds this array alone, is the caller's to give up)
    if (fresh.closeable()) {
      fresh.close();
    } else {
      DataBuffer own = fresh.data().originalDataBuffer() != null ? fresh.data().originalDataBuffer() : fresh.data();
      if (fresh.offset() == 0 && own.length() == fresh.length() && own.closeable()) {
        own.close();
      }
    }
    return f;
  }

  /**
   * Whether {@code name}'s current value is column-major in a buffer of its own (as {@link #heldColumnMajor} values
   * are when the registry made them): its transpose is then the same memory read row-major.
   */
  public boolean isColumnMajor(String name) {
    return isWholeColumnMajor(get(name));
  }

  private static boolean isWholeColumnMajor(INDArray a) {
    return a.ordering() == 'f' && !a.isView() && a.offset() == 0 && a.data().length() == a.length();
  }

  private static void checkShape(ParamSpec s, INDArray value) {
    Preconditions.checkArgument(Arrays.equals(s.shape(), value.shape()), "%s: expected shape %s, found %s", s.name(),
        Arrays.toString(s.shape()), Arrays.toString(value.shape()));
  }

  /** Sets a value; its shape must equal the declared shape. The registry keeps the given array (no copy). */
  public void set(String name, INDArray value) {
    revision++;
    checkShape(spec(name), value);
    values.put(name, value);
  }

  /**
   * Sets a value read from a file or made for the registry alone: as {@link #set}, but the registry takes {@code value}
   * over — it keeps it, or a copy in the order it holds {@code name} in ({@link #heldColumnMajor}) and then closes
   * {@code value}, which the caller must not use afterwards.
   */
  public void load(String name, INDArray value) {
    ParamSpec s = spec(name);
    checkShape(s, value); // before anything is copied or closed
    set(name, inHeldOrder(s, value));
  }

  /**
   * Copies {@code value} into the registry's array of {@code name} (converting its type), so that graphs holding that
   * array see it; its shape must equal the declared shape.
   */
  public void assign(String name, INDArray value) {
    INDArray target = get(name);
    Preconditions.checkArgument(Arrays.equals(target.shape(), value.shape()), "%s: expected shape %s, found %s", name,
        Arrays.toString(target.shape()), Arrays.toString(value.shape()));
    target.assign(value.dataType() == target.dataType() ? value : value.castTo(target.dataType()));
    revision++;
  }

  /**
   * A counter that changes whenever a value is set, assigned or initialised through the registry or a policy is
   * applied. Graphs copy values and trainable flags when they are built; they compare this counter to refuse running
   * on a registry that changed since (see {@code GraphContext#checkCurrent}). Writing into {@link #get}'s array
   * directly is not seen.
   */
  public long revision() {
    return revision;
  }

  /** Records a change made by writing into {@link #get}'s arrays directly (advances {@link #revision()}). */
  public void touch() {
    revision++;
  }

  /** The current value (the registry's own array). */
  public INDArray get(String name) {
    INDArray v = values.get(spec(name).name());
    Preconditions.checkState(v != null, "%s has no value yet: call initialise() or load a checkpoint", name);
    return v;
  }

  /** Sets the trainable flags of all parameters from {@code policy}; buffers always stay frozen. */
  public void applyPolicy(FreezePolicy policy) {
    for (ParamSpec s : specs.values()) {
      trainable.put(s.name(), !s.isBuffer() && policy.isTrainable(s));
    }
    revision++;
  }

  /** Whether {@code name} trains under the last policy applied. */
  public boolean isTrainable(String name) {
    return trainable.get(spec(name).name());
  }

  /** Names of the parameters and buffers matching {@code filter}, in declaration order. */
  public List<String> names(Predicate<ParamSpec> filter) {
    return specs.values().stream().filter(filter).map(ParamSpec::name).collect(ImmutableList.toImmutableList());
  }

  /** Names of trainable parameters, in declaration order. */
  public List<String> trainableNames() {
    return names(s -> trainable.get(s.name()));
  }

  /** Names of frozen parameters and buffers, in declaration order. */
  public List<String> frozenNames() {
    return names(s -> !trainable.get(s.name()));
  }

  /**
   * SHA-256 over the names and float32 values of every frozen parameter (buffers excluded), in declaration order:
   * identifies the base an adapter was trained on, and proves frozen weights did not move.
   */
  public String frozenHash() {
    try {
      java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
      for (ParamSpec s : specs.values()) {
        if (s.isBuffer() || trainable.get(s.name())) {
          continue;
        }
        md.update(s.name().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        float[] v = get(s.name()).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).dup('c')
            .reshape(Math.max(1, s.numElements())).toFloatVector();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * v.length);
        b.asFloatBuffer().put(v);
        md.update(b.array());
      }
      return java.util.HexFormat.of().formatHex(md.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }

  /** Counts per role, per task, trainable and total. */
  public ParameterReport report() {
    return ParameterReport.of(this);
  }
}
