package org.mtlora.bench;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.mtlora.MtLoraModel;
import org.mtlora.core.io.AdapterFiles;
import org.mtlora.data.PascalBatches;
import org.mtlora.data.PascalContextDataset;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code mtlora eval}: the reference's metrics and Δm on the PASCAL-Context val split. The model comes from the
 * adapter folder; an older single adapter file needs the model options it was trained with.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = "Evaluate backbone + adapters on PASCAL-Context val: mIoU, saliency mIoU/maxF, normals error, Δm.")
final class EvalCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin PascalRunOptions opts;

  @Option(names = "--adapters", required = true, description = "an adapter folder (adapter_config.json and "
      + "adapter_model.safetensors, written by train, demo or MtLoraModel.saveAdapters): it describes the model, so no "
      + "model option is needed; or a single adapter file of an older version, with the model options it was "
      + "trained with")
  Path adapters;

  @Option(names = "--save-adapters", description = "also write the adapters as a folder (converts an older single "
      + "adapter file)")
  Path saveAdapters;

  @Override
  public Integer call() throws Exception {
    MtLoraModel model = load();
    if (saveAdapters != null) {
      model.saveAdapters(saveAdapters);
      spec.commandLine().getOut().printf("adapters written to %s%n", saveAdapters);
    }
    PascalContextDataset val = new PascalContextDataset(opts.pascal, "val", opts.normalsValidClasses());
    PascalBatches batches = new PascalBatches(val, model.config().swin().imgSize(), opts.batch, opts.seed, false);
    print(spec.commandLine().getOut(), model.evaluate(batches, batches.evaluationBatches()));
    return 0;
  }

  private MtLoraModel load() throws Exception {
    if (!Files.exists(adapters)) {
      throw new IllegalArgumentException("--adapters " + adapters + " does not exist; expected an adapter folder "
          + "(adapter_config.json and adapter_model.safetensors) written by train, demo or MtLoraModel.saveAdapters");
    }
    if (Files.isRegularFile(adapters)) {
      // an older single file: the model comes from the options, the file is checked against it
      opts.validate();
      MtLoraModel model = MtLoraModel.create(opts.config(), opts.backboneWeights, opts.seed);
      try {
        AdapterFiles.load(adapters, model.parameters());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(e.getMessage() + " (a single adapter file of an older version is read "
            + "with the model options it was trained with: " + String.join(", ", ModelOptions.NAMES) + ")", e);
      }
      return model;
    }
    List<String> given = ModelOptions.given(spec);
    if (!given.isEmpty()) {
      throw new IllegalArgumentException(String.join(", ", given) + ": the model comes from the adapter folder "
          + adapters + "; drop the model options");
    }
    opts.validateData();
    return MtLoraModel.fromAdapters(adapters, opts.backboneWeights);
  }

  static void print(PrintWriter out, Map<String, Double> metrics) {
    out.printf("%n%-22s %10s%n", "metric (val)", "value");
    metrics.forEach((k, v) -> out.printf(Locale.ROOT, "%-22s %10.2f%n", k, v));
    out.flush();
  }
}
