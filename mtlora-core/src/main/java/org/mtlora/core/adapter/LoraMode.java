package org.mtlora.core.adapter;

import java.util.Locale;

/**
 * How an {@link MtLoraLinear} combines its shared and task-specific paths (the reference's {@code shared_mode};
 * reference-spec §1.1). With {@code P = x W^T + b}, {@code D_sh} the shared low-rank term and {@code D_t} task t's:
 */
public enum LoraMode {
  /** {@code y_sh = P + D_sh}, {@code y_t = P + D_t}: the task output carries no shared delta (the configs' mode). */
  MATRIX,
  /** {@code y_sh = P + D_sh}, {@code y_t = P + D_sh + D_t}. */
  MATRIX_V2,
  /** No shared matrices: {@code y_t = P + D_t}, {@code y_sh = P + LayerNorm(sum_t y_t)} (parameter {@code lora_norm}). */
  ADDITION,
  /** Plain LoRA: {@code y_sh = P + D_sh}, no task paths. */
  LORA_ONLY;

  /** Parses the reference's names: {@code matrix}, {@code matrixv2}, {@code addition} (or {@code add}), {@code lora_only}. */
  public static LoraMode parse(String name) {
    switch (name.toLowerCase(Locale.ROOT)) {
      case "matrix":
        return MATRIX;
      case "matrixv2":
        return MATRIX_V2;
      case "addition":
      case "add":
        return ADDITION;
      case "lora_only":
        return LORA_ONLY;
      default:
        throw new IllegalArgumentException(
            "unknown shared mode '" + name + "'; expected one of matrix, matrixv2, addition, lora_only");
    }
  }
}
