package org.mtlora.swin;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.mtlora.core.adapter.MtLoraConfig;
import org.mtlora.core.adapter.MtLoraLinear;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * The Swin Transformer backbone with MTLoRA adapters (reference {@code SwinTransformerMTLoRA}; reference-spec §1.2,
 * §2): patch embedding, then stages of blocks with task-agnostic adapters on qkv, proj, fc1 and fc2 of every block,
 * task-specific adapters on proj, fc1 and fc2 of each stage's last block, and patch merging (adapted in MTLoRA+).
 *
 * <p>Per stage it emits the shared stream and one stream per task, taken <em>after</em> that stage's patch merging
 * ({@link StageFeatures}). No final norm, no head. Parameter names are the reference's state_dict keys under {@code
 * backbone.}.
 */
public final class SwinBackbone {
  /** Prefix of every backbone parameter name. */
  public static final String PREFIX = "backbone";

  private final SwinConfig swin;
  private final MtLoraConfig lora;
  private final ImmutableList<MtLoraLinear> denseLayers;
  private final PatchEmbed patchEmbed;
  private final ImmutableList<SwinStage> stages;

  /**
   * Features of one stage, after its patch merging.
   *
   * @param shared {@code [B * resolution^2, channels]}
   * @param tasks one stream per task, same shape, in task order
   * @param resolution token grid side
   * @param channels channels
   */
  public record StageFeatures(SDVariable shared, ImmutableMap<String, SDVariable> tasks, int resolution,
      int channels) {}

  /**
   * The backbone's outputs.
   *
   * @param stages per-stage features, stage order
   * @param intermediates named intermediate streams for inspection and parity: {@code backbone.patch_embed}, {@code
   *     stage{i}.block{j}.shared}, {@code stage{i}.block{last}.task.<t>}, {@code stage{i}.shared}, {@code
   *     stage{i}.task.<t>} (all {@code [B * L, C]} rows)
   */
  public record Features(ImmutableList<StageFeatures> stages, ImmutableMap<String, SDVariable> intermediates) {}

  public SwinBackbone(SwinConfig swin, MtLoraConfig lora) {
    Preconditions.checkArgument(lora.numStages() == swin.numStages(),
        "the MTLoRA configuration has %s stages but the backbone has %s", lora.numStages(), swin.numStages());
    this.swin = swin;
    this.lora = lora;
    this.patchEmbed = new PatchEmbed(PREFIX + ".patch_embed", swin.inChans(), swin.patchSize(), swin.embedDim(),
        swin.imgSize());
    double[] dpr = swin.dropPathRates();
    ImmutableList.Builder<SwinStage> built = ImmutableList.builder();
    ImmutableList.Builder<MtLoraLinear> dense = ImmutableList.builder();
    int firstBlock = 0;
    for (int i = 0; i < swin.numStages(); i++) {
      SwinStage stage = new SwinStage(i, swin, lora, dpr, firstBlock);
      built.add(stage);
      dense.addAll(stage.denseLayers());
      firstBlock += swin.depths().get(i);
    }
    this.stages = built.build();
    this.denseLayers = dense.build();
  }

  /** Every dense layer (the four sites of each block and each patch-merging reduction), in construction order. */
  public ImmutableList<MtLoraLinear> denseLayers() {
    return denseLayers;
  }

  public SwinConfig swinConfig() {
    return swin;
  }

  public MtLoraConfig loraConfig() {
    return lora;
  }

  /** Every backbone parameter, in the reference's order. */
  public ImmutableList<ParamSpec> paramSpecs() {
    ImmutableList.Builder<ParamSpec> b = ImmutableList.builder();
    b.addAll(patchEmbed.paramSpecs());
    stages.forEach(s -> b.addAll(s.paramSpecs()));
    return b.build();
  }

  /** Declares every backbone parameter in {@code registry}. */
  public void declare(ParameterRegistry registry) {
    registry.declareAll(paramSpecs());
  }

