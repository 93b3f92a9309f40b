package org.mtlora.bench;

import java.util.List;
import org.mtlora.core.adapter.MtLoraConfig;
import org.mtlora.core.params.FreezePolicy;

/** The adapter configuration each command-line policy implies. */
final class Policies {
  private Policies() {}

  /**
   * MTLoRA and MTLoRA+ put adapters of the given ranks (scale 4, dropout 0.05) into the backbone; full fine-tuning
   * and decoders-only use the plain backbone.
   */
  static MtLoraConfig lora(FreezePolicy policy, List<String> tasks, int stages, int sharedRank, int taskRank) {
    if (policy == FreezePolicy.MTLORA) {
      return MtLoraConfig.mtlora(tasks, stages, sharedRank, taskRank);
    }
    if (policy == FreezePolicy.MTLORA_PLUS) {
      return MtLoraConfig.mtloraPlus(tasks, stages, sharedRank, taskRank);
    }
    return MtLoraConfig.disabled(tasks, stages);
  }
}
