package org.mtlora.bench;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checks of command-line values, run before any work; each failure is one {@link IllegalArgumentException} whose
 * message names the option, what was expected and what was found.
 */
final class OptionChecks {
  private OptionChecks() {}

  /** {@code option} must be at least {@code min}. */
  static void atLeast(String option, long value, long min) {
    if (value < min) {
      throw new IllegalArgumentException(option + " must be >= " + min + ", found " + value);
    }
  }

  /** The size and timing options the benchmark commands share. */
  static void benchmark(int sharedRank, int taskRank, int imgSize, int batch, int iters, int warmup) {
    atLeast("--shared-rank", sharedRank, 1);
    atLeast("--task-rank", taskRank, 1);
    atLeast("--img-size", imgSize, 1);
    atLeast("--batch", batch, 1);
    atLeast("--iters", iters, 1);
    atLeast("--warmup", warmup, 0);
  }

  /** {@code option} must name an existing regular file. */
  static void file(String option, Path path, String expected) {
    if (path == null) {
      throw new IllegalArgumentException(option + " is required: " + expected);
    }
    if (Files.isDirectory(path)) {
      throw new IllegalArgumentException(option + " " + path + " is a directory; expected " + expected);
    }
    if (!Files.isRegularFile(path)) {
      throw new IllegalArgumentException(option + " " + path + " does not exist; expected " + expected);
    }
  }

  /** {@code option} must name an existing folder. */
  static void folder(String option, Path path, String expected) {
    if (Files.isRegularFile(path)) {
      throw new IllegalArgumentException(option + " " + path + " is a file; expected " + expected);
    }
    if (!Files.isDirectory(path)) {
      throw new IllegalArgumentException(option + " " + path + " does not exist; expected " + expected);
    }
  }

  /** Runs {@code check}; an {@link IllegalArgumentException} it throws is re-thrown naming {@code option}. */
  static <T> T named(String option, String value, java.util.function.Supplier<T> check) {
    try {
      return check.get();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(option + " " + value + ": " + e.getMessage(), e);
    }
  }
}