  /** Token grid side of stage {@code i}'s output (after merging). */
  public int outputResolution(int stage) {
    int res = swin.stageResolution(stage);
    return stage < swin.numStages() - 1 ? res / 2 : res;
  }

  /** Channels of stage {@code i}'s output (after merging). */
  public int outputChannels(int stage) {
    int dim = swin.stageDim(stage);
    return stage < swin.numStages() - 1 ? 2 * dim : dim;
  }

  /**
   * Adds the backbone to a graph.
   *
   * @param image {@code [B, inChans, imgSize, imgSize]}, NCHW, normalised
   */
  public Features apply(GraphContext ctx, SDVariable image) {
    Map<String, SDVariable> named = new LinkedHashMap<>();
    Partial all = applyBlocks(ctx, image, 0, numBlocks(), named);
    return new Features(all.stages().values().asList(), ImmutableMap.copyOf(named));
  }

  /**
   * What a range of blocks produces.
   *
   * @param shared the shared stream after the range's last block (after patch merging when that block ends a stage)
   * @param stages the features of every stage the range completes, by stage index
   */
  public record Partial(SDVariable shared, ImmutableMap<Integer, StageFeatures> stages) {}

  /** Blocks of all stages together: the units {@link #applyBlocks} ranges over. */
  public int numBlocks() {
    return swin.depths().stream().mapToInt(Integer::intValue).sum();
  }

  /** The stage of block {@code k} (counting blocks over all stages). */
  public int stageOf(int block) {
    Preconditions.checkElementIndex(block, numBlocks(), "block");
    int k = block;
    for (int i = 0; i < swin.numStages(); i++) {
      if (k < swin.depths().get(i)) {
        return i;
      }
      k -= swin.depths().get(i);
    }
    throw new AssertionError(block);
  }

  /** Whether block {@code k} is the last of its stage (it then also applies the stage's patch merging). */
  public boolean endsStage(int block) {
    return block == numBlocks() - 1 || stageOf(block + 1) != stageOf(block);
  }

  /** Channels of the shared stream that enters block {@code k}. */
  public int inputChannels(int block) {
    return swin.stageDim(stageOf(block));
  }

  /**
   * Adds blocks {@code [from, to)} (counting over all stages) to a graph: the pieces of a checkpointed chain, or the
   * whole backbone.
   *
   * @param x the image {@code [B, inChans, S, S]} when {@code from == 0} (the patch embedding comes first), otherwise
   *     the shared stream entering block {@code from}, {@code [B * L, C]}
   * @param named receives named intermediates (see {@link Features})
   */
  public Partial applyBlocks(GraphContext ctx, SDVariable x, int from, int to, Map<String, SDVariable> named) {
    Preconditions.checkArgument(0 <= from && from < to && to <= numBlocks(), "block range [%s, %s) outside [0, %s)",
        from, to, numBlocks());
    SDVariable shared = x;
    if (from == 0) {
      shared = patchEmbed.apply(ctx, x);
      named.put(PREFIX + ".patch_embed", shared);
    }
    ImmutableMap.Builder<Integer, StageFeatures> done = ImmutableMap.builder();
    int first = 0;
    for (int i = 0; i < stages.size(); i++) {
      SwinStage stage = stages.get(i);
      SwinBlock.Output out = null;
      for (int j = 0; j < stage.numBlocks(); j++) {
        int k = first + j;
        if (k >= from && k < to) {
          out = stage.block(ctx, j, shared, named);
          shared = out.shared();
          if (j == stage.numBlocks() - 1) {
            StageFeatures f = stage.finish(ctx, out, outputResolution(i), outputChannels(i));
            named.put("stage" + i + ".shared", f.shared());
            for (Map.Entry<String, SDVariable> t : f.tasks().entrySet()) {
              named.put("stage" + i + ".task." + t.getKey(), t.getValue());
            }
            done.put(i, f);
            shared = f.shared();
          }
        }
      }
      first += stage.numBlocks();
    }
    return new Partial(shared, done.buildOrThrow());
  }
}
