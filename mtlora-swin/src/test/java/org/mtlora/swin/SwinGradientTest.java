package org.mtlora.swin;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mtlora.core.adapter.MtLoraConfig;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.testing.GradientCheck;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Finite-difference gradient check of a whole (tiny) MTLoRA Swin backbone in double precision: shifted windows with
 * the -100 mask, trainable relative-position tables (one-hot path), task streams, MTLoRA+ patch merging, LoRA
 * dropout and drop path with fixed masks. Every trainable parameter and the input image are checked.
 */
@org.junit.jupiter.api.extension.ExtendWith(org.mtlora.core.testing.DoublePrecision.class)
class SwinGradientTest {



  @Test
  void gradientOfATinyBackboneWithTasksAndShiftedWindows() {
    // 8x8 image, patch 2 -> 4x4 tokens, window 2, shift 1; stage 1 is 2x2 (window clamped, no shift).
    SwinConfig swin = SwinConfig.builder().imgSize(8).patchSize(2).inChans(1).embedDim(4).depths(2, 2)
        .numHeads(1, 2).windowSize(2).dropPathRate(0.3).build();
    MtLoraConfig lora = MtLoraConfig.builder(List.of("a", "b"), 2).allStages(1, 1, 2.0).dropout(0.2)
        .reductionAdapter(true).build();
    SwinBackbone backbone = new SwinBackbone(swin, lora);
    ParameterRegistry reg = new ParameterRegistry();
    backbone.declare(reg);
    long seed = 10;
    for (ParamSpec s : reg.specs()) {
      reg.set(s.name(), GradientCheck.randn(seed++, 0.5, s.shape()));
    }
    reg.applyPolicy(FreezePolicy.MTLORA_PLUS);

    SameDiff sd = SameDiff.create();
    GraphContext ctx = GraphContext.training(sd, reg, DataType.DOUBLE);
    SDVariable image = sd.var("image", GradientCheck.randn(1, 1, 2, 1, 8, 8));
    SwinBackbone.Features f = backbone.apply(ctx, image);
    SDVariable all = null;
    for (SwinBackbone.StageFeatures s : f.stages()) {
      for (SDVariable t : s.tasks().values()) {
        SDVariable flat = sd.reshape(t, -1);
        all = all == null ? flat : sd.concat(0, all, flat);
      }
      all = sd.concat(0, all, sd.reshape(s.shared(), -1));
    }
    Map<String, INDArray> masks = new HashMap<>(ctx.masks().sample(2, 5, 0, DataType.DOUBLE));
    SDVariable loss = GradientCheck.weightedSumLoss(sd, all, masks);
    // The loss sums ~700 outputs (|L| in the hundreds) while some gradients are ~1e-6: at eps 1e-6 the central
    // difference's round-off (~1e-16 |L| / eps) swamps those; eps 1e-4 keeps both round-off and truncation small.
    GradientCheck.assertPasses(sd, loss.name(), masks, 1e-4);
  }
}
