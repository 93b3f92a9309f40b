package org.mtlora.tasks;

import com.google.common.collect.ImmutableMap;
import java.util.SplittableRandom;
import org.mtlora.metrics.TaskMeter;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A fifth task defined outside the library, as a user would: monocular depth, one channel, L1 loss, RMSE metric
 * (lower is better). It exists only in the test tree: no main-code file knows it.
 */
public record DepthTask() implements Task {
  @Override
  public String name() {
    return "depth";
  }

  @Override
  public int outputChannels() {
    return 1;
  }

  @Override
  public int targetChannels() {
    return 1;
  }

  @Override
  public double defaultWeight() {
    return 1.0;
  }

  @Override
  public SDVariable loss(SameDiff sd, SDVariable prediction, SDVariable target) {
    return sd.mean(sd.math().abs(prediction.sub(target)));
  }

  @Override
  public TaskMeter newMeter() {
    return new TaskMeter() {
      private double squares;
      private long pixels;

      @Override
      public void add(INDArray prediction, INDArray target) {
        INDArray d = prediction.castTo(DataType.DOUBLE).sub(target.castTo(DataType.DOUBLE));
        squares += d.mul(d).sumNumber().doubleValue();
        pixels += d.length();
      }

      @Override
      public ImmutableMap<String, Double> results() {
        return ImmutableMap.of("rmse", pixels == 0 ? Double.NaN : Math.sqrt(squares / pixels));
      }
    };
  }

  @Override
  public String primaryMetric() {
    return "rmse";
  }

  @Override
  public boolean higherIsBetter() {
    return false;
  }

  /** Depths in [0.5, 5) metres. */
  @Override
  public INDArray randomTarget(int batch, int size, SplittableRandom random) {
    float[] v = new float[batch * size * size];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (0.5 + 4.5 * random.nextDouble());
    }
    return Nd4j.createFromArray(v).reshape(batch, 1, size, size);
  }
}
