package org.mtlora.core.params;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.adapter.MtLoraLinear;
import org.mtlora.core.graph.Gradients;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.SessionMemory;
import org.mtlora.core.nn.LayerNorm;
import org.mtlora.core.testing.GradientCheck;
import org.mtlora.core.train.AdamW;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Frozen parameters become constants and never move; trainable ones become variables and train. */
class FreezingTest {
  static String sha256(INDArray a) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    float[] v = a.dup('c').reshape(a.length()).toFloatVector();
    ByteBuffer b = ByteBuffer.allocate(4 * v.length);
    for (float f : v) {
      b.putFloat(f);
    }
    return java.util.HexFormat.of().formatHex(md.digest(b.array()));
  }

  /** The graph name of a registered tensor of this test: the frozen linear weight lives under its transposed copy. */
  private static String inGraph(String name) {
    return name.equals("blk.fc.linear.weight") ? name + GraphContext.TRANSPOSED_SUFFIX : name;
  }

  @Test
  void fiveAdamStepsLeaveFrozenArraysBitIdenticalAndMoveEveryTrainableOne() throws Exception {
    MtLoraLinear fc = MtLoraLinear.builder("blk.fc", 6, 6).shared(2, 4.0).task("seg", 2, 4.0).build();
    ParameterRegistry reg = new ParameterRegistry();
    reg.declareAll(fc.paramSpecs());
    reg.declare(ParamSpec.of("blk.norm.weight", Role.NORM, Init.ones(), 6));
    reg.declare(ParamSpec.of("blk.norm.bias", Role.NORM, Init.zeros(), 6));
    reg.initialise(3);
    reg.applyPolicy(FreezePolicy.MTLORA);
    assertEquals(List.of("blk.fc.linear.weight", "blk.fc.linear.bias"), reg.frozenNames());

    SameDiff sd = SameDiff.create();
    GraphContext ctx = GraphContext.training(sd, reg, DataType.FLOAT);
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 6);
    SDVariable y = sd.placeHolder("y", DataType.FLOAT, -1, 6);
    SDVariable h = LayerNorm.apply(sd, x, 2, ctx.param("blk.norm.weight"), ctx.param("blk.norm.bias"));
    MtLoraLinear.Output out = fc.apply(ctx, h, 4, null);
    SDVariable diff = out.shared().add(out.tasks().get("seg")).sub(y);
    SDVariable loss = sd.mean("loss", diff.mul(diff));
    sd.setLossVariables(loss);

    Map<String, String> before = new HashMap<>();
    for (SDVariable v : sd.variables()) {
      if (v.getVariableType() == VariableType.CONSTANT || v.getVariableType() == VariableType.VARIABLE) {
        before.put(v.name(), sha256(v.getArr()));
      }
    }
    // a frozen linear weight is held as its transpose (GraphContext.frozenTransposed), every other frozen tensor as is
    assertNull(sd.getVariable("blk.fc.linear.weight"), "the frozen weight is held transposed only");
    assertEquals(reg.get("blk.fc.linear.weight").transpose(),
        sd.getArrForVarName(inGraph("blk.fc.linear.weight")), "the transposed copy holds W^T");
    for (String name : reg.frozenNames()) {
      assertEquals(VariableType.CONSTANT, sd.getVariable(inGraph(name)).getVariableType(), name);
    }
    for (String name : reg.trainableNames()) {
      assertEquals(VariableType.VARIABLE, sd.getVariable(name).getVariableType(), name);
    }
    Map<String, String> registryBefore = new HashMap<>();
    for (String name : reg.frozenNames()) {
      registryBefore.put(name, sha256(reg.get(name)));
    }
    Map<String, INDArray> batch = Map.of("x", GradientCheck.randn(1, 1, 4, 6).castTo(DataType.FLOAT),
        "y", GradientCheck.randn(2, 1, 4, 6).castTo(DataType.FLOAT));
    // the library's own step: the gradient function in this project's session (the layer norm is an op computed in
    // Java, which SameDiff's fit cannot run), then AdamW on every trainable array of the graph
    Gradients.prepare(sd);
    AdamW adam = new AdamW(0.9, 0.999, 1e-8, 1e-2);
    Map<String, INDArray> trainables = new HashMap<>();
    for (String name : reg.trainableNames()) {
      trainables.put(name, sd.getArrForVarName(name));
      adam.add(name, sd.getArrForVarName(name).shape(), true, DataType.FLOAT);
    }
    SessionMemory.ensureSession(sd);
    double first = sd.output(batch, "loss").get("loss").getDouble(0);
    for (int step = 0; step < 5; step++) {
      adam.update(trainables, Gradients.calculate(sd, batch, List.of(), trainables.keySet()).getGradients(), 1e-2);
    }
    double last = sd.output(batch, "loss").get("loss").getDouble(0);
    assertTrue(last < first, "loss falls: " + first + " -> " + last);

    for (String name : reg.frozenNames()) {
      assertEquals(before.get(inGraph(name)), sha256(sd.getArrForVarName(inGraph(name))), "frozen " + name + " changed");
    }
    for (String name : reg.trainableNames()) {
      assertNotEquals(before.get(name), sha256(sd.getArrForVarName(name)), "trainable " + name + " did not train");
    }
    ctx.syncToRegistry();
    for (String name : reg.frozenNames()) {
      assertEquals(registryBefore.get(name), sha256(reg.get(name)), "registry copy of " + name + " changed");
    }
    for (String name : reg.trainableNames()) {
      assertEquals(sha256(sd.getArrForVarName(name)), sha256(reg.get(name)), "registry synced " + name);
    }
  }
}
