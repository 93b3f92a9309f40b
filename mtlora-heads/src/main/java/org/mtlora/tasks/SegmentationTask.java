package org.mtlora.tasks;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableMap;
import java.util.SplittableRandom;
import org.mtlora.metrics.ConfusionMatrix;
import org.mtlora.metrics.TaskMeter;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Per-pixel classification into K classes (semantic segmentation, human parts): cross-entropy over the non-ignored
 * pixels (target 255 is ignored), mean IoU over all K classes (reference-spec §5, §7).
 */
record SegmentationTask(String name, int outputChannels, double defaultWeight) implements Task {
  SegmentationTask {
    Preconditions.checkArgument(outputChannels > 1, "a segmentation task needs at least 2 classes, found %s",
        outputChannels);
  }

  @Override
  public int targetChannels() {
    return 1;
  }

  @Override
  public SDVariable loss(SameDiff sd, SDVariable prediction, SDVariable target) {
    return Losses.crossEntropy(sd, prediction, target, outputChannels);
  }

  @Override
  public TaskMeter newMeter() {
    ConfusionMatrix matrix = new ConfusionMatrix(outputChannels);
    return new TaskMeter() {
      @Override
      public void add(INDArray prediction, INDArray target) {
        matrix.add(prediction.argMax(1).reshape(-1).toIntVector(),
            target.reshape(-1).castTo(DataType.INT).toIntVector());
      }

      @Override
      public ImmutableMap<String, Double> results() {
        return ImmutableMap.of("mIoU", 100 * matrix.meanIou());
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

  /** The most likely class of each pixel in the PASCAL VOC palette. */
  @Override
  public java.awt.image.BufferedImage picture(INDArray prediction) {
    return Pictures.classMap(prediction);
  }

  @Override
  public boolean overlaysImage() {
    return true;
  }

  @Override
  public INDArray randomTarget(int batch, int size, SplittableRandom random) {
    float[] v = new float[batch * size * size];
    for (int i = 0; i < v.length; i++) {
      v[i] = random.nextInt(outputChannels);
    }
    return Nd4j.createFromArray(v).reshape(batch, 1, size, size);
  }
}
