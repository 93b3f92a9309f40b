package org.mtlora.core.params;

/**
 * What a parameter is for. Freezing policies decide on roles, never on names.
 *
 * <p>The roles follow the reference's freezing rule (reference-spec §4): inside the backbone a parameter trains under
 * MTLoRA iff it is an adapter, a norm, a relative-position table, part of the patch embedding, or (plain MTLoRA only)
 * the patch-merging reduction; everything outside the backbone trains.
 */
public enum Role {
  /** Pretrained backbone linear weights and biases (qkv, proj, fc1, fc2). */
  PRETRAINED,
  /** Patch-merging reduction weight (trained in MTLoRA, frozen in MTLoRA+). */
  REDUCTION,
  /** Backbone LayerNorm weights and biases. */
  NORM,
  /** Relative-position-bias tables. */
  REL_POS_TABLE,
  /** Patch embedding: the 4x4 convolution and its LayerNorm. */
  PATCH_EMBED,
  /** Task-agnostic (shared) LoRA matrices and adapter norms. */
  ADAPTER_SHARED,
  /** Task-specific LoRA matrices; the parameter names its task. */
  ADAPTER_TASK,
  /** Per-task 1x1 downsamplers. */
  DOWNSAMPLER,
  /** Per-task dense decoders. */
  DECODER;

  /** Whether parameters of this role belong to one task (the {@link ParamSpec#task()} is then set). */
  public boolean isPerTask() {
    return this == ADAPTER_TASK || this == DOWNSAMPLER || this == DECODER;
  }
}
