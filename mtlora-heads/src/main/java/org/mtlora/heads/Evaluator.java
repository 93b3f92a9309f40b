package org.mtlora.heads;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.BatchSource;
import org.mtlora.metrics.DeltaM;
import org.mtlora.metrics.TaskMeter;
import org.mtlora.tasks.Task;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Evaluates a multi-task model in evaluation mode (running batch-norm statistics, no dropout) over batches of
 * ground truth: each task's own metrics (its {@link Task#newMeter() meter}; for PASCAL-Context the reference's semseg
 * and human-parts mIoU, saliency mIoU and maxF, normals mean angular error) and Δm against single-task baselines.
 */
public final class Evaluator {
  private Evaluator() {}

  /**
   * Metrics keyed {@code <task>.<metric>} (for PASCAL-Context {@code semseg.mIoU}, {@code human_parts.mIoU}, {@code
   * sal.mIoU}, {@code sal.maxF}, {@code normals.mean_angle}; percent for (m)IoU and maxF, degrees for angles), and
   * {@code delta_m} when {@code baselines} has every task's primary metric.
   */
  public static ImmutableMap<String, Double> evaluate(MultiTaskModel model, ParameterRegistry params,
      BatchSource batches, int numBatches, Map<String, Double> baselines) {
    MultiTaskModel.Graph g = model.build(GraphContext.evaluation(SameDiff.create(), params, DataType.FLOAT), false);
    Map<String, TaskMeter> meters = new LinkedHashMap<>();
    model.config().tasks().forEach(t -> meters.put(t.name(), t.newMeter()));
    for (int b = 0; b < numBatches; b++) {
      Map<String, INDArray> batch = batches.batch(b);
      Map<String, INDArray> out = g.predict(batch.get(MultiTaskModel.INPUT));
      for (Task t : model.config().tasks()) {
        INDArray target = batch.get(t.targetName());
        Preconditions.checkArgument(target != null, "evaluation batch %s has no '%s' (it has %s)", b, t.targetName(),
            batch.keySet());
        meters.get(t.name()).add(out.get(t.name()), target);
      }
    }
    Map<String, Double> metrics = new LinkedHashMap<>();
    Map<String, Double> forDelta = new LinkedHashMap<>();
    Map<String, Boolean> higherIsBetter = new LinkedHashMap<>();
    for (Task t : model.config().tasks()) {
      ImmutableMap<String, Double> r = meters.get(t.name()).results();
      r.forEach((k, v) -> metrics.put(t.name() + "." + k, v));
      forDelta.put(t.name(), r.get(t.primaryMetric()));
      higherIsBetter.put(t.name(), t.higherIsBetter());
    }
    if (baselines.keySet().containsAll(forDelta.keySet())) {
      metrics.put("delta_m", DeltaM.compute(forDelta, baselines, higherIsBetter));
    }
    return ImmutableMap.copyOf(metrics);
  }
}
