package org.mtlora.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mtlora.core.testing.Fixtures;

class NormalsValidClassesTest {
  @TempDir Path tmp;

  /** The default accepts exactly the 170 ids of the team's reference table and rejects 0 and the other 289. */
  @Test
  void referenceSetIsTheSharedTable() throws Exception {
    Path table = Fixtures.sharedDir().resolve("data/pascal-context/normals-valid-classes.tsv");
    Set<Integer> expected = new TreeSet<>();
    for (String line : Files.readAllLines(table, StandardCharsets.UTF_8)) {
      if (!line.isBlank() && !line.startsWith("#")) {
        expected.add(Integer.parseInt(line.split("\t")[0]));
      }
    }
    assertEquals(170, expected.size());
    NormalsValidClasses ref = NormalsValidClasses.reference();
    assertEquals(expected, ref.ids());
    int accepted = 0;
    int rejected = 0;
    for (int id = 0; id <= NormalsValidClasses.MAX_CLASS; id++) {
      assertEquals(expected.contains(id), ref.test(id), "class " + id);
      if (ref.test(id)) {
        accepted++;
      } else if (id > 0) {
        rejected++;
      }
    }
    assertEquals(170, accepted);
    assertEquals(289, rejected);
    assertFalse(ref.test(0), "0 (no class) never carries normals");
  }

  /** Hand-checked members (reference-spec §6): NYUD classes and tvmonitor in, VOC-only classes out. */
  @Test
  void referenceSetByHand() {
    NormalsValidClasses ref = NormalsValidClasses.reference();
    // tvmonitor, person, wall, floor, chair, car, cat, dog, sofa, table
    for (int id : List.of(427, 284, 440, 158, 72, 59, 65, 113, 368, 397)) {
      assertTrue(ref.test(id), "class " + id);
    }
    // no class; aeroplane, bird, boat, bus, cow, horse, motorbike, pottedplant, sheep, train; out of range
    for (int id : List.of(0, 2, 25, 31, 45, 98, 207, 258, 308, 347, 416, 460, -1)) {
      assertFalse(ref.test(id), "class " + id);
    }
  }

  @Test
  void readsTablesAndPlainLists() throws Exception {
    Path tsv = Files.writeString(tmp.resolve("classes.tsv"), "# comment\n3\tair conditioner\n\n427\ttvmonitor\n");
    assertEquals(Set.of(3, 427), NormalsValidClasses.read(tsv).ids());
    Path plain = Files.writeString(tmp.resolve("classes.txt"), "5\n 7 \n");
    assertEquals(Set.of(5, 7), NormalsValidClasses.read(plain).ids());
  }

  @Test
  void badFilesAreNamedWithTheLine() throws Exception {
    Path word = Files.writeString(tmp.resolve("word.txt"), "3\nchair\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NormalsValidClasses.read(word));
    assertTrue(e.getMessage().contains(word + " line 2") && e.getMessage().contains("'chair'"), e.getMessage());
    Path range = Files.writeString(tmp.resolve("range.txt"), "460\n");
    e = assertThrows(IllegalArgumentException.class, () -> NormalsValidClasses.read(range));
    assertTrue(e.getMessage().contains(range + " line 1") && e.getMessage().contains("[1, 459]"), e.getMessage());
    Path empty = Files.writeString(tmp.resolve("empty.txt"), "# nothing\n");
    e = assertThrows(IllegalArgumentException.class, () -> NormalsValidClasses.read(empty));
    assertTrue(e.getMessage().contains(empty + " lists no class id"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> NormalsValidClasses.read(tmp));
    assertTrue(e.getMessage().contains(tmp + ": expected a file"), e.getMessage());
  }
}
