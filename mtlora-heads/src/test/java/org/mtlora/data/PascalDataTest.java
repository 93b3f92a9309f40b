package org.mtlora.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

class PascalDataTest {
  @TempDir static Path root;

  @BeforeAll
  static void generate() throws IOException {
    SyntheticPascal.generate(root, 5, 2, 48, 1);
  }

  @Test
  void readsEveryFileOfTheLayout() throws IOException {
    PascalContextDataset ds = new PascalContextDataset(root, "train");
    assertEquals(5, ds.size());
    for (int i = 0; i < ds.size(); i++) {
      PascalSample s = ds.read(i);
      assertEquals(48, s.height());
      int cls = SyntheticPascal.CLASSES[i % SyntheticPascal.CLASSES.length];
      int objectPixels = 0;
      for (int p = 0; p < 48 * 48; p++) {
        int v = s.semseg()[p];
        assertTrue(v == 0 || v == cls || v == 255, "semseg holds palette indices: " + v);
        if (v == cls) {
          objectPixels++;
          assertEquals(1, s.sal()[p], "the object is salient");
        }
      }
      assertTrue(objectPixels > 50, "object present: " + objectPixels);
      if (cls == 15) {
        java.util.Set<Integer> groups = new java.util.TreeSet<>();
        for (int v : s.parts()) {
          groups.add(v);
        }
        assertEquals(java.util.Set.of(0, 1, 2, 3, 4, 5, 6), groups, "a person paints all six part groups");
      } else {
        for (int v : s.parts()) {
          assertEquals(255, v, "person-free images are ignored for parts");
        }
      }
      // the top rows are "unknown" in the label map: zero normals (ignored later); elsewhere unit-ish vectors
      assertEquals(0f, s.normals()[0]);
      int n = 48 * 48;
      int p = 47 * 48 + 2;
      double len = Math.sqrt(Math.pow(s.normals()[p], 2) + Math.pow(s.normals()[n + p], 2)
          + Math.pow(s.normals()[2 * n + p], 2));
      assertEquals(1.0, len, 0.02);
      // with the reference's normals-valid classes, object pixels keep their normals for car, cat and person
      // (context ids 59, 65, 284) and lose them for aeroplane and bird (2, 25: not NYUD-v2 classes)
      boolean objectNormalsKept = cls == 7 || cls == 8 || cls == 15;
      for (int q = 48 * 8; q < n; q++) {
        if (s.semseg()[q] == cls) {
          double norm = Math.abs(s.normals()[q]) + Math.abs(s.normals()[n + q]) + Math.abs(s.normals()[2 * n + q]);
          assertEquals(objectNormalsKept, norm > 0, "class " + cls + " pixel " + q);
        }
      }
    }
  }

  @Test
  void partsCacheIsWrittenOnFirstUseAndReused() throws IOException {
    new PascalContextDataset(root, "train");
    Path cache = root.resolve("ImageSets/Parts/train.txt");
    var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(cache.toFile());
    assertEquals(5, json.size());
    assertEquals(15, json.get("2026_000004").get(0).asInt(), "image 4 shows a person (class 15)");
    Files.writeString(cache, "{\"2026_000000\": [1]}");
    IOException e = assertThrows(IOException.class,
        () -> new PascalContextDataset(root, "train"));
    assertTrue(e.getMessage().contains("no class list for image 2026_000001"), e.getMessage());
    Files.delete(cache);
    new PascalContextDataset(root, "train");
    assertTrue(Files.exists(cache), "rebuilt");
  }

