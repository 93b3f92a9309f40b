package org.mtlora.bench;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import org.mtlora.MtLoraModel;
import org.mtlora.heads.InferenceModel;
import org.mtlora.heads.PredictionPictures;
import org.mtlora.tasks.PascalTasks;
import org.mtlora.tasks.Task;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mtlora predict}: runs the merged model (from an adapter folder, or an exported SameDiff file) on an image and
 * writes each task's prediction as a picture, plus one figure with everything side by side.
 */
@Command(name = "predict", mixinStandardHelpOptions = true,
    description = "Predict every task for an image and write the predictions as PNG pictures and one figure.")
final class PredictCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Source source;

  /** Where the model comes from. */
  static final class Source {
    @ArgGroup(exclusive = false)
    Folder folder;

    @Option(names = "--model", required = true, description = "a SameDiff file written by export")
    Path model;
  }

  /** An adapter folder and its backbone. */
  static final class Folder {
    @Option(names = "--adapters", required = true, description = "an adapter folder")
    Path adapters;

    @Option(names = "--backbone-weights", required = true, description = "the pretrained Swin weights")
    Path backboneWeights;
  }

  @Option(names = "--image", required = true, description = "an image (JPEG or PNG)")
  Path image;

  @Option(names = "--task", description = "only this task")
  String task;

  @Option(names = "--out", defaultValue = "predictions", description = "output folder (default ${DEFAULT-VALUE})")
  Path out;

  @Override
  public Integer call() throws Exception {
    OptionChecks.file("--image", image, "an image file");
    BufferedImage picture = ImageIO.read(image.toFile());
    if (picture == null) {
      throw new IllegalArgumentException("--image " + image + ": not an image ImageIO can read (JPEG, PNG, BMP, GIF)");
    }
    List<Task> tasks = new ArrayList<>();
    Map<String, INDArray> outputs;
    int size;
    if (source.model != null) {
      OptionChecks.file("--model", source.model, "a SameDiff file written by export");
      SameDiff sd = SameDiff.load(source.model.toFile(), true);
      size = (int) sd.getVariable("input").getShape()[2];
      List<String> names = new ArrayList<>();
      for (SDVariable v : sd.variables()) {
        if (v.name().startsWith("out/") && (task == null || v.name().equals("out/" + task))) {
          tasks.add(OptionChecks.named("--model", source.model.toString(),
              () -> PascalTasks.byName(v.name().substring(4))));
          names.add(v.name());
        }
      }
      if (names.isEmpty()) {
        throw new IllegalArgumentException("--model " + source.model + " has no output "
            + (task == null ? "out/<task>" : "out/" + task));
      }
      Map<String, INDArray> raw = sd.output(Map.of("input", PredictionPictures.toInput(picture, size)), names);
      outputs = new LinkedHashMap<>();
      for (String n : names) {
        outputs.put(n.substring(4), raw.get(n));
      }
    } else {
      OptionChecks.folder("--adapters", source.folder.adapters, "an adapter folder");
      OptionChecks.file("--backbone-weights", source.folder.backboneWeights, "a safetensors file of Swin weights");
      MtLoraModel model = MtLoraModel.fromAdapters(source.folder.adapters, source.folder.backboneWeights);
      InferenceModel inference = task == null ? model.merge()
          : OptionChecks.named("--task", task, () -> model.merge(task));
      size = inference.config().swin().imgSize();
      tasks.addAll(inference.config().tasks());
      outputs = inference.predict(PredictionPictures.toInput(picture, size));
    }
    return write(picture, size, tasks, outputs);
  }

  private int write(BufferedImage picture, int size, List<Task> tasks, Map<String, INDArray> outputs)
      throws IOException {
    String name = image.getFileName().toString();
    String stem = name.contains(".") ? name.substring(0, name.lastIndexOf('.')) : name;
    List<Path> files = PredictionPictures.write(out, stem, PredictionPictures.resize(picture, size), tasks, outputs,
        0);
    PrintWriter w = spec.commandLine().getOut();
    files.forEach(f -> w.println("wrote " + f));
    w.flush();
    return 0;
  }
}
