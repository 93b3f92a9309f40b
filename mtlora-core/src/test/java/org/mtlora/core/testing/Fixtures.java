package org.mtlora.core.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Finds {@code ../shared} (passed by Surefire as the system property {@code mtlora.shared}). Where it is absent, a
 * fixture test is skipped with a message; where the environment variable {@code CI} is set it fails instead, so a
 * wrong path can never pass silently.
 */
public final class Fixtures {
  private Fixtures() {}

  /** The shared folder, or skip/fail as described above. */
  public static Path sharedDir() {
    String prop = System.getProperty("mtlora.shared");
    Path dir = prop == null ? Paths.get("..", "shared") : Paths.get(prop);
    if (!Files.isDirectory(dir.resolve("fixtures"))) {
      String why = "shared fixtures not found at " + dir.toAbsolutePath().normalize()
          + " (set -Dmtlora.shared=DIR or clone the project with shared/ beside it)";
      if (System.getenv("CI") != null) {
        fail(why + "; CI is set, so this is an error");
      }
      abort(why);
    }
    return dir;
  }

  /** {@code shared/fixtures/mtlora-tiny}. */
  public static Path tiny() {
    return sharedDir().resolve("fixtures").resolve("mtlora-tiny");
  }
}
