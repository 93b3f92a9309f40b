package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** A collection the first time, then only once resident memory exceeds its lowest since the last one by the bound. */
class ResidentGrowthTest {
  private static final long MB = 1L << 20;

  @Test
  void collectsFirstThenOnlyAfterGrowthBeyondTheBound() {
    AtomicLong rss = new AtomicLong(1000 * MB);
    ResidentGrowth growth = new ResidentGrowth(32 * MB, rss::get);
    assertTrue(growth.afterRun()); // the first run: nothing measured yet
    rss.set(1200 * MB); // read a moment after the collection, before the deallocator freed the arrays
    assertFalse(growth.afterRun());
    rss.set(1100 * MB); // freed now: the reference point drops
    assertFalse(growth.afterRun());
    rss.set(1132 * MB); // exactly the bound above the lowest
    assertFalse(growth.afterRun());
    rss.set(1133 * MB);
    assertTrue(growth.afterRun());
    assertEquals(2, growth.collections());
    rss.set(1120 * MB); // after a collection the lowest starts again from the next reading
    assertFalse(growth.afterRun());
    rss.set(1150 * MB);
    assertFalse(growth.afterRun());
    rss.set(1153 * MB);
    assertTrue(growth.afterRun());
    assertEquals(3, growth.collections());
  }

  @Test
  void boundZeroCollectsAfterEveryGrowthAndNegativeIsRefused() {
    AtomicLong rss = new AtomicLong(10 * MB);
    ResidentGrowth every = new ResidentGrowth(0, rss::get);
    assertTrue(every.afterRun());
    assertFalse(every.afterRun()); // unchanged
    rss.addAndGet(1);
    assertTrue(every.afterRun());
    assertThrows(IllegalArgumentException.class, () -> new ResidentGrowth(-1, rss::get));
  }

  /** Where the platform does not tell the resident size (0), every run collects, as without the bound. */
  @Test
  void unknownResidentSizeCollectsAfterEveryRun() {
    ResidentGrowth growth = new ResidentGrowth(32 * MB, () -> 0L);
    for (int i = 0; i < 3; i++) {
      assertTrue(growth.afterRun());
    }
    assertEquals(3, growth.collections());
  }
}
