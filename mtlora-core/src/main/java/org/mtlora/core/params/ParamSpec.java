package org.mtlora.core.params;

import com.google.common.base.Preconditions;
import java.util.Arrays;
import java.util.Optional;

/**
 * A declared parameter or buffer: its reference state_dict name, shape (reference layout: Linear {@code [out, in]},
 * Conv2d {@code [out, in, kh, kw]}), role, owning task (for per-task roles) and initialiser.
 *
 * <p>Buffers (batch-norm running statistics) have a role too but never train and are not counted as parameters.
 */
public final class ParamSpec {
  private final String name;
  private final long[] shape;
  private final Role role;
  private final String task;
  private final boolean buffer;
  private final boolean counter;
  private final Init init;

  private ParamSpec(String name, long[] shape, Role role, String task, boolean buffer, boolean counter, Init init) {
    Preconditions.checkArgument(name != null && !name.isEmpty(), "parameter name must be non-empty");
    Preconditions.checkNotNull(role, "role of %s", name);
    Preconditions.checkNotNull(init, "init of %s", name);
    for (long d : shape) {
      Preconditions.checkArgument(d > 0, "%s: every dimension must be positive, found shape %s", name,
          Arrays.toString(shape));
    }
    Preconditions.checkArgument(role.isPerTask() == (task != null),
        "%s: role %s %s a task, found task %s", name, role, role.isPerTask() ? "needs" : "takes no", task);
    this.name = name;
    this.shape = shape.clone();
    this.role = role;
    this.task = task;
    this.buffer = buffer;
    this.counter = counter;
    this.init = init;
  }

  /** A parameter of a role that belongs to no task. */
  public static ParamSpec of(String name, Role role, Init init, long... shape) {
    return new ParamSpec(name, shape, role, null, false, false, init);
  }

  /** A parameter that belongs to one task ({@link Role#isPerTask()}). */
  public static ParamSpec ofTask(String name, Role role, String task, Init init, long... shape) {
    return new ParamSpec(name, shape, role, task, false, false, init);
  }

  /** A non-trainable buffer (e.g. batch-norm running statistics); {@code task} may be null. */
  public static ParamSpec buffer(String name, Role role, String task, Init init, long... shape) {
    return new ParamSpec(name, shape, role, task, true, false, init);
  }

  /**
   * A scalar counting buffer, starting at 0, that the reference stores as int64 (e.g. batch norm's {@code
   * num_batches_tracked}); held as a float here, written as int64 to files the reference reads.
   */
  public static ParamSpec counter(String name, Role role, String task) {
    return new ParamSpec(name, new long[0], role, task, true, true, Init.zeros());
  }

  public String name() {
    return name;
  }

  /** A copy of the shape. */
  public long[] shape() {
    return shape.clone();
  }

  public Role role() {
    return role;
  }

  /** The owning task, present exactly for per-task roles. */
  public Optional<String> task() {
    return Optional.ofNullable(task);
  }

  /** Whether this is a buffer rather than a parameter. */
  public boolean isBuffer() {
    return buffer;
  }

  /** Whether this is a {@link #counter} buffer: an integer in the reference's files. */
  public boolean isCounter() {
    return counter;
  }

  public Init init() {
    return init;
  }

  /** Number of elements. */
  public long numElements() {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  @Override
  public String toString() {
    return name + Arrays.toString(shape) + " " + role + (task == null ? "" : "(" + task + ")")
        + (buffer ? " buffer" : "");
  }
}
