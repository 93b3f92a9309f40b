package org.mtlora.data;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.function.IntPredicate;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import us.hebi.matlab.mat.format.Mat5;
import us.hebi.matlab.mat.format.Mat5File;
import us.hebi.matlab.mat.types.Matrix;
import us.hebi.matlab.mat.types.Struct;

/**
 * Reads the PASCAL-Context multi-task layout (ASTMT's {@code PASCAL_MT}; reference-spec §6) under a root folder:
 *
 * <pre>
 *   ImageSets/Context/{train,val}.txt            image ids
 *   JPEGImages/&lt;id&gt;.jpg                         RGB image
 *   semseg/VOC12/&lt;id&gt;.png (else semseg/pascal-context/&lt;id&gt;.png)   palette PNG, the raw index is the class
 *   human_parts/&lt;id&gt;.mat                       struct anno: objects(i).class_ind, .mask, .parts(j).part_name, .mask
 *   normals_distill/&lt;id&gt;.png                   RGB, n = 2 v / 255 - 1
 *   sal_distill/&lt;id&gt;.png                       grey, salient where v / 255 &gt; 0.5
 *   pascal-context/trainval/&lt;id&gt;.mat           LabelMap (context classes), masks the normals
 *   ImageSets/Parts/{train,val}.txt              JSON {id: [object class ids]}, written on first use
 * </pre>
 *
 * Human parts: objects of class 15 (person) paint their part masks, in order, onto a zero map with the 6 groups of
 * the reference (head, torso, upper arm, lower arm, upper leg, lower leg); an image with no person part becomes all
 * 255. Normals are kept where the label map's class is accepted by {@code normalsValid} (by default the reference's 170
 * classes, {@link NormalsValidClasses}), else the zero vector (turned
 * into 255 after resizing, see {@link Transforms#finishNormals}). Every missing or
 * unreadable file raises an {@link IOException} naming the path and what was expected.
 */
public final class PascalContextDataset {
  /** VOC class index of a person. */
  public static final int PERSON = 15;

  /** Part name to human-part class (reference {@code HUMAN_PART[6]}). */
  static final ImmutableMap<String, Integer> PART_GROUPS = partGroups();

  private final Path root;
  private final ImmutableList<String> ids;
  private final IntPredicate normalsValid;
  private final ImmutableMap<String, List<Integer>> objectClasses;

  /**
   * A split whose normals are kept on the reference's 170 classes ({@link NormalsValidClasses#reference()}).
   *
   * @param root data set root
   * @param split {@code train} or {@code val} (reads {@code ImageSets/Context/<split>.txt})
   */
  public PascalContextDataset(Path root, String split) throws IOException {
    this(root, split, NormalsValidClasses.reference());
  }

  /**
   * @param root data set root
   * @param split {@code train} or {@code val} (reads {@code ImageSets/Context/<split>.txt})
   * @param normalsValid which label-map classes keep their normals (the reference's: {@link
   *     NormalsValidClasses#reference()})
   */
  public PascalContextDataset(Path root, String split, IntPredicate normalsValid) throws IOException {
    this.root = root;
    Path list = root.resolve("ImageSets").resolve("Context").resolve(split + ".txt");
    if (!Files.isRegularFile(list)) {
      throw new NoSuchFileException(list.toString(), null,
          "split file of '" + split + "' not found; is " + root + " a PASCAL-Context root?");
    }
    this.ids = Files.readAllLines(list, StandardCharsets.UTF_8).stream().map(String::trim).filter(s -> !s.isEmpty())
        .collect(ImmutableList.toImmutableList());
    Preconditions.checkArgument(!ids.isEmpty(), "%s lists no image", list);
    this.normalsValid = normalsValid;
    this.objectClasses = partsCache(split);
  }

