package org.mtlora.examples;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.io.LoadReport;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.io.AdapterFiles;
import org.mtlora.core.train.BatchSource;
import org.mtlora.core.train.ConsoleProgress;
import org.mtlora.core.train.CsvLog;
import org.mtlora.core.train.LossPlot;
import org.mtlora.core.train.LrSchedule;
import org.mtlora.core.train.SegmentChain;
import org.mtlora.core.train.Trainer;
import org.mtlora.core.train.TrainerConfig;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.ActivationCheckpointing;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.swin.SwinCheckpoints;
import org.mtlora.swin.SwinConfig;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The building blocks under {@link org.mtlora.MtLoraModel}, as docs/fine-tuning.md shows them after the short path:
 * model, registry, backbone weights, training graph, trainer with listeners, adapter files. For users who need to
 * change one of them (a freeze policy of their own, other listeners, another optimiser schedule). Compiled with the
 * tests and run by {@code BuildingBlocksExampleTest} on a tiny configuration.
 */
public final class BuildingBlocksExample {
  private BuildingBlocksExample() {}

  /**
   * Fine-tunes MTLoRA adapters and decoders on {@code data} and writes the run's files to {@code runDir}.
   *
   * @param swin backbone shape, e.g. {@code SwinConfig.tiny(448)}
   * @param pretrained ImageNet Swin weights as safetensors (official or reference names)
   * @param data placeholder arrays ({@code input}, {@code target/<task>}) of each step
   * @return the adapter file
   */
  public static Path fineTune(SwinConfig swin, Path pretrained, BatchSource data, long steps, Path runDir)
      throws IOException {
    // 1. The model: MTLoRA r16 (task rank 4) on the four PASCAL-Context tasks.
    List<String> tasks = List.of("semseg", "human_parts", "sal", "normals");
    MultiTaskConfig config = MultiTaskConfig.pascal(swin, AdapterConfig.mtlora(16, 4), tasks);
    MultiTaskModel model = new MultiTaskModel(config);

    // 2. Parameters: declared, initialised (adapters: A Kaiming-uniform, B zero), frozen by the method (or any
    //    FreezePolicy of one's own: model.newRegistry(policy, seed)). Load weights before building a graph.
    ParameterRegistry params = model.newRegistry(0);
    LoadReport report = SwinCheckpoints.loadPretrained(pretrained, params, true);
    System.out.println(report.describe());
    System.out.print(params.report().format()); // what trains, per role and per task

    // 3. The training graph (frozen weights are constants, trainable ones variables). BLOCK recomputes each backbone block
    //    activations in the backward: the real-size model then fits in a fraction of the memory.
    SegmentChain graph = model.trainingGraph(params, DataType.FLOAT, ActivationCheckpointing.BLOCK);

    // 4. Train: AdamW (decay 0.05 except biases and 1-D tensors), warmup + cosine, clipping at 5, checkpoints.
    LrSchedule schedule = new LrSchedule(1e-3, 1e-6, 1e-5, Math.max(1, steps / 10), steps);
    TrainerConfig trainer = TrainerConfig.builder(schedule)
        .seed(0)
        .checkpoints(runDir.resolve("checkpoints"), Math.max(1, steps / 2), 2)
        .modelDescription(config.toJsonString())
        .build();
    new Trainer(trainer, List.of(new ConsoleProgress("fine-tune"), new CsvLog(runDir.resolve("log.csv")),
        new LossPlot(runDir.resolve("loss.png")))).fit(graph, data, null);

    // 5. Save only what trained: reference names, loadable in PyTorch with load_state_dict(strict=False).
    Path adapters = runDir.resolve("adapters.safetensors");
    long bytes = AdapterFiles.save(adapters, params, config.toJsonString());
    System.out.printf("adapters: %s (%,d bytes)%n", adapters, bytes);
    return adapters;
  }

  /** A batch source that repeats one batch (for the example's test). */
  static BatchSource repeat(Map<String, INDArray> batch) {
    return step -> batch;
  }
}
