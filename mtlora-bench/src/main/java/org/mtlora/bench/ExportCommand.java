package org.mtlora.bench;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.mtlora.MtLoraModel;
import org.mtlora.heads.InferenceModel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mtlora export}: merges an adapter folder into its backbone and writes the inference model (all tasks, or one)
 * as a SameDiff file that plain {@code SameDiff.load(file, true)} reads with only ND4J on the class path.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
    description = "Merge adapters into the backbone and write the inference model as a plain SameDiff file.")
final class ExportCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--adapters", required = true, description = "an adapter folder (written by train, demo or "
      + "MtLoraModel.saveAdapters)")
  Path adapters;

  @Option(names = "--backbone-weights", required = true, description = "the pretrained Swin weights the adapters "
      + "were trained on")
  Path backboneWeights;

  @Option(names = "--task", description = "export only this task (its streams, downsampler and decoder)")
  String task;

  @Option(names = "--out", required = true, description = "the SameDiff file to write, e.g. model.sd")
  Path out;

  @Override
  public Integer call() throws Exception {
    OptionChecks.folder("--adapters", adapters, "an adapter folder");
    OptionChecks.file("--backbone-weights", backboneWeights, "a safetensors file of Swin weights");
    MtLoraModel model = MtLoraModel.fromAdapters(adapters, backboneWeights);
    InferenceModel inference = task == null ? model.merge()
        : OptionChecks.named("--task", task, () -> model.merge(task));
    long bytes = inference.export(out);
    PrintWriter w = spec.commandLine().getOut();
    int s = inference.config().swin().imgSize();
    w.printf(Locale.ROOT, "wrote %s (%,d bytes): input 'input' [B, 3, %d, %d] float32 NCHW, RGB normalised with the "
        + "ImageNet mean and std; outputs %s%n", out, bytes, s, s,
        inference.config().taskNames().stream().map(t -> "'out/" + t + "'").toList());
    w.flush();
    return 0;
  }
}