  /**
   * The reference's parts cache {@code ImageSets/Parts/<split>.txt}: a JSON object mapping each image id to the class
   * ids of its annotated objects. Written atomically on first use (from the MAT files), read afterwards; images whose
   * list holds no person skip their MAT file. A data set that cannot be written (read-only) gets its cache in {@link
   * #fallbackCacheDir} instead.
   */
  private ImmutableMap<String, List<Integer>> partsCache(String split) throws IOException {
    Path inRoot = root.resolve("ImageSets").resolve("Parts").resolve(split + ".txt");
    Path fallback = fallbackCacheDir(root).resolve(split + ".txt");
    Path file = Files.exists(inRoot) || !Files.exists(fallback) ? inRoot : fallback;
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    ImmutableMap.Builder<String, List<Integer>> out = ImmutableMap.builder();
    if (Files.exists(file)) {
      com.fasterxml.jackson.databind.JsonNode node;
      try {
        node = json.readTree(file.toFile());
      } catch (IOException e) {
        throw new IOException(file + ": the parts cache is not valid JSON; delete it to rebuild it", e);
      }
      for (String id : ids) {
        com.fasterxml.jackson.databind.JsonNode classes = node.get(id);
        if (classes == null || !classes.isArray()) {
          throw new IOException(file + ": the parts cache has no class list for image " + id
              + "; delete it to rebuild it");
        }
        List<Integer> c = new java.util.ArrayList<>();
        classes.forEach(v -> c.add(v.asInt()));
        out.put(id, List.copyOf(c));
      }
      return out.buildOrThrow();
    }
    com.fasterxml.jackson.databind.node.ObjectNode root = json.createObjectNode();
    for (String id : ids) {
      Path mat = this.root.resolve("human_parts").resolve(id + ".mat");
      List<Integer> classes = new java.util.ArrayList<>();
      try (Mat5File f = readMat(mat)) {
        Struct objects = f.getStruct("anno").getStruct("objects");
        for (int o = 0; o < objects.getNumElements(); o++) {
          classes.add(objects.getMatrix("class_ind", o).getInt(0));
        }
      } catch (IllegalArgumentException | IllegalStateException | ClassCastException e) {
        throw new IOException(mat + ": expected a struct 'anno' with objects(i).class_ind (" + e.getMessage() + ")",
            e);
      }
      classes.forEach(root.putArray(id)::add);
      out.put(id, List.copyOf(classes));
    }
    byte[] bytes = json.writeValueAsBytes(root);
    try {
      org.mtlora.core.io.AtomicFiles.write(inRoot, ch -> ch.write(java.nio.ByteBuffer.wrap(bytes)));
    } catch (IOException readOnly) {
      org.mtlora.core.io.AtomicFiles.write(fallback, ch -> ch.write(java.nio.ByteBuffer.wrap(bytes)));
    }
    return out.buildOrThrow();
  }

