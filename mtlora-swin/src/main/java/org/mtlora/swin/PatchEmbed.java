package org.mtlora.swin;

import com.google.common.collect.ImmutableList;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.nn.LayerNorm;
import org.mtlora.core.nn.Linear;
import org.mtlora.core.params.Init;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.Role;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Patch embedding (reference {@code PatchEmbed}): a {@code p x p} convolution with stride {@code p} (3 to C
 * channels, with bias) followed by LayerNorm. Because the patches do not overlap, the convolution is computed exactly
 * as a reshape into patches and one 2-D product with the weight flattened in PyTorch's {@code [C, in, p, p]} order.
 */
final class PatchEmbed {
  private final String prefix;
  private final int inChans;
  private final int patch;
  private final int dim;
  private final int imgSize;

  PatchEmbed(String prefix, int inChans, int patch, int dim, int imgSize) {
    this.prefix = prefix;
    this.inChans = inChans;
    this.patch = patch;
    this.dim = dim;
    this.imgSize = imgSize;
  }

  ImmutableList<ParamSpec> paramSpecs() {
    long fanIn = (long) inChans * patch * patch;
    return ImmutableList.of(
        ParamSpec.of(prefix + ".proj.weight", Role.PATCH_EMBED, Init.kaimingUniform(fanIn), dim, inChans, patch,
            patch),
        ParamSpec.of(prefix + ".proj.bias", Role.PATCH_EMBED, Init.uniform(1 / Math.sqrt(fanIn)), dim),
        ParamSpec.of(prefix + ".norm.weight", Role.PATCH_EMBED, Init.ones(), dim),
        ParamSpec.of(prefix + ".norm.bias", Role.PATCH_EMBED, Init.zeros(), dim));
  }

  /**
   * @param image {@code [B, inChans, imgSize, imgSize]} (NCHW)
   * @return tokens {@code [B * G * G, dim]}, {@code G = imgSize / patch}, row index {@code b*G*G + h*G + w}
   */
  SDVariable apply(GraphContext ctx, SDVariable image) {
    SameDiff sd = ctx.sd();
    int g = imgSize / patch;
    SDVariable t = sd.reshape(image, -1, inChans, g, patch, g, patch); // [B, in, G, p, G, p]
    t = sd.permute(t, 0, 2, 4, 1, 3, 5); // [B, G, G, in, p, p]
    SDVariable patches = sd.reshape(t, -1, (long) inChans * patch * patch); // [B*G*G, in*p*p]
    SDVariable w = sd.reshape(ctx.param(prefix + ".proj.weight"), dim, (long) inChans * patch * patch); // [C, in*p*p]
    SDVariable tokens = Linear.apply(sd, patches, w, ctx.param(prefix + ".proj.bias")); // [B*G*G, C]
    return LayerNorm.apply(sd, tokens, 2, ctx.param(prefix + ".norm.weight"), ctx.param(prefix + ".norm.bias"));
  }
}
