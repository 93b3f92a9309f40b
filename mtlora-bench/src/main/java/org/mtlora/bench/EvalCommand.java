package org.mtlora.bench;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.AdapterFiles;
import org.mtlora.data.PascalBatches;
import org.mtlora.data.PascalContextDataset;
import org.mtlora.heads.Evaluator;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.metrics.DeltaM;
import org.mtlora.swin.SwinCheckpoints;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mtlora eval}: the reference's metrics and Δm on the PASCAL-Context val split. */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = "Evaluate backbone + adapters on PASCAL-Context val: mIoU, saliency mIoU/maxF, normals error, Δm.")
final class EvalCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin PascalRunOptions opts;

  @Option(names = "--adapters", required = true, description = "adapter file written by train or demo")
  Path adapters;

  @Override
  public Integer call() throws Exception {
    opts.validate();
    OptionChecks.file("--adapters", adapters, "an adapter file (adapters.safetensors) written by train or demo");
    MultiTaskConfig config = opts.config();
    MultiTaskModel model = new MultiTaskModel(config);
    ParameterRegistry params = model.newRegistry(opts.freezePolicy(), opts.seed);
    SwinCheckpoints.loadPretrained(opts.backboneWeights, params, true);
    AdapterFiles.load(adapters, params);
    PascalContextDataset val = new PascalContextDataset(opts.pascal, "val", opts.normalsValidClasses());
    PascalBatches batches = new PascalBatches(val, config.swin().imgSize(), opts.batch, opts.seed, false);
    print(spec.commandLine().getOut(), Evaluator.evaluate(model, params, batches, batches.evaluationBatches(),
        DeltaM.PAPER_BASELINES));
    return 0;
  }

  static void print(PrintWriter out, Map<String, Double> metrics) {
    out.printf("%n%-22s %10s%n", "metric (val)", "value");
    metrics.forEach((k, v) -> out.printf(Locale.ROOT, "%-22s %10.2f%n", k, v));
    out.flush();
  }
}