  /**
   * Where the parts cache of a data set that cannot be written goes: {@code <cache>/parts/<16 hex digits of the
   * SHA-256 of the root's absolute path>/}, with {@code <cache>} the system property {@code mtlora.cache} or else
   * {@code ~/.cache/mtlora}.
   */
  static Path fallbackCacheDir(Path root) {
    String base = System.getProperty("mtlora.cache",
        Path.of(System.getProperty("user.home"), ".cache", "mtlora").toString());
    try {
      byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
          .digest(root.toAbsolutePath().normalize().toString().getBytes(StandardCharsets.UTF_8));
      return Path.of(base, "parts", java.util.HexFormat.of().formatHex(digest).substring(0, 16));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }

  public ImmutableList<String> ids() {
    return ids;
  }

  public int size() {
    return ids.size();
  }

  /** Decodes sample {@code i} at its original resolution. */
  public PascalSample read(int i) throws IOException {
    String id = ids.get(i);
    BufferedImage img = image(root.resolve("JPEGImages").resolve(id + ".jpg"), "an RGB JPEG image");
    int h = img.getHeight();
    int w = img.getWidth();
    int n = h * w;
    float[] rgb = new float[3 * n];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int p = img.getRGB(x, y);
        rgb[y * w + x] = (p >> 16) & 0xFF;
        rgb[n + y * w + x] = (p >> 8) & 0xFF;
        rgb[2 * n + y * w + x] = p & 0xFF;
      }
    }
    int[] semseg = paletteIndices(semsegPath(id), h, w);
    int[] parts;
    if (objectClasses.get(id).contains(PERSON)) {
      parts = parts(root.resolve("human_parts").resolve(id + ".mat"), h, w);
    } else {
      parts = new int[h * w];
      Arrays.fill(parts, 255); // no person: ignored for parts, without opening the MAT file
    }
    int[] sal = new int[n];
    Raster salRaster = sized(image(root.resolve("sal_distill").resolve(id + ".png"), "a greyscale saliency PNG"),
        root.resolve("sal_distill").resolve(id + ".png"), h, w).getRaster();
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        sal[y * w + x] = salRaster.getSample(x, y, 0) / 255.0 > 0.5 ? 1 : 0;
      }
    }
    float[] normals = normals(id, h, w);
    return new PascalSample(id, h, w, rgb, semseg, parts, sal, normals);
  }

  private Path semsegPath(String id) throws IOException {
    Path voc = root.resolve("semseg").resolve("VOC12").resolve(id + ".png");
    if (Files.exists(voc)) {
      return voc;
    }
    Path ctx = root.resolve("semseg").resolve("pascal-context").resolve(id + ".png");
    if (Files.exists(ctx)) {
      return ctx;
    }
    throw new NoSuchFileException(voc.toString(), ctx.toString(), "semantic segmentation PNG not found in either");
  }

  private float[] normals(String id, int h, int w) throws IOException {
    Path png = root.resolve("normals_distill").resolve(id + ".png");
    BufferedImage img = sized(image(png, "an RGB normals PNG"), png, h, w);
    Path mat = root.resolve("pascal-context").resolve("trainval").resolve(id + ".mat");
    int[] labels = intMatrix(mat, "LabelMap", h, w);
    int n = h * w;
    float[] out = new float[3 * n];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int i = y * w + x;
        if (!normalsValid.test(labels[i])) {
          continue; // zero vector: becomes 255 (ignored) after the transforms, as in the reference
        }
        int p = img.getRGB(x, y);
        out[i] = 2f * ((p >> 16) & 0xFF) / 255f - 1f;
        out[n + i] = 2f * ((p >> 8) & 0xFF) / 255f - 1f;
        out[2 * n + i] = 2f * (p & 0xFF) / 255f - 1f;
      }
    }
    return out;
  }

  private static int[] paletteIndices(Path png, int h, int w) throws IOException {
    BufferedImage img = sized(image(png, "a palette (indexed) PNG"), png, h, w);
    if (!(img.getColorModel() instanceof java.awt.image.IndexColorModel)) {
      throw new IOException(png + ": expected a palette (indexed) PNG holding class indices, found "
          + img.getColorModel().getClass().getSimpleName());
    }
    int[] out = new int[h * w];
    Raster r = img.getRaster();
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        out[y * w + x] = r.getSample(x, y, 0);
      }
    }
    return out;
  }

  private static int[] parts(Path mat, int h, int w) throws IOException {
    int[] map = new int[h * w];
    boolean any = false;
    try (Mat5File f = readMat(mat)) {
      Struct anno = f.getStruct("anno");
      Struct objects = anno.getStruct("objects");
      for (int o = 0; o < objects.getNumElements(); o++) {
        int cls = objects.getMatrix("class_ind", o).getInt(0);
        Struct parts = objects.getStruct("parts", o);
        if (cls != PERSON || parts.getNumElements() == 0) {
          continue;
        }
        for (int p = 0; p < parts.getNumElements(); p++) {
          String name = parts.getChar("part_name", p).getString();
          Integer group = PART_GROUPS.get(name);
          if (group == null) {
            throw new IOException(mat + ": unknown part name '" + name + "'; expected one of " + PART_GROUPS.keySet());
          }
          Matrix mask = parts.getMatrix("mask", p);
          checkDims(mat, "part mask", mask.getNumRows(), mask.getNumCols(), h, w);
          for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
              if (mask.getInt(y, x) != 0) {
                map[y * w + x] = group;
                any = true;
              }
            }
          }
        }
      }
    } catch (IllegalArgumentException | IllegalStateException | ClassCastException e) {
      throw new IOException(mat + ": expected a struct 'anno' with objects(i).class_ind, .mask and "
          + ".parts(j).part_name/.mask (" + e.getMessage() + ")", e);
    }
    if (!any) {
      Arrays.fill(map, 255); // AddIgnoreRegions: person-free images are ignored for parts
    }
    return map;
  }

  /** A numeric {@code h x w} variable of a MATLAB file, row-major; the file is closed before this returns. */
  private static int[] intMatrix(Path mat, String name, int h, int w) throws IOException {
    try (Mat5File f = readMat(mat)) {
      Matrix m;
      try {
        m = f.getMatrix(name);
      } catch (IllegalArgumentException | ClassCastException e) {
        throw new IOException(mat + ": expected a numeric variable '" + name + "' (" + e.getMessage() + ")", e);
      }
      checkDims(mat, name, m.getNumRows(), m.getNumCols(), h, w);
      int[] values = new int[h * w];
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          values[y * w + x] = m.getInt(y, x);
        }
      }
      return values;
    }
  }

  private static Mat5File readMat(Path mat) throws IOException {
    if (!Files.isRegularFile(mat)) {
      throw new NoSuchFileException(mat.toString(), null, "MATLAB v5 file not found");
    }
    try {
      return Mat5.readFromFile(mat.toFile());
    } catch (IOException | RuntimeException e) {
      throw new IOException(mat + ": not a readable MATLAB v5 file (" + e.getMessage() + ")", e);
    }
  }

  private static void checkDims(Path file, String what, int rows, int cols, int h, int w) throws IOException {
    if (rows != h || cols != w) {
      throw new IOException(file + ": " + what + " is " + rows + "x" + cols + ", the image is " + h + "x" + w);
    }
  }

  /**
   * Decodes an image strictly: a decoder warning (a truncated JPEG decodes to grey with only a warning in ImageIO) is
   * an error naming the file, as is any decoding failure.
   */
  static BufferedImage image(Path file, String expected) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new NoSuchFileException(file.toString(), null, expected + " not found");
    }
    try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
      Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
      if (readers == null || !readers.hasNext()) {
        throw new IOException(file + ": not a readable image, expected " + expected);
      }
      ImageReader reader = readers.next();
      List<String> warnings = new ArrayList<>();
      reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
      try {
        reader.setInput(in, true, true);
        BufferedImage img = reader.read(0);
        if (!warnings.isEmpty()) {
          throw new IOException(file + ": corrupt or truncated image (" + String.join("; ", warnings)
              + "), expected " + expected);
        }
        return img;
      } catch (IOException | RuntimeException e) {
        if (e.getMessage() != null && e.getMessage().startsWith(file.toString())) {
          throw e;
        }
        throw new IOException(file + ": corrupt image, expected " + expected + " (" + e + ")", e);
      } finally {
        reader.dispose();
      }
    }
  }

  private static BufferedImage sized(BufferedImage img, Path file, int h, int w) throws IOException {
    if (img.getHeight() != h || img.getWidth() != w) {
      throw new IOException(file + ": image is " + img.getHeight() + "x" + img.getWidth() + ", the JPEG is " + h + "x"
          + w);
    }
    return img;
  }

  private static ImmutableMap<String, Integer> partGroups() {
    ImmutableMap.Builder<String, Integer> b = ImmutableMap.builder();
    for (String s : List.of("hair", "head", "lear", "rear", "lebrow", "rebrow", "leye", "reye", "mouth", "nose")) {
      b.put(s, 1);
    }
    for (String s : List.of("torso", "neck")) {
      b.put(s, 2);
    }
    for (String s : List.of("luarm", "ruarm")) {
      b.put(s, 3);
    }
    for (String s : List.of("llarm", "rlarm", "lhand", "rhand")) {
      b.put(s, 4);
    }
    for (String s : List.of("luleg", "ruleg")) {
      b.put(s, 5);
    }
    for (String s : List.of("llleg", "rlleg", "lfoot", "rfoot")) {
      b.put(s, 6);
    }
    return b.buildOrThrow();
  }
}
