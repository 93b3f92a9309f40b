package org.mtlora.heads;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.collect.ImmutableMap;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.adapter.LoraMode;
import org.mtlora.core.adapter.LoraSize;
import org.mtlora.core.adapter.Method;
import org.mtlora.core.adapter.StageAdapters;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.swin.SwinConfig;
import org.mtlora.tasks.PascalTasks;

/** A model configuration rebuilds its model from its JSON: exact round trips, and errors that name the key. */
class MultiTaskConfigJsonTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  static MultiTaskConfig roundTrip(MultiTaskConfig c) throws Exception {
    return MultiTaskConfig.fromJson(JSON.readTree(c.toJsonString()));
  }

  @Test
  void everyMethodAndAHandEditedConfigurationRoundTripExactly() throws Exception {
    SwinConfig swin = SwinConfig.tiny(448);
    for (Method m : Method.values()) {
      MultiTaskConfig c = MultiTaskConfig.pascal(swin, AdapterConfig.of(m, 32, 4));
      assertEquals(c, roundTrip(c), m.label());
      assertEquals(m.freezePolicy(), roundTrip(c).freezePolicy());
    }
    AdapterConfig adapters = AdapterConfig.builder(Method.MTLORA_PLUS).allStages(StageAdapters.of(16, 4))
        .stage(3, new StageAdapters(LoraSize.of(64, 2.0), LoraSize.of(8, 4.0),
            ImmutableMap.of("normals", LoraSize.of(2, 1.0)), 0.0))
        .mode(LoraMode.MATRIX_V2).sites(true, true, false, true).build();
    MultiTaskConfig edited = MultiTaskConfig.builder(SwinConfig.small(224).toBuilder().dropPathRate(0.2).build(),
            adapters).task(PascalTasks.NORMALS, 3.5).task(PascalTasks.SEMSEG).decoderChannels(List.of(8, 16, 32, 64))
        .decoderHidden(100).build();
    MultiTaskConfig back = roundTrip(edited);
    assertEquals(edited, back);
    assertEquals(edited.lora(), back.lora());
    assertEquals(List.of("normals", "semseg"), back.taskNames());
    assertEquals(3.5, back.lossWeights().get("normals"));
    assertEquals(2, back.lora().taskRank("normals", 3));
    assertEquals(FreezePolicy.MTLORA_PLUS, back.freezePolicy());
  }

  @Test
  void aReferenceConfigKeepsItsMethod() throws Exception {
    MultiTaskConfig c = MultiTaskConfig.read(org.mtlora.core.testing.Fixtures.tiny().resolve("config.json"));
    assertEquals(c, roundTrip(c));
  }

  @Test
  void sharedIsReservedAndTasksMustBeKnown() throws Exception {
    var shared = new org.mtlora.tasks.Task() {
      @Override public String name() {
        return "shared";
      }

      @Override public int outputChannels() {
        return 1;
      }

      @Override public int targetChannels() {
        return 1;
      }

      @Override public double defaultWeight() {
        return 1;
      }

      @Override public org.nd4j.autodiff.samediff.SDVariable loss(org.nd4j.autodiff.samediff.SameDiff sd,
          org.nd4j.autodiff.samediff.SDVariable p, org.nd4j.autodiff.samediff.SDVariable t) {
        return null;
      }

      @Override public org.mtlora.metrics.TaskMeter newMeter() {
        return null;
      }

      @Override public String primaryMetric() {
        return "x";
      }

      @Override public boolean higherIsBetter() {
        return true;
      }

      @Override public org.nd4j.linalg.api.ndarray.INDArray randomTarget(int b, int s,
          java.util.SplittableRandom r) {
        return null;
      }
    };
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MultiTaskConfig.builder(
        SwinConfig.tiny(224), AdapterConfig.mtlora(16, 4)).task(shared).build());
    assertTrue(e.getMessage().contains("'shared' is reserved"), e.getMessage());

    ObjectNode o = MultiTaskConfig.pascal(SwinConfig.tiny(224), AdapterConfig.mtlora(16, 4)).toJson();
    ((ObjectNode) o.get("tasks").get(0)).put("name", "depth");
    e = assertThrows(IllegalArgumentException.class, () -> MultiTaskConfig.fromJson(o));
    assertTrue(e.getMessage().contains("task 'depth' is not a PASCAL-Context task"), e.getMessage());
    ObjectNode p = MultiTaskConfig.pascal(SwinConfig.tiny(224), AdapterConfig.mtlora(16, 4)).toJson();
    ((ObjectNode) p.get("tasks").get(0)).put("output_channels", 40);
    e = assertThrows(IllegalArgumentException.class, () -> MultiTaskConfig.fromJson(p));
    assertTrue(e.getMessage().contains("task 'semseg' was saved with 40 output"), e.getMessage());
    ObjectNode q = MultiTaskConfig.pascal(SwinConfig.tiny(224), AdapterConfig.mtlora(16, 4)).toJson();
    q.put("version", 2);
    e = assertThrows(IllegalArgumentException.class, () -> MultiTaskConfig.fromJson(q));
    assertTrue(e.getMessage().contains("'version' is 2"), e.getMessage());
    ObjectNode r = MultiTaskConfig.pascal(SwinConfig.tiny(224), AdapterConfig.mtlora(16, 4)).toJson();
    ((ObjectNode) r.get("backbone")).remove("window_size");
    e = assertThrows(IllegalArgumentException.class, () -> MultiTaskConfig.fromJson(r));
    assertTrue(e.getMessage().contains("'window_size' must be an integer"), e.getMessage());
  }
}
