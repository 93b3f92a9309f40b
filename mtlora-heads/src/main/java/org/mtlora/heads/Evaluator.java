package org.mtlora.heads;

import com.google.common.collect.ImmutableMap;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mtlora.core.nn.GraphContext;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.BatchSource;
import org.mtlora.metrics.ConfusionMatrix;
import org.mtlora.metrics.DeltaM;
import org.mtlora.metrics.NormalsMeter;
import org.mtlora.metrics.SaliencyMeter;
import org.mtlora.tasks.Task;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Evaluates a multi-task model in evaluation mode (running batch-norm statistics, no dropout) over batches of
 * ground truth, with the reference's metrics: semseg and human-parts mIoU, saliency mIoU and maxF, normals mean
 * angular error, and Δm against single-task baselines.
 */
public final class Evaluator {
  private Evaluator() {}

  /**
   * Metrics, in percent for (m)IoU and maxF, degrees for normals: keys {@code semseg.mIoU}, {@code human_parts.mIoU},
   * {@code sal.mIoU}, {@code sal.maxF}, {@code normals.mean_angle}, and {@code delta_m} when every PASCAL task is
   * present.
   */
  public static ImmutableMap<String, Double> evaluate(MultiTaskModel model, ParameterRegistry params,
      BatchSource batches, int numBatches, Map<String, Double> baselines) {
    MultiTaskModel.Graph g = model.build(GraphContext.evaluation(SameDiff.create(), params, DataType.FLOAT), false);
    Map<String, ConfusionMatrix> seg = new LinkedHashMap<>();
    SaliencyMeter sal = new SaliencyMeter();
    NormalsMeter normals = new NormalsMeter();
    for (Task t : model.config().tasks()) {
      if (t.name().equals("semseg") || t.name().equals("human_parts")) {
        seg.put(t.name(), new ConfusionMatrix(t.outputChannels()));
      }
    }
    List<String> names = new ArrayList<>();
    g.outputs().values().forEach(v -> names.add(v.name()));
    for (int b = 0; b < numBatches; b++) {
      Map<String, INDArray> batch = batches.batch(b);
      Map<String, INDArray> out = g.sd().output(Map.of(MultiTaskModel.INPUT, batch.get(MultiTaskModel.INPUT)), names);
      org.mtlora.core.nn.SessionMemory.release(g.sd());
      int n = (int) batch.get(MultiTaskModel.INPUT).size(0);
      for (Task t : model.config().tasks()) {
        INDArray pred = out.get(g.outputs().get(t.name()).name());
        INDArray gt = batch.get("target/" + t.name());
        for (int i = 0; i < n; i++) {
          INDArray p = pred.slice(i);
          INDArray y = gt.slice(i);
          switch (t.name()) {
            case "semseg", "human_parts" -> seg.get(t.name()).add(p.argMax(0).reshape(-1).toIntVector(),
                y.reshape(-1).castTo(DataType.INT).toIntVector());
            case "sal" -> sal.add(Transforms.sigmoid(p, true).reshape(-1).toFloatVector(),
                y.reshape(-1).castTo(DataType.INT).toIntVector());
            case "normals" -> normals.add(p.reshape(-1).toFloatVector(), y.reshape(-1).toFloatVector());
            default -> throw new IllegalArgumentException("no metric for task " + t.name());
          }
        }
      }
    }
    Map<String, Double> metrics = new LinkedHashMap<>();
    Map<String, Double> forDelta = new LinkedHashMap<>();
    for (Task t : model.config().tasks()) {
      switch (t.name()) {
        case "semseg", "human_parts" -> {
          double v = 100 * seg.get(t.name()).meanIou();
          metrics.put(t.name() + ".mIoU", v);
          forDelta.put(t.name(), v);
        }
        case "sal" -> {
          double v = 100 * sal.meanIou();
          metrics.put("sal.mIoU", v);
          metrics.put("sal.maxF", 100 * sal.maxF());
          forDelta.put("sal", v);
        }
        case "normals" -> {
          double v = normals.validPixels() == 0 ? Double.NaN : normals.meanAngle();
          metrics.put("normals.mean_angle", v);
          forDelta.put("normals", v);
        }
        default -> throw new IllegalArgumentException("no metric for task " + t.name());
      }
    }
    if (baselines.keySet().containsAll(forDelta.keySet())) {
      metrics.put("delta_m", DeltaM.compute(forDelta, baselines, DeltaM.HIGHER_IS_BETTER));
    }
    return ImmutableMap.copyOf(metrics);
  }
}
