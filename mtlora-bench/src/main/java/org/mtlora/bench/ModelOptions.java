package org.mtlora.bench;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.adapter.Method;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.swin.SwinConfig;
import org.mtlora.tasks.PascalTasks;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * The model options, declared once for every command that builds a model (train, eval, params, bench): backbone,
 * image size, tasks, method and ranks, with the reference's defaults. The same flags give the same model everywhere.
 */
final class ModelOptions {
  /** The option names, to tell a user who gave them where they do not apply. */
  static final List<String> NAMES = List.of("--backbone", "--img-size", "--tasks", "--method", "--shared-rank",
      "--task-rank");

  @Option(names = "--backbone", defaultValue = "tiny", description = "tiny, small or base (default ${DEFAULT-VALUE}), "
      + "or demo: the small 64x64 Swin that ./mtlora demo pre-trains (--img-size is then ignored)")
  String backbone;

  @Option(names = "--img-size", defaultValue = "448", description = "input side in pixels (default ${DEFAULT-VALUE})")
  int imgSize;

  @Option(names = "--tasks", split = ",", defaultValue = "semseg,normals,sal,human_parts",
      description = "PASCAL-Context tasks, comma-separated (default ${DEFAULT-VALUE})")
  List<String> tasks;

  @Option(names = {"--method", "--policy"}, defaultValue = "mtlora",
      description = "mtlora, mtlora-plus, lora-only, full or decoders-only: where adapters go and what trains "
          + "(default ${DEFAULT-VALUE})")
  String method;

  @Option(names = "--shared-rank", defaultValue = "16", description = "task-agnostic rank (default ${DEFAULT-VALUE})")
  int sharedRank;

  @Option(names = "--task-rank", defaultValue = "4", description = "task-specific rank (default ${DEFAULT-VALUE})")
  int taskRank;

  Method method() {
    return OptionChecks.named("--method", method, () -> Method.parse(method));
  }

  /** Checks every model option, each failure naming its option. */
  void validate() {
    OptionChecks.atLeast("--shared-rank", sharedRank, 1);
    OptionChecks.atLeast("--task-rank", taskRank, 1);
    OptionChecks.atLeast("--img-size", imgSize, 1);
    Set<String> seen = new HashSet<>();
    for (String t : tasks) {
      if (!seen.add(t)) {
        throw new IllegalArgumentException("--tasks names '" + t + "' twice");
      }
      OptionChecks.named("--tasks", String.join(",", tasks), () -> PascalTasks.byName(t));
    }
    method();
    OptionChecks.named("--backbone/--img-size", backbone + "/" + imgSize, this::swin);
    OptionChecks.named("--tasks", String.join(",", tasks), this::config);
  }

  /** The model these options describe. */
  MultiTaskConfig config() {
    return MultiTaskConfig.pascal(swin(), AdapterConfig.of(method(), sharedRank, taskRank), tasks);
  }

  private SwinConfig swin() {
    return backbone.equals("demo") ? DemoCommand.backbone() : SwinConfig.preset(backbone, imgSize);
  }

  /** The model options given on the command line of {@code spec} (not defaulted). */
  static List<String> given(CommandSpec spec) {
    return NAMES.stream().filter(n -> spec.commandLine().getParseResult().hasMatchedOption(n)).toList();
  }

  /** A one-line description: {@code Swin-tiny 448, tasks [..], method mtlora, ranks 16/4}. */
  String describe() {
    Method m = method();
    return "Swin-" + backbone + " " + swin().imgSize() + ", tasks " + tasks + ", method " + m.label()
        + (m.hasAdapters() ? ", shared rank " + sharedRank + (m.hasTaskAdapters() ? ", task rank " + taskRank : "")
            : "");
  }
}
