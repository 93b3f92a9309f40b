package org.mtlora.core.graph;

import com.google.common.base.Preconditions;
import java.util.function.LongSupplier;
import org.bytedeco.javacpp.Pointer;

/**
 * When a repeated run's caller collects garbage: once resident memory has grown by more than a bound since the last
 * collection. ND4J frees an array's native memory only when Java's collector finds the array unreachable, and arrays
 * that lived through a run (its outputs, a step's gradients) may reach the old generation, which only a full
 * collection empties; an explicit collection after every run costs 40-60 ms of a 448 step or forward on two cores
 * (docs/performance.md, lever row "A full collection only when memory grew"). Replayed runs allocate little outside
 * their arena, so most runs now skip it, and resident memory stays within the bound of where it was.
 *
 * <p>The reference point is the lowest resident size seen since the last collection (memory is freed a moment after a
 * collection, by ND4J's deallocator thread, so the size right after it reads high). One instance per runner; not
 * thread-safe.
 */
public final class ResidentGrowth {
  private final long boundBytes;
  private final LongSupplier resident;
  private long lowest = Long.MAX_VALUE;
  private long collections;

  /**
   * Collections after growth of {@code boundBytes} of this process's resident memory ({@code 0}: after any growth).
   */
  public ResidentGrowth(long boundBytes) {
    this(boundBytes, Pointer::physicalBytes);
  }

  /**
   * @param boundBytes growth of {@code resident} after which {@link #afterRun} collects ({@code 0}: after any growth)
   * @param resident the process's resident memory in bytes
   */
  ResidentGrowth(long boundBytes, LongSupplier resident) {
    Preconditions.checkArgument(boundBytes >= 0, "boundBytes must be >= 0, got %s", boundBytes);
    this.boundBytes = boundBytes;
    this.resident = Preconditions.checkNotNull(resident, "resident");
  }

  /**
   * Call after each run: runs the garbage collector ({@link System#gc}) the first time and whenever resident memory
   * exceeds the lowest size seen since the last collection by more than the bound — or after every run where the
   * resident size reads 0 or less (not known). Returns whether it collected.
   */
  public boolean afterRun() {
    long now = resident.getAsLong();
    lowest = Math.min(lowest, now);
    // a size of 0 or less: not known on this platform, so collect after every run as before
    if (collections > 0 && now > 0 && now - lowest <= boundBytes) {
      return false;
    }
    System.gc();
    collections++;
    lowest = Long.MAX_VALUE;
    return true;
  }

  /** How many collections {@link #afterRun} has run. */
  public long collections() {
    return collections;
  }
}
