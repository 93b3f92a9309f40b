package org.mtlora.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.mtlora.core.adapter.MtLoraConfig;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.data.NormalsValidClasses;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.tasks.PascalTasks;
import org.mtlora.swin.SwinConfig;
import picocli.CommandLine.Option;

/** Options shared by {@code train} and {@code eval}: data, model shape and adapters, with the reference's defaults. */
final class PascalRunOptions {
  @Option(names = "--pascal", required = true, description = "PASCAL-Context multi-task root (PASCAL_MT layout)")
  Path pascal;

  @Option(names = "--backbone", defaultValue = "tiny", description = "tiny, small or base (default ${DEFAULT-VALUE})")
  String backbone;

  @Option(names = "--img-size", defaultValue = "448", description = "input side (default ${DEFAULT-VALUE})")
  int imgSize;

  @Option(names = "--tasks", split = ",", defaultValue = "semseg,normals,sal,human_parts",
      description = "tasks (default ${DEFAULT-VALUE})")
  List<String> tasks;

  @Option(names = "--policy", defaultValue = "mtlora", description = "mtlora, mtlora-plus, full or decoders-only")
  String policy;

  @Option(names = "--shared-rank", defaultValue = "16", description = "task-agnostic rank (default ${DEFAULT-VALUE})")
  int sharedRank;

  @Option(names = "--task-rank", defaultValue = "4", description = "task-specific rank (default ${DEFAULT-VALUE})")
  int taskRank;

  @Option(names = "--backbone-weights", required = true,
      description = "pretrained Swin weights (safetensors, official or reference names)")
  Path backboneWeights;

  @Option(names = "--normals-valid-classes",
      description = "file with the PASCAL-Context label-map class ids whose normals count (one id per line, "
          + "optionally a tab and a name; '#' comments); default: the reference's 170 classes (context classes shared "
          + "with NYUD-v2, plus tvmonitor), shipped with mtlora4j")
  Path normalsValid;

  @Option(names = "--batch", defaultValue = "32", description = "batch size (default ${DEFAULT-VALUE})")
  int batch;

  @Option(names = "--seed", defaultValue = "0", description = "seed (default ${DEFAULT-VALUE})")
  long seed;

  FreezePolicy freezePolicy() {
    return OptionChecks.named("--policy", policy, () -> FreezePolicy.named(policy));
  }

  /**
   * Checks every value before any work, each failure naming its option: ranks, batch, tasks, policy, backbone and
   * image size (a model they describe can be built), the data root, the weights file and the normals class list.
   */
  void validate() throws IOException {
    OptionChecks.atLeast("--shared-rank", sharedRank, 1);
    OptionChecks.atLeast("--task-rank", taskRank, 1);
    OptionChecks.atLeast("--batch", batch, 1);
    OptionChecks.atLeast("--img-size", imgSize, 1);
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (String t : tasks) {
      if (!seen.add(t)) {
        throw new IllegalArgumentException("--tasks names '" + t + "' twice");
      }
      OptionChecks.named("--tasks", String.join(",", tasks), () -> PascalTasks.byName(t));
    }
    freezePolicy();
    OptionChecks.named("--backbone/--img-size", backbone + "/" + imgSize,
        () -> SwinConfig.preset(backbone, imgSize));
    OptionChecks.named("--tasks", String.join(",", tasks), this::config);
    OptionChecks.folder("--pascal", pascal, "a PASCAL-Context root folder");
    OptionChecks.file("--backbone-weights", backboneWeights, "a safetensors file of Swin weights");
    if (normalsValid != null) {
      OptionChecks.file("--normals-valid-classes", normalsValid, "a file of class ids");
      normalsValidClasses();
    }
  }

  MultiTaskConfig config() {
    SwinConfig swin = SwinConfig.preset(backbone, imgSize);
    MtLoraConfig lora = Policies.lora(freezePolicy(), tasks, swin.numStages(), sharedRank, taskRank);
    return MultiTaskConfig.pascal(swin, lora);
  }

  NormalsValidClasses normalsValidClasses() throws IOException {
    return normalsValid == null ? NormalsValidClasses.reference() : NormalsValidClasses.read(normalsValid);
  }
}
