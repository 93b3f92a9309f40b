package org.mtlora.swin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.mtlora.core.io.JsonFields;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import java.util.List;

/**
 * The shape of a Swin Transformer backbone (reference-spec §2): image size, patch size, embedding dimension, depths
 * and heads per stage, window size, MLP ratio, qkv bias, stochastic-depth rate. Absolute position embedding is off
 * and the patch embedding is normalised, as in every MTLoRA configuration.
 *
 * <p>Immutable; presets {@link #tiny}, {@link #small}, {@link #base}, or {@link #builder()}. {@link Builder#build()}
 * rejects shapes that cannot work (an image that does not divide through every stage, heads that do not divide a
 * stage's dimension) before any graph is built.
 */
public final class SwinConfig {
  private final int imgSize;
  private final int patchSize;
  private final int inChans;
  private final int embedDim;
  private final ImmutableList<Integer> depths;
  private final ImmutableList<Integer> numHeads;
  private final int windowSize;
  private final double mlpRatio;
  private final boolean qkvBias;
  private final double dropPathRate;

  private SwinConfig(Builder b) {
    this.imgSize = b.imgSize;
    this.patchSize = b.patchSize;
    this.inChans = b.inChans;
    this.embedDim = b.embedDim;
    this.depths = ImmutableList.copyOf(b.depths);
    this.numHeads = ImmutableList.copyOf(b.numHeads);
    this.windowSize = b.windowSize;
    this.mlpRatio = b.mlpRatio;
    this.qkvBias = b.qkvBias;
    this.dropPathRate = b.dropPathRate;
  }

  /** Swin-T: embed 96, depths [2, 2, 6, 2], heads [3, 6, 12, 24], drop path 0.2. */
  public static SwinConfig tiny(int imgSize) {
    return builder().imgSize(imgSize).embedDim(96).depths(2, 2, 6, 2).numHeads(3, 6, 12, 24).dropPathRate(0.2)
        .build();
  }

  /** Swin-S: embed 96, depths [2, 2, 18, 2], heads [3, 6, 12, 24], drop path 0.3. */
  public static SwinConfig small(int imgSize) {
    return builder().imgSize(imgSize).embedDim(96).depths(2, 2, 18, 2).numHeads(3, 6, 12, 24).dropPathRate(0.3)
        .build();
  }

  /** Swin-B: embed 128, depths [2, 2, 18, 2], heads [4, 8, 16, 32], drop path 0.5. */
  public static SwinConfig base(int imgSize) {
    return builder().imgSize(imgSize).embedDim(128).depths(2, 2, 18, 2).numHeads(4, 8, 16, 32).dropPathRate(0.5)
        .build();
  }

