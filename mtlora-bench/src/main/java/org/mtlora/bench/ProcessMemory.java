package org.mtlora.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Resident-set figures of this process from {@code /proc/self/status} (Linux); -1 where unavailable. */
final class ProcessMemory {
  private ProcessMemory() {}

  /** Peak resident set size (VmHWM) in MiB. */
  static long peakRssMib() {
    return readKib("VmHWM:") / 1024;
  }

  /** Current resident set size (VmRSS) in MiB. */
  static long rssMib() {
    return readKib("VmRSS:") / 1024;
  }

  private static long readKib(String key) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith(key)) {
          return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1024;
    }
    return -1024;
  }
}
