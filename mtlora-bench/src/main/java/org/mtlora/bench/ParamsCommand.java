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
  @CommandLine.Mixin ModelOptions model;

  @Override
  public Integer call() {
    model.validate();
    ParameterReport report = count(model.config());
    PrintWriter out = spec.commandLine().getOut();
    out.printf(Locale.ROOT, "%s%n%n", model.describe());
    out.print(report.format());
    out.flush();
    return 0;
  }

  /** The counts of a configuration (parameters declared, no values, the method's freezing). */
  static ParameterReport count(MultiTaskConfig config) {
    ParameterRegistry reg = new ParameterRegistry();
    new MultiTaskModel(config).paramSpecs().forEach(reg::declare);
    reg.applyPolicy(config.freezePolicy());
    return reg.report();
  }
}
