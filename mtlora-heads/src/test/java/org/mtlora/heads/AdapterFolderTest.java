package org.mtlora.heads;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.MtLoraModel;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.LrSchedule;
import org.mtlora.core.train.SegmentChain;
import org.mtlora.core.train.Trainer;
import org.mtlora.core.train.TrainerConfig;
import org.mtlora.examples.Pretrained;
import org.mtlora.swin.SwinConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Self-describing adapter folders, and graphs that never silently ignore a later change of the parameters. */
class AdapterFolderTest {
  @TempDir Path dir;

  static final SwinConfig SWIN = SwinConfig.builder().imgSize(32).patchSize(4).embedDim(8).depths(2, 1)
      .numHeads(1, 2).windowSize(4).build();

  /** Every trainable parameter and buffer set to random values, as after training. */
  static void scramble(ParameterRegistry params, long seed) {
    scramble(params, seed, 1.0);
  }

  /** As {@link #scramble(ParameterRegistry, long)}, values in {@code [-scale/2, scale/2)} (variances 0.5 to 1.5). */
  static void scramble(ParameterRegistry params, long seed, double scale) {
    SplittableRandom r = new SplittableRandom(seed);
    for (var s : params.specs()) {
      if (params.isTrainable(s.name()) || s.isBuffer() && !s.isCounter()) {
        INDArray v = params.get(s.name());
        double[] d = new double[(int) v.length()];
        for (int i = 0; i < d.length; i++) {
          d[i] = s.name().endsWith("running_var") ? 0.5 + r.nextDouble() : scale * (r.nextDouble() - 0.5);
        }
        params.assign(s.name(), Nd4j.createFromArray(d).reshape(v.shape()).castTo(v.dataType()));
      }
    }
  }

  @Test
  void aFolderRebuildsItsModelExactly() throws Exception {
    Path weights = Pretrained.write(SWIN, dir.resolve("w.safetensors"), 5);
    for (AdapterConfig adapters : List.of(AdapterConfig.mtlora(4, 2), AdapterConfig.mtloraPlus(4, 2),
        AdapterConfig.loraOnly(4), AdapterConfig.decodersOnly())) {
      MultiTaskConfig config = MultiTaskConfig.pascal(SWIN, adapters, List.of("semseg", "sal", "normals"));
      MtLoraModel model = MtLoraModel.create(config, weights, 1);
      scramble(model.parameters(), 2);
      INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 32, 32).subi(0.5);
      Map<String, INDArray> before = model.predict(x);
      Path folder = dir.resolve(adapters.method().label());
      model.saveAdapters(folder);

      MtLoraModel back = MtLoraModel.fromAdapters(folder, weights);
      assertEquals(config, back.config());
      Map<String, INDArray> after = back.predict(x);
      before.forEach((t, v) -> assertEquals(v, after.get(t), adapters.method() + " " + t));

      JsonNode side = new ObjectMapper().readTree(folder.resolve(AdapterFolder.CONFIG).toFile());
      assertEquals("mtlora-adapters", side.get("format").asText());
      assertEquals(AdapterFolder.libraryVersion(), side.get("library_version").asText());
      assertFalse(side.get("library_version").asText().contains("${"), "the version is filtered at build time");
      assertEquals(model.parameters().frozenHash(), side.get("frozen_sha256").asText());
      assertEquals(config.toJson(), side.get("model"));
    }
  }

  @Test
  void aFolderOfAnotherModelIsRefusedNamingTheDifference() throws Exception {
    Path weights = Pretrained.write(SWIN, dir.resolve("w.safetensors"), 5);
    MtLoraModel model = MtLoraModel.create(MultiTaskConfig.pascal(SWIN, AdapterConfig.mtlora(4, 2)), weights);
    Path folder = dir.resolve("a");
    model.saveAdapters(folder);
    MultiTaskConfig other = MultiTaskConfig.pascal(SWIN, AdapterConfig.mtlora(8, 2));
    ParameterRegistry params = new MultiTaskModel(other).newRegistry(0);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> AdapterFolder.loadInto(folder, other, params));
    assertTrue(e.getMessage().startsWith(folder + ": adapters of another model: at adapters.all_stages.shared.rank"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> MtLoraModel.fromAdapters(dir.resolve("none"), weights));
    assertTrue(e.getMessage().contains("not a folder"), e.getMessage());
  }

  @Test
  void parametersChangedAfterAGraphWasBuiltTakeEffectOrFail() throws Exception {
    Path weights = Pretrained.write(SWIN, dir.resolve("w.safetensors"), 5);
    MtLoraModel model = MtLoraModel.create(MultiTaskConfig.pascal(SWIN, AdapterConfig.mtlora(4, 2)), weights);
    INDArray x = Nd4j.rand(DataType.FLOAT, 1, 3, 32, 32);
    INDArray first = model.predict(x).get("semseg");
    // the front door rebuilds: a frozen weight assigned later takes effect
    String frozen = "backbone.layers.0.blocks.0.mlp.fc1.linear.weight";
    model.parameters().assign(frozen, model.parameters().get(frozen).mul(3));
    assertFalse(first.equalsWithEps(model.predict(x).get("semseg"), 1e-6), "the new weight is used");

    // the building blocks refuse: a training graph built before the change would ignore it
    MultiTaskModel blocks = new MultiTaskModel(model.config());
    ParameterRegistry params = blocks.newRegistry(0);
    SegmentChain graph = blocks.trainingGraph(params, DataType.FLOAT, ActivationCheckpointing.NONE);
    params.assign(frozen, params.get(frozen).mul(3));
    Trainer trainer = new Trainer(TrainerConfig.builder(new LrSchedule(1e-3, 1e-4, 1e-4, 0, 1)).build(), List.of());
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> trainer.fit(graph, step -> TrainerTest.batch(blocks, 0), null));
    assertTrue(e.getMessage().contains("build the graph again"), e.getMessage());
    SegmentChain again = blocks.trainingGraph(params, DataType.FLOAT, ActivationCheckpointing.NONE);
    params.applyPolicy(FreezePolicy.DECODERS_ONLY);
    assertThrows(IllegalStateException.class, () -> trainer.fit(again, step -> TrainerTest.batch(blocks, 0), null));
  }
}
