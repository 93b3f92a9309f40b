package org.mtlora.metrics;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableMap;
import java.util.Map;

/**
 * The multi-task performance delta of the paper: {@code Δm = 100 / T * Σ_t s_t (M_t - B_t) / B_t}, with {@code s_t =
 * +1} where higher is better (mIoU) and {@code -1} where lower is better (normals angular error), against single-task
 * baselines {@code B_t}.
 */
public final class DeltaM {
  /** The paper's single-task baselines (Swin-T, ImageNet-1k): semseg 67.21, human parts 61.93, saliency 62.35, normals 17.97. */
  public static final ImmutableMap<String, Double> PAPER_BASELINES =
      ImmutableMap.of("semseg", 67.21, "human_parts", 61.93, "sal", 62.35, "normals", 17.97);

  /** Whether higher is better, per PASCAL task. */
  public static final ImmutableMap<String, Boolean> HIGHER_IS_BETTER =
      ImmutableMap.of("semseg", true, "human_parts", true, "sal", true, "normals", false);

  private DeltaM() {}

  /**
   * Δm in percent over the tasks of {@code metrics} (metric values in the baselines' units: mIoU in percent, normals
   * in degrees).
   */
  public static double compute(Map<String, Double> metrics, Map<String, Double> baselines,
      Map<String, Boolean> higherIsBetter) {
    Preconditions.checkArgument(!metrics.isEmpty(), "no task metrics");
    double sum = 0;
    for (Map.Entry<String, Double> e : metrics.entrySet()) {
      Double base = baselines.get(e.getKey());
      Boolean higher = higherIsBetter.get(e.getKey());
      Preconditions.checkArgument(base != null && higher != null, "no baseline for task '%s'; baselines: %s",
          e.getKey(), baselines.keySet());
      double rel = (e.getValue() - base) / base;
      sum += higher ? rel : -rel;
    }
    return 100 * sum / metrics.size();
  }

  /** Δm against the paper's baselines. */
  public static double againstPaper(Map<String, Double> metrics) {
    return compute(metrics, PAPER_BASELINES, HIGHER_IS_BETTER);
  }
}
