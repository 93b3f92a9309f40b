package org.mtlora.core.params;

import java.util.EnumSet;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Decides which parameters train. Implementations must be pure functions of the {@link ParamSpec} (no state), and are
 * never asked about buffers, which never train.
 *
 * <p>The reference policies (reference-spec §4):
 *
 * <ul>
 *   <li>{@link #MTLORA}: adapters, norms, relative-position tables, patch embedding, patch-merging reduction,
 *       downsamplers and decoders train; pretrained linear weights and biases stay frozen.
 *   <li>{@link #MTLORA_PLUS}: as MTLoRA, but the reduction is frozen (it carries a shared adapter instead).
 *   <li>{@link #FULL_FINETUNE}: everything trains.
 *   <li>{@link #DECODERS_ONLY}: only downsamplers and decoders train.
 * </ul>
 */
@FunctionalInterface
public interface FreezePolicy {
  /** Whether {@code spec} trains. */
  boolean isTrainable(ParamSpec spec);

  /** The reference's MTLoRA freezing. */
  FreezePolicy MTLORA = roles(EnumSet.of(Role.REDUCTION, Role.NORM, Role.REL_POS_TABLE, Role.PATCH_EMBED,
      Role.ADAPTER_SHARED, Role.ADAPTER_TASK, Role.DOWNSAMPLER, Role.DECODER));

  /** The reference's MTLoRA+ freezing (reduction frozen, adapted by a shared LoRA). */
  FreezePolicy MTLORA_PLUS = roles(EnumSet.of(Role.NORM, Role.REL_POS_TABLE, Role.PATCH_EMBED,
      Role.ADAPTER_SHARED, Role.ADAPTER_TASK, Role.DOWNSAMPLER, Role.DECODER));

  /** Full fine-tuning: every parameter trains. */
  FreezePolicy FULL_FINETUNE = spec -> true;

  /** Only the per-task downsamplers and decoders train. */
  FreezePolicy DECODERS_ONLY = roles(EnumSet.of(Role.DOWNSAMPLER, Role.DECODER));

  /** Trains exactly the parameters whose role is in {@code trainable}. */
  static FreezePolicy roles(Set<Role> trainable) {
    EnumSet<Role> copy = trainable.isEmpty() ? EnumSet.noneOf(Role.class) : EnumSet.copyOf(trainable);
    return spec -> copy.contains(spec.role());
  }

  /** A custom policy from any predicate over the parameter's spec (name, role, task, shape). */
  static FreezePolicy of(Predicate<ParamSpec> trainable) {
    return trainable::test;
  }

  /** Parses a policy name: {@code mtlora}, {@code mtlora-plus}, {@code full}, {@code decoders-only}. */
  static FreezePolicy named(String name) {
    switch (name.toLowerCase(java.util.Locale.ROOT).replace('_', '-')) {
      case "mtlora":
        return MTLORA;
      case "mtlora-plus":
      case "mtlora+":
        return MTLORA_PLUS;
      case "full":
      case "full-finetune":
        return FULL_FINETUNE;
      case "decoders-only":
        return DECODERS_ONLY;
      default:
        throw new IllegalArgumentException(
            "unknown freeze policy '" + name + "'; expected one of mtlora, mtlora-plus, full, decoders-only");
    }
  }
}
