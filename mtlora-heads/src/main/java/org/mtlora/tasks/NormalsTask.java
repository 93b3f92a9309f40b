package org.mtlora.tasks;

import com.google.common.collect.ImmutableMap;
import java.util.SplittableRandom;
import org.mtlora.metrics.NormalsMeter;
import org.mtlora.metrics.TaskMeter;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Surface normals: three channels per pixel, L1 between the L2-normalised prediction and the unit target over valid
 * pixels (255 marks invalid ones), mean angular error in degrees (reference-spec §5, §7).
 */
record NormalsTask(String name, double defaultWeight) implements Task {
  @Override
  public int outputChannels() {
    return 3;
  }

  @Override
  public int targetChannels() {
    return 3;
  }

  @Override
  public SDVariable loss(SameDiff sd, SDVariable prediction, SDVariable target) {
    return Losses.normalsL1(sd, prediction, target);
  }

  @Override
  public TaskMeter newMeter() {
    NormalsMeter meter = new NormalsMeter();
    return new TaskMeter() {
      @Override
      public void add(INDArray prediction, INDArray target) {
        for (int i = 0; i < prediction.size(0); i++) {
          meter.add(prediction.slice(i).reshape(-1).toFloatVector(), target.slice(i).reshape(-1).toFloatVector());
        }
      }

      @Override
      public ImmutableMap<String, Double> results() {
        return ImmutableMap.of("mean_angle", meter.validPixels() == 0 ? Double.NaN : meter.meanAngle());
      }
    };
  }

  @Override
  public String primaryMetric() {
    return "mean_angle";
  }

  @Override
  public boolean higherIsBetter() {
    return false;
  }

  /** The normalised vectors as RGB {@code (n + 1) / 2}. */
  @Override
  public java.awt.image.BufferedImage picture(INDArray prediction) {
    return Pictures.normalMap(prediction);
  }

  /** Random unit vectors facing the camera ({@code z > 0}), every pixel valid. */
  @Override
  public INDArray randomTarget(int batch, int size, SplittableRandom random) {
    int plane = size * size;
    float[] v = new float[batch * 3 * plane];
    for (int n = 0; n < batch; n++) {
      for (int p = 0; p < plane; p++) {
        double x = random.nextDouble() - 0.5;
        double y = random.nextDouble() - 0.5;
        double z = random.nextDouble() + 0.1;
        double len = Math.sqrt(x * x + y * y + z * z);
        v[(n * 3) * plane + p] = (float) (x / len);
        v[(n * 3 + 1) * plane + p] = (float) (y / len);
        v[(n * 3 + 2) * plane + p] = (float) (z / len);
      }
    }
    return Nd4j.createFromArray(v).reshape(batch, 3, size, size);
  }
}
