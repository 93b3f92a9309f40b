package org.mtlora.bench;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.mtlora.core.adapter.MtLoraConfig;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.params.ParameterReport;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.swin.SwinConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mtlora params}: builds the model's parameter structure (no graph, no values) and prints the counts per role
 * and per task, then {@code trainable_parameters=N} and {@code total_parameters=N}.
 */
@Command(
    name = "params",
    mixinStandardHelpOptions = true,
    description = "Count the model's parameters per role and per task, trainable and total (no graph is built).")
final class ParamsCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--backbone", defaultValue = "tiny", description = "tiny, small or base (default ${DEFAULT-VALUE})")
  String backbone;

  @Option(names = "--img-size", defaultValue = "448", description = "input side in pixels (default ${DEFAULT-VALUE})")
  int imgSize;

  @Option(names = "--tasks", split = ",", defaultValue = "semseg,normals,sal,human_parts",
      description = "tasks, comma-separated (default ${DEFAULT-VALUE})")
  List<String> tasks;

  @Option(names = "--shared-rank", defaultValue = "16", description = "task-agnostic rank (default ${DEFAULT-VALUE})")
  int sharedRank;

  @Option(names = "--task-rank", defaultValue = "4", description = "task-specific rank (default ${DEFAULT-VALUE})")
  int taskRank;

  @Option(names = "--policy", defaultValue = "mtlora",
      description = "mtlora, mtlora-plus, full or decoders-only (default ${DEFAULT-VALUE})")
  String policy;

  @Override
  public Integer call() {
    OptionChecks.atLeast("--shared-rank", sharedRank, 1);
    OptionChecks.atLeast("--task-rank", taskRank, 1);
    OptionChecks.atLeast("--img-size", imgSize, 1);
    ParameterReport report = count(backbone, imgSize, tasks, sharedRank, taskRank, policy);
    PrintWriter out = spec.commandLine().getOut();
    out.printf(Locale.ROOT, "Swin-%s %dx%d, tasks %s, policy %s%s%n%n", backbone, imgSize, imgSize, tasks, policy,
        policy.startsWith("mtlora") ? ", shared rank " + sharedRank + ", task rank " + taskRank : "");
    out.print(report.format());
    out.flush();
    return 0;
  }

  /**
   * The counts of a configuration: MTLoRA (plus) adds adapters to the backbone; full fine-tuning and decoders-only
   * use the plain backbone.
   */
  static ParameterReport count(String backbone, int imgSize, List<String> tasks, int sharedRank, int taskRank,
      String policyName) {
    FreezePolicy policy = FreezePolicy.named(policyName);
    SwinConfig swin = SwinConfig.preset(backbone, imgSize);
    MtLoraConfig lora = Policies.lora(policy, tasks, swin.numStages(), sharedRank, taskRank);
    MultiTaskModel model = new MultiTaskModel(MultiTaskConfig.pascal(swin, lora));
    ParameterRegistry reg = new ParameterRegistry();
    for (ParamSpec s : model.paramSpecs()) {
      reg.declare(s);
    }
    reg.applyPolicy(policy);
    return reg.report();
  }
}