  /** A data set that cannot take the cache (here: ImageSets/Parts is a file) gets it in the fallback folder. */
  @Test
  void partsCacheOfAnUnwritableDataSetGoesToTheCacheFolder() throws IOException {
    Path copy = root.resolveSibling(root.getFileName() + "-readonly");
    copy(root, copy);
    if (Files.exists(copy.resolve("ImageSets/Parts"))) { // written by another test first, or not
      try (var walk = Files.walk(copy.resolve("ImageSets/Parts"))) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    Files.writeString(copy.resolve("ImageSets/Parts"), "not a folder");
    Path cacheRoot = copy.resolveSibling(copy.getFileName() + "-cache");
    String before = System.getProperty("mtlora.cache");
    System.setProperty("mtlora.cache", cacheRoot.toString());
    try {
      PascalContextDataset first = new PascalContextDataset(copy, "train");
      Path cached = PascalContextDataset.fallbackCacheDir(copy).resolve("train.txt");
      assertTrue(cached.startsWith(cacheRoot) && Files.exists(cached), cached.toString());
      Files.writeString(cached, "{\"2026_000000\": [1]}"); // read from there next time
      IOException e = assertThrows(IOException.class, () -> new PascalContextDataset(copy, "train"));
      assertTrue(e.getMessage().contains(cached.toString()), e.getMessage());
      assertEquals(5, first.size());
    } finally {
      if (before == null) {
        System.clearProperty("mtlora.cache");
      } else {
        System.setProperty("mtlora.cache", before);
      }
    }
  }

  @Test
  void batchesAreDeterministicAndShaped() {
    PascalBatches a = batches(7);
    PascalBatches b = batches(7);
    Map<String, INDArray> x = a.batch(3);
    assertEquals(x, b.batch(3), "same seed, same step, same batch");
    assertArrayEquals(new long[] {2, 3, 32, 32}, x.get("input").shape());
    assertArrayEquals(new long[] {2, 3, 32, 32}, x.get("target/normals").shape());
    assertArrayEquals(new long[] {2, 1, 32, 32}, x.get("target/semseg").shape());
    assertEquals(2, a.stepsPerEpoch(), "5 samples, batch 2, last partial batch dropped");
    // top rows ignored for normals after the resize
    assertEquals(255f, x.get("target/normals").getFloat(0, 0, 0, 0));
  }

  @Test
  void prefetchingChangesNothingButTime() {
    PascalBatches plain = batches(9);
    try (var pre = new org.mtlora.core.train.PrefetchingBatchSource(batches(9), 2, 1)) {
      for (long k = 0; k < 5; k++) {
        assertEquals(plain.batch(k), pre.batch(k), "step " + k);
      }
    }
  }

  @Test
  void multiDataSetIteratorServesEpochs() throws IOException {
    PascalContextDataset val = new PascalContextDataset(root, "val");
    var it = new PascalMultiDataSetIterator(new PascalBatches(val, 32, 3, 1, false), java.util.List.of("semseg",
        "normals"), false);
    int n = 0;
    long samples = 0;
    while (it.hasNext()) {
      var ds = it.next();
      assertEquals(2, ds.getLabels().length);
      assertArrayEquals(new long[] {ds.getFeatures(0).size(0), 3, 32, 32}, ds.getLabels(1).shape());
      samples += ds.getFeatures(0).size(0);
      n++;
    }
    assertEquals(1, n, "2 val images in batches of 3: one partial batch kept");
    assertEquals(2, samples);
    it.reset();
    assertTrue(it.hasNext());
    var train = new PascalMultiDataSetIterator(batches(1), java.util.List.of("sal"), true);
    int t = 0;
    while (train.hasNext()) {
      train.next();
      t++;
    }
    assertEquals(2, t, "5 training images in batches of 2: the partial batch is dropped");
  }

  private static PascalBatches batches(long seed) {
    try {
      return new PascalBatches(new PascalContextDataset(root, "train"), 32, 2, seed,
          true);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void missingAndCorruptFilesAreNamed() throws IOException {
    Path broken = root.resolveSibling(root.getFileName() + "-broken");
    copy(root, broken);
    PascalContextDataset ds = new PascalContextDataset(broken, "val");
    String id = ds.ids().get(0);
    Files.delete(broken.resolve("JPEGImages").resolve(id + ".jpg"));
    NoSuchFileException e1 = assertThrows(NoSuchFileException.class, () -> ds.read(0));
    assertTrue(e1.getMessage().contains(id + ".jpg"), e1.getMessage());
    String id2 = ds.ids().get(1);
    Files.writeString(broken.resolve("human_parts").resolve(id2 + ".mat"), "not a mat file");
    Files.deleteIfExists(broken.resolve("ImageSets/Parts/val.txt")); // the cache is rebuilt from the MAT files
    IOException e2 = assertThrows(IOException.class,
        () -> new PascalContextDataset(broken, "val"));
    assertTrue(e2.getMessage().contains(id2 + ".mat"), e2.getMessage());
    NoSuchFileException e3 = assertThrows(NoSuchFileException.class,
        () -> new PascalContextDataset(broken, "test"));
    assertTrue(e3.getMessage().contains("test.txt"), e3.getMessage());
  }

  /** Truncated or garbled images of every kind are errors naming the file, never silently decoded. */
  @Test
  void truncatedAndCorruptImagesAreErrorsNamingTheFile() throws IOException {
    Path broken = root.resolveSibling(root.getFileName() + "-truncated");
    copy(root, broken);
    PascalContextDataset ds = new PascalContextDataset(broken, "train");
    List<Path> damaged = List.of(broken.resolve("JPEGImages").resolve(ds.ids().get(0) + ".jpg"),
        broken.resolve("semseg/VOC12").resolve(ds.ids().get(1) + ".png"),
        broken.resolve("normals_distill").resolve(ds.ids().get(2) + ".png"),
        broken.resolve("sal_distill").resolve(ds.ids().get(3) + ".png"));
    for (int i = 0; i < damaged.size(); i++) {
      Path f = damaged.get(i);
      byte[] bytes = Files.readAllBytes(f);
      Files.write(f, java.util.Arrays.copyOf(bytes, bytes.length / 2)); // cut in half
      int sample = i;
      IOException e = assertThrows(IOException.class, () -> ds.read(sample), f.toString());
      assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }
    Path garbled = broken.resolve("JPEGImages").resolve(ds.ids().get(4) + ".jpg");
    Files.writeString(garbled, "not an image at all");
    IOException e = assertThrows(IOException.class, () -> ds.read(4));
    assertTrue(e.getMessage().contains(garbled.toString()) && e.getMessage().contains("not a readable image"),
        e.getMessage());
  }

  private static void copy(Path from, Path to) throws IOException {
    try (var walk = Files.walk(from)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
  }

  @Test
  void transformsFollowOpenCv() {
    // nearest: 4 -> 2 takes indices 0 and 2; 2 -> 4 repeats
    assertArrayEquals(new int[] {1, 3}, Transforms.resizeNearest(new int[] {1, 2, 3, 4}, 1, 4, 1, 2));
    assertArrayEquals(new int[] {5, 5, 6, 6}, Transforms.resizeNearest(new int[] {5, 6}, 1, 2, 1, 4));
    // bicubic keeps constants; interior values by hand from OpenCV's cubic coefficients (half-pixel centres)
    float[] c = Transforms.resizeBicubic(new float[] {7, 7, 7, 7}, 1, 2, 2, 3, 5);
    for (float v : c) {
      assertEquals(7f, v, 1e-5);
    }
    float[] ramp = Transforms.resizeBicubic(new float[] {0, 10, 20, 30}, 1, 1, 4, 1, 8);
    // source x = 1.25: OpenCV's weights at t = 0.25 (a = -0.75) are -0.10546875, 0.87890625, 0.26171875,
    // -0.03515625 on x = 0..3, so the value is 10 * (1 + 0.296875) (Keys' a = -0.75 does not reproduce ramps exactly)
    assertEquals(12.96875f, ramp[3], 1e-4);
    assertEquals(17.03125f, ramp[4], 1e-4); // source x = 1.75, the mirrored weights
    // flip mirrors and negates the normals' x
    PascalSample s = new PascalSample("x", 1, 2, new float[] {1, 2, 3, 4, 5, 6}, new int[] {1, 2}, new int[] {0, 3},
        new int[] {0, 1}, new float[] {0.6f, 0f, 0f, 0f, 0.8f, 1f});
    PascalSample f = Transforms.flipHorizontal(s);
    assertArrayEquals(new int[] {2, 1}, f.semseg());
    assertArrayEquals(new float[] {-0f, -0.6f, 0f, 0f, 1f, 0.8f}, f.normals());
    // normals: zero vectors become 255 (ignored), others unit length
    float[] fin = Transforms.finishNormals(new float[] {0, 3, 0, 0, 0, 4}); // pixels (0,0,0) and (3,0,4)
    assertArrayEquals(new float[] {255, 0.6f, 255, 0, 255, 0.8f}, fin, 1e-6f);
  }
}
