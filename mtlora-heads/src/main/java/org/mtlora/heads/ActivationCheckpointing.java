package org.mtlora.heads;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.mtlora.swin.SwinBackbone;

/**
 * How a training step keeps the backbone's activations ({@link MultiTaskModel#trainingGraph}). Without
 * checkpointing every intermediate of the forward stays in memory until the backward (Swin-T at 448: about 18 GB per
 * image in SameDiff); with it, the backbone runs as a chain of graphs whose activations are recomputed, one segment
 * at a time, during the backward, for one extra backbone forward.
 */
public enum ActivationCheckpointing {
  /** One whole graph: fastest, all activations kept. */
  NONE,
  /** One segment per stage (the patch embedding with the first): peak = the largest stage's activations. */
  STAGE,
  /** One segment per block (a stage's last block with its patch merging): the smallest peak. */
  BLOCK;

  /** Parses {@code none}, {@code stage} or {@code block} (any case). */
  public static ActivationCheckpointing named(String name) {
    for (ActivationCheckpointing m : values()) {
      if (m.name().equalsIgnoreCase(name)) {
        return m;
      }
    }
    throw new IllegalArgumentException("unknown activation checkpointing '" + name + "': expected none, stage or "
        + "block");
  }

  /** Lower-case name, as the command line spells it. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Block ranges {@code [from, to)} of the backbone segments (empty for {@link #NONE}). */
  List<int[]> ranges(SwinBackbone backbone) {
    List<int[]> out = new ArrayList<>();
    if (this == NONE) {
      return out;
    }
    int from = 0;
    for (int k = 0; k < backbone.numBlocks(); k++) {
      if (this == BLOCK || backbone.endsStage(k)) {
        out.add(new int[] {from, k + 1});
        from = k + 1;
      }
    }
    return out;
  }
}
