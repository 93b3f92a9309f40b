package org.mtlora.data;

import com.google.common.base.Preconditions;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import us.hebi.matlab.mat.format.Mat5;
import us.hebi.matlab.mat.types.MatFile;
import us.hebi.matlab.mat.types.Matrix;
import us.hebi.matlab.mat.types.Struct;

/**
 * Writes a small synthetic data set in exactly the PASCAL-Context multi-task layout (real JPEG, palette PNG, MATLAB
 * v5 files through MFL, normals and saliency PNGs), so that tests and the demo run the real loader.
 *
 * <p>Each image shows one object on a textured, tilted background plane. The object's class decides its colour and
 * shape (so semantic segmentation is learnable from appearance); it is the salient region; a person (class 15) carries
 * six horizontal part bands (head, torso, upper arm, lower arm, upper leg, lower leg); the object is an ellipsoid whose
 * surface normals point out of the image, the background a plane with a per-image tilt. The PASCAL-Context label map
 * (459 classes) holds the object's context class, "wall" (440) for the background and 0 (no class) in the top rows of
 * every image; with the reference's normals-valid classes ({@link NormalsValidClasses#reference()}) the normals of the
 * top rows, aeroplanes and birds are ignored, those of walls, cars, cats and persons kept, as in the real data.
 */
public final class SyntheticPascal {
  /** The object classes used (VOC indices): aeroplane, bird, car, cat, person. */
  static final int[] CLASSES = {1, 3, 7, 8, 15};
  /** The PASCAL-Context label-map id of each VOC class in {@link #CLASSES} (reference-spec §6). */
  static final int[] CONTEXT_IDS = {2, 25, 59, 65, 284};
  /** The label-map id of the background: "wall", a class with valid normals. */
  static final int CONTEXT_WALL = 440;

  private SyntheticPascal() {}

  /** Writes {@code train + val} images of {@code size x size} under {@code root} (deterministic for a seed). */
  public static void generate(Path root, int train, int val, int size, long seed) throws IOException {
    Preconditions.checkArgument(train > 0 && val > 0 && size >= 16, "need train, val > 0 and size >= 16");
    for (String d : List.of("JPEGImages", "semseg/VOC12", "human_parts", "normals_distill", "sal_distill",
        "pascal-context/trainval", "ImageSets/Context")) {
      Files.createDirectories(root.resolve(d));
    }
    SplittableRandom rng = new SplittableRandom(seed);
    List<String> trainIds = new ArrayList<>();
    List<String> valIds = new ArrayList<>();
    for (int i = 0; i < train + val; i++) {
      String id = String.format("2026_%06d", i);
      writeSample(root, id, size, rng.split(), CLASSES[i % CLASSES.length]);
      (i < train ? trainIds : valIds).add(id);
    }
    Files.write(root.resolve("ImageSets/Context/train.txt"), trainIds, StandardCharsets.UTF_8);
    Files.write(root.resolve("ImageSets/Context/val.txt"), valIds, StandardCharsets.UTF_8);
  }

  private static int contextId(int vocClass) {
    for (int i = 0; i < CLASSES.length; i++) {
      if (CLASSES[i] == vocClass) {
        return CONTEXT_IDS[i];
      }
    }
    throw new IllegalArgumentException("no context id for VOC class " + vocClass);
  }

