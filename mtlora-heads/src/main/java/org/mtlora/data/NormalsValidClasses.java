package org.mtlora.data;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableSortedSet;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.IntPredicate;

/**
 * Which PASCAL-Context label-map classes (ids 1..459 of {@code pascal-context/trainval/<id>.mat}) carry valid surface
 * normals. Pixels of every other class, and of class 0, get no normal target (reference-spec §6).
 *
 * <p>{@link #reference()} is the reference implementation's set and the default everywhere: the 170 context classes
 * whose name is also an NYUD-v2 class ('unknown' excluded), plus tvmonitor. It ships with the library as the resource
 * {@code org/mtlora/data/normals-valid-classes.tsv}. {@link #read(Path)} reads another set from a file in the same
 * format: one class id per line, optionally followed by a tab and a name; blank lines and lines starting with
 * {@code #} are skipped.
 */
public final class NormalsValidClasses implements IntPredicate {
  /** Class path of the reference set. */
  static final String RESOURCE = "normals-valid-classes.tsv";
  /** Highest PASCAL-Context label id. */
  public static final int MAX_CLASS = 459;

  private static final NormalsValidClasses REFERENCE = loadReference();

  private final ImmutableSortedSet<Integer> ids;
  private final String source;

  private NormalsValidClasses(ImmutableSortedSet<Integer> ids, String source) {
    this.ids = ids;
    this.source = source;
  }

  /** The reference implementation's 170 classes (the default). */
  public static NormalsValidClasses reference() {
    return REFERENCE;
  }

  /** The given class ids, each in [1, 459]. */
  public static NormalsValidClasses of(Iterable<Integer> ids) {
    ImmutableSortedSet<Integer> set = ImmutableSortedSet.copyOf(ids);
    for (int id : set) {
      Preconditions.checkArgument(id >= 1 && id <= MAX_CLASS,
          "normals-valid class ids must be PASCAL-Context label ids in [1, %s], found %s", MAX_CLASS, id);
    }
    return new NormalsValidClasses(set, "given ids");
  }

  /** Reads a set from {@code file} (format above); an unreadable line names the file, the line and what it holds. */
  public static NormalsValidClasses read(Path file) throws IOException {
    Preconditions.checkArgument(!Files.isDirectory(file), "%s: expected a file of class ids, found a directory",
        file);
    return parse(Files.readAllLines(file, StandardCharsets.UTF_8), file.toString());
  }

  private static NormalsValidClasses parse(List<String> lines, String source) {
    ImmutableSortedSet.Builder<Integer> ids = ImmutableSortedSet.naturalOrder();
    int n = 0;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).trim();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String first = line.split("\\s+", 2)[0];
      int id;
      try {
        id = Integer.parseInt(first);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(String.format(
            "%s line %d: expected a PASCAL-Context class id (optionally a tab and a name), found '%s'", source, i + 1,
            lines.get(i)));
      }
      Preconditions.checkArgument(id >= 1 && id <= MAX_CLASS,
          "%s line %s: class id %s is outside the PASCAL-Context label ids [1, %s]", source, i + 1, id, MAX_CLASS);
      ids.add(id);
      n++;
    }
    Preconditions.checkArgument(n > 0, "%s lists no class id", source);
    return new NormalsValidClasses(ids.build(), source);
  }

  private static NormalsValidClasses loadReference() {
    try (InputStream in = NormalsValidClasses.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("resource org/mtlora/data/" + RESOURCE + " is missing from the class path");
      }
      BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      return parse(r.lines().toList(), "the reference's normals-valid classes (resource " + RESOURCE + ")");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Whether pixels of label-map class {@code classId} keep their normals. */
  @Override
  public boolean test(int classId) {
    return ids.contains(classId);
  }

  /** The accepted ids, ascending. */
  public ImmutableSortedSet<Integer> ids() {
    return ids;
  }

  @Override
  public String toString() {
    return ids.size() + " normals-valid classes from " + source;
  }
}
