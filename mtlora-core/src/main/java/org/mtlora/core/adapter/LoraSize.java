package org.mtlora.core.adapter;

import com.google.common.base.Preconditions;

/**
 * The size of one low-rank adapter: its rank {@code r} and the scale its product is multiplied by (used directly, not
 * divided by {@code r}: reference-spec §1.1). Rank 0 means no adapter.
 */
public record LoraSize(int rank, double scale) {
  public LoraSize {
    Preconditions.checkArgument(rank >= 0, "LoRA rank must be >= 0, found %s", rank);
    Preconditions.checkArgument(Double.isFinite(scale), "LoRA scale must be finite, found %s", scale);
  }

  /** Rank {@code rank}, scale {@code scale}. */
  public static LoraSize of(int rank, double scale) {
    return new LoraSize(rank, scale);
  }
}