  private static void writeSample(Path root, String id, int s, SplittableRandom r, int cls) throws IOException {
    double cx = s * (0.35 + 0.3 * r.nextDouble());
    double cy = s * (0.4 + 0.25 * r.nextDouble());
    double rx = s * (0.18 + 0.12 * r.nextDouble());
    double ry = s * (cls == 15 ? 0.3 : 0.15 + 0.1 * r.nextDouble());
    double tiltX = 0.4 * (r.nextDouble() - 0.5);
    double tiltY = 0.4 * (r.nextDouble() - 0.5);
    int[] colour = colour(cls);
    BufferedImage rgb = new BufferedImage(s, s, BufferedImage.TYPE_INT_RGB);
    BufferedImage normals = new BufferedImage(s, s, BufferedImage.TYPE_INT_RGB);
    BufferedImage sal = new BufferedImage(s, s, BufferedImage.TYPE_BYTE_GRAY);
    BufferedImage seg = new BufferedImage(s, s, BufferedImage.TYPE_BYTE_INDEXED, palette());
    WritableRaster segRaster = seg.getRaster();
    Matrix labelMap = Mat5.newMatrix(s, s);
    Matrix objectMask = Mat5.newMatrix(s, s);
    Matrix[] partMasks = new Matrix[6];
    for (int p = 0; p < 6; p++) {
      partMasks[p] = Mat5.newMatrix(s, s);
    }
    int top = (int) Math.round(cy - ry);
    for (int y = 0; y < s; y++) {
      for (int x = 0; x < s; x++) {
        double dx = (x + 0.5 - cx) / rx;
        double dy = (y + 0.5 - cy) / ry;
        double d2 = cls == 1 || cls == 7 ? Math.max(dx * dx, dy * dy) : dx * dx + dy * dy; // boxes or ellipses
        boolean inside = d2 <= 1;
        double[] n;
        int[] c;
        double shade = 0.85 + 0.15 * Math.sin(0.7 * x) * Math.cos(0.5 * y);
        if (inside) {
          double nz = Math.sqrt(Math.max(0, 1 - Math.min(1, dx * dx + dy * dy)));
          n = unit(dx * 0.8, dy * 0.8, nz + 0.2);
          c = new int[] {clamp(colour[0] * shade + 10 * (r.nextDouble() - 0.5)),
              clamp(colour[1] * shade + 10 * (r.nextDouble() - 0.5)),
              clamp(colour[2] * shade + 10 * (r.nextDouble() - 0.5))};
          objectMask.setDouble(y, x, 1);
          if (cls == 15) {
            int band = Math.min(5, Math.max(0, (int) ((y - top) / (2 * ry) * 6)));
            partMasks[band].setDouble(y, x, 1);
          }
        } else {
          n = unit(tiltX, tiltY, 1);
          int g = clamp(90 + 60 * shade + 20 * (r.nextDouble() - 0.5));
          c = new int[] {g, clamp(g * 0.9), clamp(g * 0.8)};
        }
        rgb.setRGB(x, y, (c[0] << 16) | (c[1] << 8) | c[2]);
        normals.setRGB(x, y, (enc(n[0]) << 16) | (enc(n[1]) << 8) | enc(n[2]));
        sal.getRaster().setSample(x, y, 0, inside ? 255 : 0);
        boolean edge = inside && d2 > 0.85;
        segRaster.setSample(x, y, 0, edge ? 255 : inside ? cls : 0);
        labelMap.setDouble(y, x, y < s / 8 ? 0 : inside ? contextId(cls) : CONTEXT_WALL);
      }
    }
    ImageIO.write(rgb, "jpg", root.resolve("JPEGImages").resolve(id + ".jpg").toFile());
    ImageIO.write(seg, "png", root.resolve("semseg/VOC12").resolve(id + ".png").toFile());
    ImageIO.write(normals, "png", root.resolve("normals_distill").resolve(id + ".png").toFile());
    ImageIO.write(sal, "png", root.resolve("sal_distill").resolve(id + ".png").toFile());

    Struct objects = Mat5.newStruct(1, 1);
    objects.set("class", 0, Mat5.newString(cls == 15 ? "person" : "object"));
    objects.set("class_ind", 0, Mat5.newScalar(cls));
    objects.set("mask", 0, objectMask);
    String[] partNames = {"head", "torso", "luarm", "llarm", "luleg", "llleg"};
    Struct parts = Mat5.newStruct(1, cls == 15 ? 6 : 0);
    if (cls == 15) {
      for (int p = 0; p < 6; p++) {
        parts.set("part_name", p, Mat5.newString(partNames[p]));
        parts.set("mask", p, partMasks[p]);
      }
    }
    objects.set("parts", 0, parts);
    Struct anno = Mat5.newStruct();
    anno.set("imname", Mat5.newString(id + ".jpg"));
    anno.set("objects", objects);
    MatFile parts5 = Mat5.newMatFile().addArray("anno", anno);
    Mat5.writeToFile(parts5, root.resolve("human_parts").resolve(id + ".mat").toFile());
    MatFile context = Mat5.newMatFile().addArray("LabelMap", labelMap);
    Mat5.writeToFile(context, root.resolve("pascal-context/trainval").resolve(id + ".mat").toFile());
  }

  private static int[] colour(int cls) {
    switch (cls) {
      case 1:
        return new int[] {60, 90, 230};
      case 3:
        return new int[] {230, 200, 40};
      case 7:
        return new int[] {220, 40, 40};
      case 8:
        return new int[] {200, 110, 40};
      default:
        return new int[] {240, 170, 160};
    }
  }

  private static double[] unit(double x, double y, double z) {
    double n = Math.sqrt(x * x + y * y + z * z);
    return new double[] {x / n, y / n, z / n};
  }

  private static int enc(double v) {
    return clamp(Math.round((v + 1) / 2 * 255));
  }

  private static int clamp(double v) {
    return (int) Math.max(0, Math.min(255, Math.round(v)));
  }

  /** The 256-colour VOC palette (the colours do not matter to readers, who use the indices). */
  static IndexColorModel palette() {
    byte[] r = new byte[256];
    byte[] g = new byte[256];
    byte[] b = new byte[256];
    for (int i = 0; i < 256; i++) {
      int c = i;
      int rr = 0;
      int gg = 0;
      int bb = 0;
      for (int j = 0; j < 8; j++) {
        rr |= ((c >> 0) & 1) << (7 - j);
        gg |= ((c >> 1) & 1) << (7 - j);
        bb |= ((c >> 2) & 1) << (7 - j);
        c >>= 3;
      }
      r[i] = (byte) rr;
      g[i] = (byte) gg;
      b[i] = (byte) bb;
    }
    return new IndexColorModel(8, 256, r, g, b);
  }
}
