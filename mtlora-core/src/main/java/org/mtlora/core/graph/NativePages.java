package org.mtlora.core.graph;

import com.sun.jna.Function;
import com.sun.jna.Pointer;
import java.util.Locale;

/**
 * Gives the pages of a range of native memory back to the operating system while the range stays allocated: Linux's
 * {@code madvise(MADV_DONTNEED)} through JNA (which ND4J already brings, for OSHI). The range keeps its addresses; the
 * next write to a page maps a fresh zero-filled one. {@link Arena} uses it when the layout of its buffers is about to
 * change ({@link Arena#discardPagesAtReset}), so that the pages of the old layout do not stay resident beside those of
 * the new one. Elsewhere (another OS, no C library found) nothing is given back and {@link #discard} says so.
 */
final class NativePages {
  /** {@code MADV_DONTNEED} on Linux. */
  private static final int MADV_DONTNEED = 4;
  /** {@code _SC_PAGESIZE} on Linux. */
  private static final int SC_PAGESIZE = 30;
  private static final Function MADVISE;
  private static final long PAGE;

  static {
    Function madvise = null;
    long page = 0;
    if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) {
      try {
        page = Function.getFunction("c", "sysconf").invokeLong(new Object[] {SC_PAGESIZE});
        madvise = page > 0 && Long.bitCount(page) == 1 ? Function.getFunction("c", "madvise") : null;
      } catch (LinkageError | RuntimeException e) {
        // JNA's own native part or the C library not loadable (a read-only temp folder, say): pages stay resident, as
        // they would without this class, rather than a reset failing
        madvise = null;
      }
    }
    MADVISE = madvise;
    PAGE = madvise == null ? 0 : page;
  }

  private NativePages() {}

  /** The operating system's page size in bytes, or 0 where pages cannot be given back. */
  static long pageSize() {
    return PAGE;
  }

  /** Whether this JVM can give pages back (Linux with a C library JNA opens). */
  static boolean available() {
    return MADVISE != null;
  }

  /**
   * Gives back the whole pages inside {@code [address, address + bytes)}; the bytes of partial pages at either end
   * keep their values. Returns whether the pages were given back (false: not available here, no whole page in the
   * range, or the call failed, and every byte keeps its value); where it returns true those pages read as zeros from
   * then on (private anonymous memory, as {@code malloc} hands out).
   */
  static boolean discard(long address, long bytes) {
    if (MADVISE == null || bytes <= 0) {
      return false;
    }
    long start = (address + PAGE - 1) & -PAGE;
    long end = (address + bytes) & -PAGE;
    if (end <= start) {
      return false;
    }
    return MADVISE.invokeInt(new Object[] {new Pointer(start), end - start, MADV_DONTNEED}) == 0;
  }
}
