package org.mtlora.core.adapter;

import java.util.Locale;
import org.mtlora.core.params.FreezePolicy;

/**
 * A fine-tuning method: where adapters go and which parameters train, decided together so that they cannot disagree.
 *
 * <table>
 *   <caption>Methods</caption>
 *   <tr><th>method</th><th>adapters</th><th>trains (reference-spec §4)</th></tr>
 *   <tr><td>{@link #MTLORA}</td><td>shared LoRA on qkv, proj, fc1, fc2 of every block; task LoRA in the last block of
 *       each stage</td><td>adapters, norms, position tables, patch embedding, the patch-merging reduction,
 *       downsamplers, decoders</td></tr>
 *   <tr><td>{@link #MTLORA_PLUS}</td><td>as MTLoRA, plus a shared LoRA on each patch-merging reduction</td>
 *       <td>as MTLoRA, but the reduction stays frozen</td></tr>
 *   <tr><td>{@link #LORA_ONLY}</td><td>shared LoRA only (the paper's single-LoRA baseline, mode {@code lora_only})
 *       </td><td>as MTLoRA</td></tr>
 *   <tr><td>{@link #FULL_FINE_TUNING}</td><td>none</td><td>everything</td></tr>
 *   <tr><td>{@link #DECODERS_ONLY}</td><td>none</td><td>downsamplers and decoders</td></tr>
 * </table>
 */
public enum Method {
  MTLORA("mtlora", FreezePolicy.MTLORA),
  MTLORA_PLUS("mtlora-plus", FreezePolicy.MTLORA_PLUS),
  LORA_ONLY("lora-only", FreezePolicy.MTLORA),
  FULL_FINE_TUNING("full", FreezePolicy.FULL_FINETUNE),
  DECODERS_ONLY("decoders-only", FreezePolicy.DECODERS_ONLY);

  private final String label;
  private final FreezePolicy freezePolicy;

  Method(String label, FreezePolicy freezePolicy) {
    this.label = label;
    this.freezePolicy = freezePolicy;
  }

  /** The command-line and file name: {@code mtlora}, {@code mtlora-plus}, {@code lora-only}, {@code full}, ... */
  public String label() {
    return label;
  }

  /** Which parameters train. */
  public FreezePolicy freezePolicy() {
    return freezePolicy;
  }

  /** Whether the backbone carries low-rank adapters. */
  public boolean hasAdapters() {
    return this == MTLORA || this == MTLORA_PLUS || this == LORA_ONLY;
  }

  /** Whether each stage's last block carries task-specific adapters. */
  public boolean hasTaskAdapters() {
    return this == MTLORA || this == MTLORA_PLUS;
  }

  /** Whether the patch-merging reduction carries a shared adapter (MTLoRA+). */
  public boolean adaptsReduction() {
    return this == MTLORA_PLUS;
  }

  /** Parses a {@link #label()} (case-insensitive, '_' for '-'; also {@code mtlora+} and {@code full-finetune}). */
  public static Method parse(String name) {
    String n = name.toLowerCase(Locale.ROOT).replace('_', '-');
    if (n.equals("mtlora+")) {
      return MTLORA_PLUS;
    }
    if (n.equals("full-finetune") || n.equals("full-fine-tuning")) {
      return FULL_FINE_TUNING;
    }
    for (Method m : values()) {
      if (m.label.equals(n)) {
        return m;
      }
    }
    throw new IllegalArgumentException("unknown method '" + name
        + "'; expected one of mtlora, mtlora-plus, lora-only, full, decoders-only");
  }
}
