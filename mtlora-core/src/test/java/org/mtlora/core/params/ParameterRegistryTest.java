package org.mtlora.core.params;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ParameterRegistryTest {
  /** One parameter of each role (sizes chosen so every count is distinct), plus a buffer. */
  static ParameterRegistry sample() {
    ParameterRegistry r = new ParameterRegistry();
    r.declare(ParamSpec.of("backbone.patch_embed.proj.weight", Role.PATCH_EMBED, Init.zeros(), 2, 1, 1, 1));
    r.declare(ParamSpec.of("backbone.layers.0.blocks.0.attn.qkv.linear.weight", Role.PRETRAINED, Init.zeros(), 3));
    r.declare(ParamSpec.of("backbone.layers.0.downsample.reduction.linear.weight", Role.REDUCTION, Init.zeros(), 5));
    r.declare(ParamSpec.of("backbone.layers.0.blocks.0.norm1.weight", Role.NORM, Init.ones(), 7));
    r.declare(ParamSpec.of("backbone.layers.0.blocks.0.attn.relative_position_bias_table", Role.REL_POS_TABLE,
        Init.zeros(), 11));
    r.declare(ParamSpec.of("backbone.layers.0.blocks.0.attn.qkv.lora_shared_A", Role.ADAPTER_SHARED, Init.zeros(),
        13));
    r.declare(ParamSpec.ofTask("backbone.layers.0.blocks.1.attn.proj.lora_tasks_A.semseg", Role.ADAPTER_TASK,
        "semseg", Init.zeros(), 17));
    r.declare(ParamSpec.ofTask("downsampler.semseg.downsample_0.weight", Role.DOWNSAMPLER, "semseg", Init.zeros(),
        19));
    r.declare(ParamSpec.ofTask("decoders.decoders.sal.last_layer.0.weight", Role.DECODER, "sal", Init.zeros(), 23));
    r.declare(ParamSpec.buffer("decoders.decoders.sal.last_layer.1.running_mean", Role.DECODER, "sal", Init.zeros(),
        29));
    r.initialise(0);
    return r;
  }

  @Test
  void policiesTrainTheReferenceRoles() {
    ParameterRegistry r = sample();
    r.applyPolicy(FreezePolicy.MTLORA);
    assertEquals(2 + 5 + 7 + 11 + 13 + 17 + 19 + 23, r.report().trainableParameters());
    r.applyPolicy(FreezePolicy.MTLORA_PLUS);
    assertEquals(2 + 7 + 11 + 13 + 17 + 19 + 23, r.report().trainableParameters());
    r.applyPolicy(FreezePolicy.FULL_FINETUNE);
    assertEquals(2 + 3 + 5 + 7 + 11 + 13 + 17 + 19 + 23, r.report().trainableParameters());
    r.applyPolicy(FreezePolicy.DECODERS_ONLY);
    assertEquals(19 + 23, r.report().trainableParameters());
    r.applyPolicy(FreezePolicy.of(s -> s.name().contains("lora_")));
    assertEquals(13 + 17, r.report().trainableParameters());
    assertFalse(r.isTrainable("decoders.decoders.sal.last_layer.1.running_mean"), "buffers never train");
  }

  @Test
  void reportCountsPerRoleAndTaskAndExcludesBuffers() {
    ParameterRegistry r = sample();
    r.applyPolicy(FreezePolicy.MTLORA);
    ParameterReport rep = r.report();
    assertEquals(100, rep.totalParameters());
    assertEquals(Map.of("semseg", 17L + 19L, "sal", 23L), rep.trainablePerTask());
    assertEquals(3L, rep.perRole().get(Role.PRETRAINED));
    assertFalse(rep.trainablePerRole().containsKey(Role.PRETRAINED));
    String text = rep.format();
    assertTrue(text.endsWith("trainable_parameters=97\ntotal_parameters=100\n"), text);
  }

  @Test
  void namedPoliciesParseAndUnknownNamesFail() {
    assertEquals(FreezePolicy.MTLORA, FreezePolicy.named("mtlora"));
    assertEquals(FreezePolicy.MTLORA_PLUS, FreezePolicy.named("MTLoRA-plus"));
    assertEquals(FreezePolicy.DECODERS_ONLY, FreezePolicy.named("decoders_only"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FreezePolicy.named("bitfit"));
    assertTrue(e.getMessage().contains("unknown freeze policy 'bitfit'"));
  }

  @Test
  void setChecksShapesAndNamesAreUnique() {
    ParameterRegistry r = sample();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> r.set("backbone.layers.0.blocks.0.norm1.weight", Nd4j.zeros(DataType.FLOAT, 8)));
    assertEquals("backbone.layers.0.blocks.0.norm1.weight: expected shape [7], found [8]", e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> r.declare(ParamSpec.of("backbone.layers.0.blocks.0.norm1.weight", Role.NORM, Init.ones(), 7)));
    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> r.get("nope"));
    assertTrue(unknown.getMessage().contains("unknown parameter nope"));
    assertThrows(IllegalArgumentException.class,
        () -> ParamSpec.of("x", Role.ADAPTER_TASK, Init.zeros(), 1), "per-task roles need a task");
  }

  @Test
  void initialisationIsDeterministicForASeed() {
    ParameterRegistry a = new ParameterRegistry();
    ParameterRegistry b = new ParameterRegistry();
    for (ParameterRegistry r : List.of(a, b)) {
      r.declare(ParamSpec.of("w", Role.PRETRAINED, Init.truncatedNormal(0.02), 4, 4));
      r.declare(ParamSpec.of("a", Role.ADAPTER_SHARED, Init.kaimingUniform(4), 2, 4));
      r.initialise(7);
    }
    assertEquals(a.get("w"), b.get("w"));
    assertEquals(a.get("a"), b.get("a"));
  }

  @Test
  void theDenseLayersPretrainedWeightsAreHeldColumnMajorWithTheInitialisersValues() {
    ParameterRegistry r = new ParameterRegistry();
    List<ParamSpec> specs = List.of(
        ParamSpec.of("blk.fc.linear.weight", Role.PRETRAINED, Init.uniform(0.5), 3, 4),
        ParamSpec.of("blk.fc.linear.bias", Role.PRETRAINED, Init.uniform(0.5), 3),
        ParamSpec.of("down.reduction.linear.weight", Role.REDUCTION, Init.truncatedNormal(0.02), 2, 5),
        ParamSpec.of("blk.fc.lora_shared_A", Role.ADAPTER_SHARED, Init.kaimingUniform(4), 2, 4),
        ParamSpec.ofTask("head.weight", Role.DECODER, "sal", Init.uniform(0.5), 3, 2));
    r.declareAll(specs);
    r.initialise(7);
    SplittableRandom rng = new SplittableRandom(7); // the registry's draws, in declaration order
    for (ParamSpec s : specs) {
      INDArray expected = s.init().create(s.shape(), rng.split());
      INDArray held = r.get(s.name());
      assertEquals(expected, held, s.name() + ": the same values in either order");
      boolean columnMajor = s.shape().length == 2 && (s.role() == Role.PRETRAINED || s.role() == Role.REDUCTION);
      assertEquals(columnMajor, ParameterRegistry.heldColumnMajor(s), s.name());
      assertEquals(columnMajor ? 'f' : 'c', held.ordering(), s.name());
      assertEquals(held.length(), held.data().length(), s.name() + ": a whole buffer");
    }
  }

  @Test
  void loadTakesTheArrayOverAndKeepsItOrACopyInTheHeldOrder() {
    ParameterRegistry r = new ParameterRegistry();
    r.declare(ParamSpec.of("blk.fc.linear.weight", Role.PRETRAINED, Init.zeros(), 3, 4));
    r.declare(ParamSpec.of("blk.fc.lora_shared_A", Role.ADAPTER_SHARED, Init.zeros(), 2, 4));
    // as SafeTensorsReader makes them: a flat array reshaped
    INDArray weight = Nd4j.createFromArray(new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}).reshape(3, 4);
    INDArray expected = weight.dup();
    INDArray adapter = Nd4j.rand(DataType.FLOAT, 2, 4);
    long before = r.revision();
    r.load("blk.fc.linear.weight", weight);
    r.load("blk.fc.lora_shared_A", adapter);
    assertEquals(expected, r.get("blk.fc.linear.weight"));
    assertEquals('f', r.get("blk.fc.linear.weight").ordering(), "a column-major copy");
    assertTrue(weight.data().originalDataBuffer().wasClosed(), "the given row-major array's memory is freed at once");
    assertSame(adapter, r.get("blk.fc.lora_shared_A"), "kept as given where the order does not matter");
    assertEquals(before + 2, r.revision());
    INDArray columnMajor = Nd4j.rand(DataType.FLOAT, 'f', 3, 4);
    r.load("blk.fc.linear.weight", columnMajor);
    assertSame(columnMajor, r.get("blk.fc.linear.weight"), "already column-major: kept");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> r.load("blk.fc.linear.weight", Nd4j.zeros(DataType.FLOAT, 4, 3)));
    assertTrue(e.getMessage().contains("blk.fc.linear.weight") && e.getMessage().contains("[3, 4]"), e.getMessage());
  }
}
