package org.mtlora.core.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.collect.ImmutableMap;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.mtlora.core.params.FreezePolicy;

/** The user-facing adapter specification: presets, per-stage values, resolution and exact JSON round trips. */
class AdapterConfigTest {
  private static final List<String> TASKS = List.of("semseg", "normals");

  /** A hand-edited configuration: per-stage ranks, one task sized apart, dropout per stage, two sites, matrixv2. */
  static AdapterConfig handEdited() {
    return AdapterConfig.builder(Method.MTLORA).allStages(StageAdapters.of(16, 4))
        .stage(2, new StageAdapters(LoraSize.of(32, 2.0), LoraSize.of(4, 4.0), ImmutableMap.of(), 0.1)
            .withTask("normals", LoraSize.of(8, 0.5)))
        .stage(3, StageAdapters.of(64, 4).withDropout(0.0))
        .mode(LoraMode.MATRIX_V2).sites(true, false, true, false).build();
  }

  @Test
  void everyPresetAndAHandEditedConfigurationRoundTripExactly() throws Exception {
    List<AdapterConfig> all = List.of(AdapterConfig.mtlora(16, 4), AdapterConfig.mtloraPlus(32, 4),
        AdapterConfig.loraOnly(32), AdapterConfig.fullFineTuning(), AdapterConfig.decodersOnly(),
        AdapterConfig.builder(Method.MTLORA).mode(LoraMode.ADDITION).build(), handEdited());
    for (AdapterConfig c : all) {
      String text = c.toJson().toString();
      AdapterConfig back = AdapterConfig.fromJson(new ObjectMapper().readTree(text));
      assertEquals(c, back, text);
      assertEquals(c.hashCode(), back.hashCode());
      assertEquals(text, back.toJson().toString());
    }
    assertNotEquals(AdapterConfig.mtlora(16, 4), AdapterConfig.mtloraPlus(16, 4));
  }

  @Test
  void resolvesPerStageValuesAgainstTheBackbone() {
    MtLoraConfig r = handEdited().resolve(TASKS, 4);
    assertEquals(List.of(16, 16, 32, 64), List.of(r.sharedRank(0), r.sharedRank(1), r.sharedRank(2),
        r.sharedRank(3)));
    assertEquals(2.0, r.sharedScale(2));
    assertEquals(8, r.taskRank("normals", 2));
    assertEquals(0.5, r.taskScale("normals", 2));
    assertEquals(4, r.taskRank("semseg", 2));
    assertEquals(4, r.taskRank("normals", 1));
    assertEquals(0.1, r.dropout(2));
    assertEquals(0.0, r.dropout(3));
    assertEquals(0.05, r.dropout(0));
    assertEquals(LoraMode.MATRIX_V2, r.sharedMode());
    assertTrue(r.qkvEnabled() && !r.projEnabled() && r.fc1Enabled() && !r.fc2Enabled());
    assertFalse(r.reductionAdapterEnabled());
    // a model with fewer stages than the configuration names is refused, naming the stage
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> handEdited().resolve(TASKS, 2));
    assertTrue(e.getMessage().contains("sets stage 2 but the backbone has 2 stages"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> handEdited().resolve(List.of("semseg", "sal"), 4));
    assertTrue(e.getMessage().contains("sizes task 'normals' in stage 2"), e.getMessage());
  }

  @Test
  void theMethodDecidesPlacementAndFreezingTogether() {
    assertTrue(AdapterConfig.mtloraPlus(16, 4).resolve(TASKS, 2).reductionAdapterEnabled());
    assertFalse(AdapterConfig.mtlora(16, 4).resolve(TASKS, 2).reductionAdapterEnabled());
    MtLoraConfig loraOnly = AdapterConfig.loraOnly(32).resolve(TASKS, 2);
    assertEquals(LoraMode.LORA_ONLY, loraOnly.sharedMode());
    assertEquals(0, loraOnly.taskRank("semseg", 1));
    assertEquals(32, loraOnly.sharedRank(1));
    assertFalse(AdapterConfig.fullFineTuning().resolve(TASKS, 2).enabled());
    assertFalse(AdapterConfig.decodersOnly().resolve(TASKS, 2).enabled());
    assertEquals(FreezePolicy.MTLORA_PLUS, Method.MTLORA_PLUS.freezePolicy());
    assertEquals(FreezePolicy.MTLORA, Method.LORA_ONLY.freezePolicy());
    assertEquals(FreezePolicy.DECODERS_ONLY, Method.DECODERS_ONLY.freezePolicy());
    for (Method m : Method.values()) {
      assertEquals(m, Method.parse(m.label()));
    }
    assertEquals(Method.MTLORA_PLUS, Method.parse("MTLoRA+"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Method.parse("bitfit"));
    assertTrue(e.getMessage().contains("unknown method 'bitfit'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> AdapterConfig.builder(Method.MTLORA).mode(LoraMode.LORA_ONLY).build());
    assertTrue(e.getMessage().contains("Method.LORA_ONLY"), e.getMessage());
  }

  @Test
  void aResolvedTableConvertsBackExactly() {
    MtLoraConfig r = handEdited().resolve(TASKS, 4);
    assertEquals(r, AdapterConfig.from(r, Method.MTLORA).resolve(TASKS, 4));
    MtLoraConfig plus = AdapterConfig.mtloraPlus(8, 2).resolve(TASKS, 3);
    assertEquals(plus, AdapterConfig.from(plus, Method.MTLORA_PLUS).resolve(TASKS, 3));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> AdapterConfig.from(plus, Method.MTLORA));
    assertTrue(e.getMessage().contains("patch-merging reduction"), e.getMessage());
  }

  @Test
  void sharedIsNotATaskName() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> AdapterConfig.mtlora(4, 2).resolve(List.of("semseg", "shared"), 2));
    assertTrue(e.getMessage().contains("'shared' is reserved"), e.getMessage());
  }

  @Test
  void jsonErrorsNameTheKey() throws Exception {
    ObjectNode o = AdapterConfig.mtlora(16, 4).toJson();
    o.put("rank", 3);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AdapterConfig.fromJson(o));
    assertTrue(e.getMessage().contains("unknown keys [rank]"), e.getMessage());
    ObjectNode p = AdapterConfig.mtlora(16, 4).toJson();
    ((ObjectNode) p.get("all_stages").get("shared")).put("rank", "sixteen");
    e = assertThrows(IllegalArgumentException.class, () -> AdapterConfig.fromJson(p));
    assertTrue(e.getMessage().contains("'rank' must be an integer"), e.getMessage());
    ObjectNode q = AdapterConfig.mtlora(16, 4).toJson();
    ((ObjectNode) q.get("all_stages")).put("dropout", 1.5);
    e = assertThrows(IllegalArgumentException.class, () -> AdapterConfig.fromJson(q));
    assertTrue(e.getMessage().contains("LoRA dropout must be in [0, 1)"), e.getMessage());
  }
}