  /** A preset by name: {@code tiny}, {@code small} or {@code base}. */
  public static SwinConfig preset(String name, int imgSize) {
    switch (name) {
      case "tiny":
        return tiny(imgSize);
      case "small":
        return small(imgSize);
      case "base":
        return base(imgSize);
      default:
        throw new IllegalArgumentException("unknown backbone '" + name + "'; expected tiny, small or base");
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this configuration's values. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.imgSize = imgSize;
    b.patchSize = patchSize;
    b.inChans = inChans;
    b.embedDim = embedDim;
    b.depths = depths;
    b.numHeads = numHeads;
    b.windowSize = windowSize;
    b.mlpRatio = mlpRatio;
    b.qkvBias = qkvBias;
    b.dropPathRate = dropPathRate;
    return b;
  }

  public int imgSize() {
    return imgSize;
  }

  public int patchSize() {
    return patchSize;
  }

  public int inChans() {
    return inChans;
  }

  public int embedDim() {
    return embedDim;
  }

  public ImmutableList<Integer> depths() {
    return depths;
  }

  public ImmutableList<Integer> numHeads() {
    return numHeads;
  }

  public int windowSize() {
    return windowSize;
  }

  public double mlpRatio() {
    return mlpRatio;
  }

  public boolean qkvBias() {
    return qkvBias;
  }

  public double dropPathRate() {
    return dropPathRate;
  }

  public int numStages() {
    return depths.size();
  }

  /** Channels of stage {@code i}'s blocks: {@code embedDim * 2^i}. */
  public int stageDim(int stage) {
    return embedDim << stage;
  }

  /** Token grid side of stage {@code i}'s blocks: {@code imgSize / patchSize / 2^i}. */
  public int stageResolution(int stage) {
    return imgSize / patchSize >> stage;
  }

  /** Total number of blocks. */
  public int totalDepth() {
    return depths.stream().mapToInt(Integer::intValue).sum();
  }

  /** Stochastic-depth rate of every block in order: {@code linspace(0, dropPathRate, totalDepth)}. */
  public double[] dropPathRates() {
    int n = totalDepth();
    double[] r = new double[n];
    for (int i = 0; i < n; i++) {
      r[i] = n == 1 ? 0 : dropPathRate * i / (n - 1);
    }
    return r;
  }

  /** This shape as JSON (see {@link #fromJson}). */
  public ObjectNode toJson() {
    ObjectNode o = new ObjectMapper().createObjectNode();
    o.put("img_size", imgSize);
    o.put("patch_size", patchSize);
    o.put("in_chans", inChans);
    o.put("embed_dim", embedDim);
    depths.forEach(o.putArray("depths")::add);
    numHeads.forEach(o.putArray("num_heads")::add);
    o.put("window_size", windowSize);
    o.put("mlp_ratio", mlpRatio);
    o.put("qkv_bias", qkvBias);
    o.put("drop_path_rate", dropPathRate);
    return o;
  }

  /** Reads what {@link #toJson()} wrote; every key is required, no other is allowed, errors name the key. */
  public static SwinConfig fromJson(JsonNode o) {
    JsonFields.onlyKeys(o, "backbone", "img_size", "patch_size", "in_chans", "embed_dim", "depths", "num_heads",
        "window_size", "mlp_ratio", "qkv_bias", "drop_path_rate");
    return builder().imgSize(JsonFields.integer(o, "img_size")).patchSize(JsonFields.integer(o, "patch_size"))
        .inChans(JsonFields.integer(o, "in_chans")).embedDim(JsonFields.integer(o, "embed_dim"))
        .depths(JsonFields.integers(o, "depths")).numHeads(JsonFields.integers(o, "num_heads"))
        .windowSize(JsonFields.integer(o, "window_size")).mlpRatio(JsonFields.number(o, "mlp_ratio"))
        .qkvBias(JsonFields.bool(o, "qkv_bias")).dropPathRate(JsonFields.number(o, "drop_path_rate")).build();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SwinConfig c && imgSize == c.imgSize && patchSize == c.patchSize && inChans == c.inChans
        && embedDim == c.embedDim && depths.equals(c.depths) && numHeads.equals(c.numHeads)
        && windowSize == c.windowSize && mlpRatio == c.mlpRatio && qkvBias == c.qkvBias
        && dropPathRate == c.dropPathRate;
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(imgSize, patchSize, inChans, embedDim, depths, numHeads, windowSize, mlpRatio,
        qkvBias, dropPathRate);
  }

  @Override
  public String toString() {
    return "SwinConfig{img=" + imgSize + ", patch=" + patchSize + ", embed=" + embedDim + ", depths=" + depths
        + ", heads=" + numHeads + ", window=" + windowSize + ", mlpRatio=" + mlpRatio + ", qkvBias=" + qkvBias
        + ", dropPath=" + dropPathRate + "}";
  }

  /** Builds a {@link SwinConfig}; defaults: patch 4, 3 input channels, window 7, MLP ratio 4, qkv bias, no drop path. */
  public static final class Builder {
    private int imgSize = 224;
    private int patchSize = 4;
    private int inChans = 3;
    private int embedDim = 96;
    private List<Integer> depths = List.of(2, 2, 6, 2);
    private List<Integer> numHeads = List.of(3, 6, 12, 24);
    private int windowSize = 7;
    private double mlpRatio = 4.0;
    private boolean qkvBias = true;
    private double dropPathRate;

    private Builder() {}

    /** Input side in pixels (square images). */
    public Builder imgSize(int v) {
      this.imgSize = v;
      return this;
    }

    public Builder patchSize(int v) {
      this.patchSize = v;
      return this;
    }

    public Builder inChans(int v) {
      this.inChans = v;
      return this;
    }

    public Builder embedDim(int v) {
      this.embedDim = v;
      return this;
    }

    /** Blocks per stage. */
    public Builder depths(Integer... v) {
      this.depths = List.of(v);
      return this;
    }

    public Builder depths(List<Integer> v) {
      this.depths = List.copyOf(v);
      return this;
    }

    /** Attention heads per stage. */
    public Builder numHeads(Integer... v) {
      this.numHeads = List.of(v);
      return this;
    }

    public Builder numHeads(List<Integer> v) {
      this.numHeads = List.copyOf(v);
      return this;
    }

    public Builder windowSize(int v) {
      this.windowSize = v;
      return this;
    }

    public Builder mlpRatio(double v) {
      this.mlpRatio = v;
      return this;
    }

    public Builder qkvBias(boolean v) {
      this.qkvBias = v;
      return this;
    }

    /** Largest stochastic-depth rate (of the last block), in [0, 1). */
    public Builder dropPathRate(double v) {
      this.dropPathRate = v;
      return this;
    }

    /** Validates every field and the combinations, then builds. */
    public SwinConfig build() {
      Preconditions.checkArgument(patchSize > 0, "patchSize must be positive, found %s", patchSize);
      Preconditions.checkArgument(inChans > 0, "inChans must be positive, found %s", inChans);
      Preconditions.checkArgument(embedDim > 0, "embedDim must be positive, found %s", embedDim);
      Preconditions.checkArgument(windowSize > 0, "windowSize must be positive, found %s", windowSize);
      Preconditions.checkArgument(mlpRatio > 0, "mlpRatio must be positive, found %s", mlpRatio);
      Preconditions.checkArgument(dropPathRate >= 0 && dropPathRate < 1, "dropPathRate must be in [0, 1), found %s",
          dropPathRate);
      Preconditions.checkArgument(!depths.isEmpty(), "depths must name at least one stage");
      Preconditions.checkArgument(depths.size() == numHeads.size(),
          "depths and numHeads must have one entry per stage, found %s and %s", depths, numHeads);
      Preconditions.checkArgument(imgSize > 0 && imgSize % patchSize == 0,
          "imgSize %s must be a positive multiple of patchSize %s", imgSize, patchSize);
      int res = imgSize / patchSize;
      for (int i = 0; i < depths.size(); i++) {
        Preconditions.checkArgument(depths.get(i) > 0, "depths[%s] must be positive, found %s", i, depths.get(i));
        int dim = embedDim << i;
        Preconditions.checkArgument(numHeads.get(i) > 0 && dim % numHeads.get(i) == 0,
            "numHeads[%s] must divide the stage dimension %s, found %s", i, dim, numHeads.get(i));
        int window = Math.min(windowSize, res);
        Preconditions.checkArgument(res % window == 0,
            "stage %s has a %sx%s token grid, which windows of %s do not tile (imgSize %s)", i, res, res, window,
            imgSize);
        if (i < depths.size() - 1) {
          Preconditions.checkArgument(res % 2 == 0,
              "stage %s has an odd %sx%s token grid, which patch merging cannot halve (imgSize %s)", i, res, res,
              imgSize);
          res /= 2;
        }
      }
      return new SwinConfig(this);
    }
  }
}
