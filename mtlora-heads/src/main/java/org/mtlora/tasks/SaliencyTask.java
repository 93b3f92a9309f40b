package org.mtlora.tasks;

import com.google.common.collect.ImmutableMap;
import java.util.SplittableRandom;
import org.mtlora.metrics.SaliencyMeter;
import org.mtlora.metrics.TaskMeter;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Saliency: one logit per pixel, the reference's balanced binary cross-entropy, saliency mIoU and maxF over the
 * thresholds of {@link SaliencyMeter} (reference-spec §5, §7).
 */
record SaliencyTask(String name, double defaultWeight) implements Task {
  @Override
  public int outputChannels() {
    return 1;
  }

  @Override
  public int targetChannels() {
    return 1;
  }

  @Override
  public SDVariable loss(SameDiff sd, SDVariable prediction, SDVariable target) {
    return Losses.balancedBce(sd, prediction, target);
  }

  @Override
  public TaskMeter newMeter() {
    SaliencyMeter meter = new SaliencyMeter();
    return new TaskMeter() {
      @Override
      public void add(INDArray prediction, INDArray target) {
        INDArray probability = Transforms.sigmoid(prediction, true);
        for (int i = 0; i < prediction.size(0); i++) {
          meter.add(probability.slice(i).reshape(-1).toFloatVector(),
              target.slice(i).reshape(-1).castTo(DataType.INT).toIntVector());
        }
      }

      @Override
      public ImmutableMap<String, Double> results() {
        return ImmutableMap.of("mIoU", 100 * meter.meanIou(), "maxF", 100 * meter.maxF());
      }
    };
  }

  @Override
  public String primaryMetric() {
    return "mIoU";
  }

  @Override
  public boolean higherIsBetter() {
    return true;
  }

  /** The saliency probability (sigmoid of the logit) as a heat map. */
  @Override
  public java.awt.image.BufferedImage picture(INDArray prediction) {
    return Pictures.heatMap(Transforms.sigmoid(prediction.slice(0), true));
  }

  @Override
  public INDArray randomTarget(int batch, int size, SplittableRandom random) {
    float[] v = new float[batch * size * size];
    for (int i = 0; i < v.length; i++) {
      v[i] = random.nextBoolean() ? 1 : 0;
    }
    return Nd4j.createFromArray(v).reshape(batch, 1, size, size);
  }
}
