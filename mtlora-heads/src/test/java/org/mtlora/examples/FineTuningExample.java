package org.mtlora.examples;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.mtlora.FitResult;
import org.mtlora.MtLoraModel;
import org.mtlora.TrainingConfig;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.train.BatchSource;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.swin.SwinConfig;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The short path of docs/fine-tuning.md and the README: configure, fine-tune, evaluate, save, reload, predict.
 * Compiled with the tests and run by {@code FineTuningExampleTest} on a tiny configuration.
 */
public final class FineTuningExample {
  private FineTuningExample() {}

  /**
   * Fine-tunes MTLoRA on the four PASCAL-Context tasks and returns the reloaded model's predictions for the first
   * batch.
   *
   * @param swin backbone shape, e.g. {@code SwinConfig.tiny(448)}
   * @param pretrained ImageNet Swin weights as safetensors (official or reference names)
   * @param train batch {@code k} of step {@code k}: {@code input} and {@code target/<task>}
   * @param val evaluation batches
   */
  public static Map<String, INDArray> fineTune(SwinConfig swin, Path pretrained, BatchSource train, BatchSource val,
      long steps, Path runDir) throws IOException {
    // MTLoRA: task-agnostic rank 16, task-specific rank 4; the method also decides what trains.
    MultiTaskConfig config = MultiTaskConfig.pascal(swin, AdapterConfig.mtlora(16, 4));
    MtLoraModel model = MtLoraModel.create(config, pretrained);
    model.printTrainableParameters();

    // Checkpoints, log.csv, loss.png and, at the end, the adapter folder go to the run folder.
    FitResult result = model.fit(train, TrainingConfig.builder(steps).learningRate(1e-3).runDir(runDir).build());
    System.out.println(model.evaluate(val, 1));

    // The adapter folder describes its model: the backbone weights are all it needs besides.
    MtLoraModel reloaded = MtLoraModel.fromAdapters(result.adapters().orElseThrow(), pretrained);
    return reloaded.predict(val.batch(0).get("input"));
  }
}
