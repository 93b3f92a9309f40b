package org.mtlora.tasks;

import com.google.common.base.Preconditions;
import java.awt.image.BufferedImage;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Small pure functions that turn one image's prediction ({@code [K, H, W]}) into an RGB picture: class maps in the
 * PASCAL VOC palette, heat maps, normal maps, grey levels. Used by the tasks' {@link Task#picture}.
 */
public final class Pictures {
  private Pictures() {}

  /**
   * Colour of class {@code c} in the PASCAL VOC palette (the bit-interleaving rule of the VOC development kit: class 0
   * black, 1 dark red, 2 dark green, ...), as {@code 0xRRGGBB}.
   */
  public static int vocColour(int c) {
    int r = 0;
    int g = 0;
    int b = 0;
    int id = c;
    for (int j = 0; j < 8; j++) {
      r |= ((id) & 1) << (7 - j);
      g |= ((id >> 1) & 1) << (7 - j);
      b |= ((id >> 2) & 1) << (7 - j);
      id >>= 3;
    }
    return (r << 16) | (g << 8) | b;
  }

  /** Each pixel coloured by its most likely class ({@code argmax} over {@code [K, H, W]} logits). */
  public static BufferedImage classMap(INDArray logits) {
    int h = (int) logits.size(1);
    int w = (int) logits.size(2);
    int[] classes = logits.argMax(0).castTo(DataType.INT).reshape(-1).toIntVector();
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int i = 0; i < classes.length; i++) {
      img.setRGB(i % w, i / w, vocColour(classes[i]));
    }
    return img;
  }

  /** Values in [0, 1] ({@code [H, W]}) as a heat map: black, red, yellow, white. */
  public static BufferedImage heatMap(INDArray unit) {
    int h = (int) unit.size(0);
    int w = (int) unit.size(1);
    float[] v = unit.castTo(DataType.FLOAT).reshape(-1).toFloatVector();
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int i = 0; i < v.length; i++) {
      double t = Math.max(0, Math.min(1, v[i])) * 3;
      int r = (int) Math.round(255 * Math.min(1, t));
      int g = (int) Math.round(255 * Math.max(0, Math.min(1, t - 1)));
      int b = (int) Math.round(255 * Math.max(0, Math.min(1, t - 2)));
      img.setRGB(i % w, i / w, (r << 16) | (g << 8) | b);
    }
    return img;
  }

  /** Vectors ({@code [3, H, W]}, any length) normalised and shown as RGB {@code (n + 1) / 2}, the usual encoding. */
  public static BufferedImage normalMap(INDArray vectors) {
    Preconditions.checkArgument(vectors.size(0) == 3, "normals need 3 channels, found %s", vectors.size(0));
    int h = (int) vectors.size(1);
    int w = (int) vectors.size(2);
    float[] v = vectors.castTo(DataType.FLOAT).reshape(-1).toFloatVector();
    int n = h * w;
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int i = 0; i < n; i++) {
      double x = v[i];
      double y = v[n + i];
      double z = v[2 * n + i];
      double len = Math.max(Math.sqrt(x * x + y * y + z * z), 1e-12);
      int r = (int) Math.round(255 * (x / len + 1) / 2);
      int g = (int) Math.round(255 * (y / len + 1) / 2);
      int b = (int) Math.round(255 * (z / len + 1) / 2);
      img.setRGB(i % w, i / w, (r << 16) | (g << 8) | b);
    }
    return img;
  }

  /** The first channel of {@code [K, H, W]} as grey levels, scaled from its minimum to its maximum. */
  public static BufferedImage grey(INDArray prediction) {
    INDArray c = prediction.slice(0).castTo(DataType.FLOAT);
    double lo = c.minNumber().doubleValue();
    double hi = c.maxNumber().doubleValue();
    int h = (int) c.size(0);
    int w = (int) c.size(1);
    float[] v = c.reshape(-1).toFloatVector();
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int i = 0; i < v.length; i++) {
      int g = hi > lo ? (int) Math.round(255 * (v[i] - lo) / (hi - lo)) : 0;
      img.setRGB(i % w, i / w, (g << 16) | (g << 8) | g);
    }
    return img;
  }
}
