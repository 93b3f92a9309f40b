package org.mtlora.swin;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.mtlora.core.adapter.LoraMode;
import org.mtlora.core.adapter.MtLoraConfig;
import org.mtlora.core.testing.Fixtures;

class SwinConfigTest {
  @Test
  void tinyPresetShapes() {
    SwinConfig t = SwinConfig.tiny(448);
    assertEquals(List.of(112, 56, 28, 14), List.of(t.stageResolution(0), t.stageResolution(1), t.stageResolution(2),
        t.stageResolution(3)));
    assertEquals(768, t.stageDim(3));
    double[] dpr = t.dropPathRates();
    assertEquals(12, dpr.length);
    assertEquals(0.0, dpr[0]);
    assertEquals(0.2 / 11, dpr[1], 1e-12);
    assertEquals(0.2, dpr[11], 1e-12);
  }

  private static String error(Runnable r) {
    return assertThrows(IllegalArgumentException.class, r::run).getMessage();
  }

  @Test
  void rejectsImpossibleShapesBeforeAnyGraph() {
    assertEquals("numHeads[1] must divide the stage dimension 192, found 5",
        error(() -> SwinConfig.builder().numHeads(3, 5, 12, 24).build()));
    assertEquals("imgSize 226 must be a positive multiple of patchSize 4",
        error(() -> SwinConfig.builder().imgSize(226).build()));
    assertTrue(error(() -> SwinConfig.builder().imgSize(200).build()).contains("windows of 7 do not tile"));
    assertEquals("depths and numHeads must have one entry per stage, found [2, 2] and [3, 6, 12]",
        error(() -> SwinConfig.builder().depths(2, 2).numHeads(3, 6, 12).build()));
    assertEquals("depths[0] must be positive, found 0", error(() -> SwinConfig.builder().depths(0, 2, 6, 2).build()));
    assertEquals("unknown backbone 'huge'; expected tiny, small or base", error(() -> SwinConfig.preset("huge", 224)));
  }

  @Test
  void rejectsNegativeRanksAndUnknownTasks() {
    assertEquals("shared rank of stage 1 must be >= 0, found -4",
        error(() -> MtLoraConfig.builder(List.of("semseg"), 4).shared(1, -4, 4.0).build()));
    assertEquals("unknown task 'depth'; the configuration has tasks [semseg]",
        error(() -> MtLoraConfig.builder(List.of("semseg"), 4).task("depth", 0, 4, 4.0)));
    assertEquals("the MTLoRA configuration has 2 stages but the backbone has 4",
        error(() -> new SwinBackbone(SwinConfig.tiny(224), MtLoraConfig.mtlora(List.of("semseg"), 2, 16, 4))));
  }

  @Test
  void readsTheFixtureConfiguration() throws Exception {
    ReferenceConfig c = ReferenceConfig.read(Fixtures.tiny().resolve("config.json"));
    assertEquals(224, c.swin().imgSize());
    assertEquals(24, c.swin().embedDim());
    assertEquals(List.of(1, 2, 4, 8), c.swin().numHeads());
    assertEquals(List.of("semseg", "human_parts", "sal", "normals"), c.tasks());
    assertEquals(8, c.lora().sharedRank(2));
    assertEquals(4, c.lora().taskRank("sal", 3));
    assertEquals(4.0, c.lora().taskScale("normals", 0));
    assertEquals(LoraMode.MATRIX, c.lora().sharedMode());
    assertTrue(c.lora().reductionAdapterEnabled());
  }

  @Test
  void referenceConfigNamesUnknownTasksAndMissingKeys() throws Exception {
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = (ObjectNode) json.readTree(Fixtures.tiny().resolve("config.json").toFile());
    ObjectNode bad = root.deepCopy();
    ((ObjectNode) bad.get("MODEL.MTLORA").get("R_PER_TASK_LIST").get(2)).put("depth", 4);
    assertEquals("MODEL.MTLORA.R_PER_TASK_LIST[2] names unknown task 'depth'; TASKS is [semseg, human_parts, sal, normals]",
        error(() -> ReferenceConfig.parse(bad)));
    ObjectNode noImg = root.deepCopy();
    noImg.remove("DATA.IMG_SIZE");
    assertEquals("missing configuration key DATA.IMG_SIZE", error(() -> ReferenceConfig.parse(noImg)));
    ObjectNode negative = root.deepCopy();
    ((ObjectNode) negative.get("MODEL.MTLORA").get("R_PER_TASK_LIST").get(0)).put("sal", -1);
    assertEquals("rank of task sal in stage 0 must be >= 0, found -1", error(() -> ReferenceConfig.parse(negative)));
  }

  @Test
  void backboneOutputGeometry() {
    SwinBackbone b = new SwinBackbone(SwinConfig.tiny(448), MtLoraConfig.mtlora(List.of("semseg"), 4, 16, 4));
    assertArrayEquals(new int[] {56, 28, 14, 14},
        new int[] {b.outputResolution(0), b.outputResolution(1), b.outputResolution(2), b.outputResolution(3)});
    assertArrayEquals(new int[] {192, 384, 768, 768},
        new int[] {b.outputChannels(0), b.outputChannels(1), b.outputChannels(2), b.outputChannels(3)});
  }
}
