package org.mtlora.core.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.bytedeco.javacpp.BytePointer;
import org.junit.jupiter.api.Test;

class NativePagesTest {
  @Test
  void onLinuxThePagesOfARangeCanBeGivenBack() {
    assumeTrue(System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).startsWith("linux"));
    assertTrue(NativePages.available(), "madvise through JNA on Linux");
    long page = NativePages.pageSize();
    assertTrue(page >= 4096 && Long.bitCount(page) == 1, "a power of two: " + page);
  }

  @Test
  void wholePagesInsideTheRangeReadAsZerosAndTheBytesAroundThemKeepTheirValues() {
    assumeTrue(NativePages.available());
    long page = NativePages.pageSize();
    try (BytePointer memory = new BytePointer(6 * page)) {
      long base = memory.address();
      long firstPage = (base + page - 1) / page * page; // the first page boundary in the block
      for (long i = 0; i < 6 * page; i++) {
        memory.put(i, (byte) 7);
      }
      long from = firstPage - base + 100; // 100 bytes into the first whole page: that page is partial
      long to = from + 3 * page; // ends 100 bytes into a page: partial too
      assertTrue(NativePages.discard(base + from, to - from));
      for (long i = 0; i < 6 * page; i++) {
        long address = base + i;
        boolean inWholePage = address >= firstPage + page && address < firstPage + 3 * page;
        assertEquals(inWholePage ? 0 : 7, memory.get(i), "byte " + i);
      }
    }
  }

  @Test
  void aRangeWithoutAWholePageIsLeftAlone() {
    assumeTrue(NativePages.available());
    long page = NativePages.pageSize();
    try (BytePointer memory = new BytePointer(3 * page)) {
      for (long i = 0; i < 3 * page; i++) {
        memory.put(i, (byte) 5);
      }
      long firstPage = (memory.address() + page - 1) / page * page;
      assertFalse(NativePages.discard(firstPage + 1, page - 2), "less than a page");
      assertFalse(NativePages.discard(firstPage, 0), "empty");
      for (long i = 0; i < 3 * page; i++) {
        assertEquals(5, memory.get(i));
      }
    }
  }
}
