package org.mtlora.spark;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.adapter.LoraSize;
import org.mtlora.core.adapter.Method;
import org.mtlora.core.adapter.StageAdapters;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.LrSchedule;
import org.mtlora.core.train.ShardedSteps;
import org.mtlora.core.train.StepEngine;
import org.mtlora.core.train.Trainer;
import org.mtlora.core.train.TrainerConfig;
import org.mtlora.data.NormalsValidClasses;
import org.mtlora.data.SyntheticPascal;
import org.mtlora.heads.ActivationCheckpointing;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.swin.SwinCheckpoints;
import org.mtlora.swin.SwinConfig;
import org.mtlora.tasks.PascalTasks;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What the Spark tests train: a tiny MTLoRA Swin with dropout and drop path, the four PASCAL tasks, 64x64 generated
 * PASCAL-format images (8 training), a random "pretrained" backbone file, global batch 4, 4 steps.
 */
record TinySetup(MultiTaskConfig config, Path backbone, PascalShards data) {
  static final int STEPS = 4;
  static final long SEED = 7;

  static TinySetup create(Path dir) throws IOException {
    SwinConfig swin = SwinConfig.builder().imgSize(64).patchSize(4).embedDim(8).depths(2, 1).numHeads(1, 2)
        .windowSize(4).dropPathRate(0.1).build();
    AdapterConfig lora = AdapterConfig.builder(Method.MTLORA).allStages(new StageAdapters(LoraSize.of(4, 4.0),
        LoraSize.of(2, 4.0), com.google.common.collect.ImmutableMap.of(), 0.05)).build();
    MultiTaskConfig config = MultiTaskConfig.builder(swin, lora).tasks(PascalTasks.byNames(List.of("semseg",
        "human_parts", "sal", "normals"))).decoderChannels(List.of(4, 4)).build();
    Path backbone = dir.resolve("backbone.safetensors");
    SwinCheckpoints.savePretrained(backbone, new MultiTaskModel(config).newRegistry(99));
    Path root = dir.resolve("pascal");
    SyntheticPascal.generate(root, 8, 2, 64, 3);
    return new TinySetup(config, backbone, PascalShards.of(root, NormalsValidClasses.reference(), 64, 4, SEED));
  }

  static TrainerConfig trainerConfig(Path checkpoints) {
    TrainerConfig.Builder b = TrainerConfig.builder(new LrSchedule(2e-3, 1e-4, 1e-4, 1, STEPS)).seed(SEED);
    if (checkpoints != null) {
      b.checkpoints(checkpoints, 2, 3);
    }
    return b.build();
  }

  /** Every parameter and buffer, copied. */
  static Map<String, INDArray> values(ParameterRegistry params) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    params.names(s -> true).forEach(n -> out.put(n, params.get(n).dup()));
    return out;
  }

  /** The driver's starting point: the initial adapters and decoders of seed 0 on the backbone file. */
  ParameterRegistry newRegistry() throws IOException {
    ParameterRegistry params = new MultiTaskModel(config).newRegistry(0);
    SwinCheckpoints.loadPretrained(backbone, params, true);
    return params;
  }

  /** The same semantics in process: the shards of every step computed in turn on one graph. */
  Map<String, INDArray> inProcess(int workers, List<Double> losses) throws IOException {
    ParameterRegistry params = newRegistry();
    StepEngine engine = new ShardedSteps(new MultiTaskModel(config).trainingGraph(params, DataType.FLOAT,
        ActivationCheckpointing.BLOCK), data.open(), workers);
    new Trainer(trainerConfig(null), List.of(r -> losses.add(r.totalLoss()))).fit(engine, null);
    return values(params);
  }

  SparkTrainer spark(org.apache.spark.api.java.JavaSparkContext sc, int workers, ShardHook hook) throws IOException {
    return SparkTrainer.builder(config, backbone, data).workers(workers).hook(hook).build(sc);
  }
}
