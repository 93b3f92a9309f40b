package org.mtlora.swin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.core.adapter.MtLoraConfig;
import org.mtlora.core.io.CheckpointException;
import org.mtlora.core.io.LoadReport;
import org.mtlora.core.io.SafeTensorsWriter;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.params.Role;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class SwinCheckpointsTest {
  @TempDir Path dir;

  static SwinConfig small() {
    return SwinConfig.builder().imgSize(32).patchSize(4).embedDim(8).depths(2, 2).numHeads(1, 2).windowSize(4)
        .build();
  }

  static ParameterRegistry registry(MtLoraConfig lora) {
    ParameterRegistry r = new ParameterRegistry();
    new SwinBackbone(small(), lora).declare(r);
    r.initialise(1);
    return r;
  }

  /** The tensors an official (ImageNet) Swin checkpoint would hold for this shape, from a plain backbone. */
  static Map<String, INDArray> officialCheckpoint() {
    ParameterRegistry plain = registry(MtLoraConfig.disabled(List.of("seg"), 2));
    Map<String, INDArray> out = new LinkedHashMap<>();
    int k = 0;
    for (ParamSpec s : plain.specs()) {
      out.put(s.name().substring("backbone.".length()), Nd4j.ones(DataType.FLOAT, s.shape()).mul(++k));
    }
    out.put("layers.0.blocks.1.attn_mask", Nd4j.zeros(DataType.FLOAT, 4, 16, 16));
    out.put("layers.0.blocks.0.attn.relative_position_index", Nd4j.zeros(DataType.INT64, 16, 16));
    out.put("norm.weight", Nd4j.ones(DataType.FLOAT, 16));
    out.put("head.weight", Nd4j.ones(DataType.FLOAT, 10, 16));
    return out;
  }

  @Test
  void savedPretrainedWeightsUseTheOfficialNamesAndLoadBackExactly() throws Exception {
    assertEquals("layers.0.blocks.1.mlp.fc1.weight",
        SwinCheckpoints.officialName("backbone.layers.0.blocks.1.mlp.fc1.linear.weight"));
    assertEquals("patch_embed.norm.bias", SwinCheckpoints.officialName("backbone.patch_embed.norm.bias"));
    ParameterRegistry adapted = registry(MtLoraConfig.mtlora(List.of("seg"), 2, 2, 1));
    Path file = dir.resolve("saved.safetensors");
    SwinCheckpoints.savePretrained(file, adapted);
    ParameterRegistry plain = new ParameterRegistry();
    new SwinBackbone(small(), MtLoraConfig.disabled(List.of("seg"), 2)).declare(plain);
    plain.initialise(99);
    SwinCheckpoints.loadPretrained(file, plain, true); // strict: every tensor present, none unexpected
    for (ParamSpec s : plain.specs()) {
      if (!s.isBuffer()) {
        int dot = s.name().lastIndexOf('.');
        String adaptedName = adapted.contains(s.name()) ? s.name()
            : s.name().substring(0, dot) + ".linear" + s.name().substring(dot);
        assertEquals(adapted.get(adaptedName), plain.get(s.name()), s.name());
      }
    }
  }

  @Test
  void officialNamesLoadIntoAdaptedLayers() throws Exception {
    Path file = dir.resolve("swin_official.safetensors");
    Map<String, INDArray> ckpt = officialCheckpoint();
    SafeTensorsWriter.write(file, ckpt);
    ParameterRegistry r = registry(MtLoraConfig.mtlora(List.of("seg"), 2, 2, 1));
    LoadReport rep = SwinCheckpoints.loadPretrained(file, r, true);
    assertTrue(rep.isClean(), rep.describe());
    assertEquals(4, rep.ignored().size(), rep.describe());
    assertEquals(ckpt.get("layers.0.blocks.1.attn.qkv.weight"),
        r.get("backbone.layers.0.blocks.1.attn.qkv.linear.weight"));
    assertEquals(ckpt.get("layers.0.downsample.reduction.weight"),
        r.get("backbone.layers.0.downsample.reduction.weight"), "plain MTLoRA keeps the reduction unwrapped");
    // Adapters are not expected from a pretrained checkpoint and keep their initialisation.
    assertTrue(r.specs().stream().filter(s -> s.role() == Role.ADAPTER_SHARED).count() > 0);
    // MTLoRA+: the reduction is wrapped too.
    ParameterRegistry plus = registry(MtLoraConfig.mtloraPlus(List.of("seg"), 2, 2, 1));
    assertTrue(SwinCheckpoints.loadPretrained(file, plus, true).isClean());
    assertEquals(ckpt.get("layers.0.downsample.reduction.weight"),
        plus.get("backbone.layers.0.downsample.reduction.linear.weight"));
  }

  @Test
  void missingUnexpectedAndMismatchedTensorsAreNamed() throws Exception {
    Map<String, INDArray> ckpt = officialCheckpoint();
    ckpt.remove("layers.1.blocks.0.mlp.fc2.bias");
    ckpt.put("layers.7.blocks.0.mlp.fc9.weight", Nd4j.ones(DataType.FLOAT, 2));
    ckpt.put("layers.0.blocks.0.norm1.weight", Nd4j.ones(DataType.FLOAT, 9));
    Path file = dir.resolve("bad.safetensors");
    SafeTensorsWriter.write(file, ckpt);
    ParameterRegistry r = registry(MtLoraConfig.mtlora(List.of("seg"), 2, 2, 1));

    LoadReport rep = SwinCheckpoints.loadPretrained(file, r, false);
    assertEquals(List.of("backbone.layers.0.blocks.0.norm1.weight", "backbone.layers.1.blocks.0.mlp.fc2.linear.bias"),
        rep.missing());
    assertEquals(List.of("layers.7.blocks.0.mlp.fc9.weight"), rep.unexpected());
    assertEquals(List.of("backbone.layers.0.blocks.0.norm1.weight: checkpoint shape [9] (file key "
        + "layers.0.blocks.0.norm1.weight) does not match model shape [8]"), rep.shapeMismatches());

    CheckpointException e = assertThrows(CheckpointException.class,
        () -> SwinCheckpoints.loadPretrained(file, registry(MtLoraConfig.mtlora(List.of("seg"), 2, 2, 1)), true));
    assertTrue(e.getMessage().contains("strict load failed"), e.getMessage());
    assertTrue(e.getMessage().contains("backbone.layers.1.blocks.0.mlp.fc2.linear.bias"), e.getMessage());
    assertTrue(e.getMessage().contains("layers.7.blocks.0.mlp.fc9.weight"), e.getMessage());
    assertTrue(e.getMessage().contains("does not match model shape [8]"), e.getMessage());
    assertTrue(e.getMessage().startsWith("strict load failed: " + file), e.getMessage());
  }

  @Test
  void strictFailureChangesNothing() throws Exception {
    Map<String, INDArray> ckpt = officialCheckpoint();
    ckpt.put("extra", Nd4j.ones(DataType.FLOAT, 1));
    Path file = dir.resolve("extra.safetensors");
    SafeTensorsWriter.write(file, ckpt);
    ParameterRegistry r = registry(MtLoraConfig.mtlora(List.of("seg"), 2, 2, 1));
    INDArray before = r.get("backbone.patch_embed.proj.weight").dup();
    assertThrows(CheckpointException.class, () -> SwinCheckpoints.loadPretrained(file, r, true));
    assertEquals(before, r.get("backbone.patch_embed.proj.weight"));
  }
}
