package org.mtlora.heads;

import com.google.common.base.Preconditions;
import java.awt.AlphaComposite;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.mtlora.data.Transforms;
import org.mtlora.tasks.Task;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Predictions as pictures: for one image, each task's own picture ({@link Task#picture}: class maps in the PASCAL
 * palette, saliency heat maps, normal maps), class maps also blended over the image, and one figure with the input
 * and every picture side by side, labelled.
 */
public final class PredictionPictures {
  private PredictionPictures() {}

  /** An image file as the model's input {@code [1, 3, size, size]}: resized (bilinear), ImageNet-normalised. */
  public static INDArray toInput(BufferedImage image, int size) {
    BufferedImage resized = resize(image, size);
    float[] planar = new float[3 * size * size];
    int n = size * size;
    for (int y = 0; y < size; y++) {
      for (int x = 0; x < size; x++) {
        int rgb = resized.getRGB(x, y);
        planar[y * size + x] = (rgb >> 16) & 0xff;
        planar[n + y * size + x] = (rgb >> 8) & 0xff;
        planar[2 * n + y * size + x] = rgb & 0xff;
      }
    }
    return Nd4j.createFromArray(Transforms.normaliseImage(planar)).reshape(1, 3, size, size);
  }

  /** {@code image} scaled to {@code size x size}, bilinear. */
  public static BufferedImage resize(BufferedImage image, int size) {
    BufferedImage out = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
    g.drawImage(image, 0, 0, size, size, null);
    g.dispose();
    return out;
  }

  /** A channel-planar RGB array ({@code [3][size*size]}, values 0..255) as an image. */
  public static BufferedImage fromPlanar(float[] planar, int size) {
    int n = size * size;
    Preconditions.checkArgument(planar.length == 3 * n, "expected %s values, found %s", 3 * n, planar.length);
    BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
    for (int i = 0; i < n; i++) {
      int r = clamp(planar[i]);
      int g = clamp(planar[n + i]);
      int b = clamp(planar[2 * n + i]);
      img.setRGB(i % size, i / size, (r << 16) | (g << 8) | b);
    }
    return img;
  }

  private static int clamp(float v) {
    return Math.max(0, Math.min(255, Math.round(v)));
  }

  /**
   * Writes the pictures of image {@code index} of a batch's outputs into {@code dir}: {@code <stem>_<task>.png},
   * {@code <stem>_<task>_overlay.png} for class maps, and {@code <stem>_figure.png}.
   *
   * @param input the image as the model saw it (its size)
   * @param outputs {@code out/<task>} by task name, {@code [B, K, S, S]}
   * @return the files written, figure last
   */
  public static List<Path> write(Path dir, String stem, BufferedImage input, List<Task> tasks,
      Map<String, INDArray> outputs, int index) throws IOException {
    Files.createDirectories(dir);
    List<Path> files = new ArrayList<>();
    Map<String, BufferedImage> panels = new LinkedHashMap<>();
    panels.put("input", input);
    for (Task t : tasks) {
      INDArray out = outputs.get(t.name());
      Preconditions.checkArgument(out != null, "no output for task %s (outputs: %s)", t.name(), outputs.keySet());
      BufferedImage picture = t.picture(out.slice(index));
      files.add(png(dir.resolve(stem + "_" + t.name() + ".png"), picture));
      panels.put(t.name(), picture);
      if (t.overlaysImage()) {
        BufferedImage overlay = overlay(resize(input, picture.getWidth()), picture);
        files.add(png(dir.resolve(stem + "_" + t.name() + "_overlay.png"), overlay));
        panels.put(t.name() + " (overlay)", overlay);
      }
    }
    files.add(png(dir.resolve(stem + "_figure.png"), figure(panels)));
    return files;
  }

  /** {@code top} blended half over {@code image}. */
  static BufferedImage overlay(BufferedImage image, BufferedImage top) {
    BufferedImage out = new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    g.drawImage(image, 0, 0, null);
    g.setComposite(AlphaComposite.getInstance(AlphaComposite.SRC_OVER, 0.5f));
    g.drawImage(top, 0, 0, null);
    g.dispose();
    return out;
  }

  /** The panels in one row, each with its label above, at least 160 pixels wide. */
  static BufferedImage figure(Map<String, BufferedImage> panels) {
    int side = Math.max(160, panels.values().stream().mapToInt(BufferedImage::getWidth).max().orElse(0));
    int label = 20;
    int gap = 8;
    BufferedImage out = new BufferedImage(panels.size() * (side + gap) + gap, side + label + 2 * gap,
        BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, out.getWidth(), out.getHeight());
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
    int x = gap;
    for (Map.Entry<String, BufferedImage> p : panels.entrySet()) {
      g.setColor(Color.BLACK);
      g.drawString(p.getKey(), x, gap + 13);
      g.drawImage(p.getValue(), x, gap + label, side, side, null);
      x += side + gap;
    }
    g.dispose();
    return out;
  }

  private static Path png(Path file, BufferedImage image) throws IOException {
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    if (!ImageIO.write(image, "png", tmp.toFile())) {
      throw new IOException("no PNG writer for " + file);
    }
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return file;
  }
}
