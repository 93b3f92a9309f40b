package org.mtlora.core.train;

import com.google.common.base.Preconditions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import org.mtlora.core.io.AtomicFiles;
import org.mtlora.core.io.JsonDifference;

/**
 * A training run's output folder ({@code checkpoints/}, {@code log.csv}, {@code run.json}, ...), held by one process
 * at a time.
 *
 * <p>{@link #open} checks everything before any work starts: the folder can be created and written (else the error
 * says why); no other process holds it (an OS file lock on {@code .lock}, released when the process ends, even by a
 * crash; the error names the holder's process id); and what the folder already holds fits the request:
 *
 * <ul>
 *   <li>{@link Existing#REFUSE}: a folder that holds checkpoints of an earlier run is refused (resume it, or choose
 *       another folder), so two runs never mix their checkpoints;
 *   <li>{@link Existing#RESUME}: the folder's {@code run.json} must describe the same run (the first difference is
 *       named otherwise); {@link #latestCheckpoint()} is where to continue;
 *   <li>{@link Existing#REPLACE}: checkpoints, log and plot of an earlier run are deleted first.
 * </ul>
 *
 * Stale temporary files of an interrupted checkpoint write are removed. The run's description is then written to
 * {@code run.json}.
 */
public final class RunFolder implements AutoCloseable {
  /** The lock file. */
  public static final String LOCK = ".lock";
  /** The run description. */
  public static final String RUN_FILE = "run.json";

  /** What to do with a folder that already holds a run. */
  public enum Existing {
    REFUSE,
    RESUME,
    REPLACE
  }

  private final Path dir;
  private final FileChannel lockChannel;
  private final FileLock lock;

  private RunFolder(Path dir, FileChannel lockChannel, FileLock lock) {
    this.dir = dir;
    this.lockChannel = lockChannel;
    this.lock = lock;
  }

  /**
   * Creates (if needed), checks, locks and prepares a run folder.
   *
   * @param runDescription a JSON object describing the run (model, seed, schedule), stored as {@code run.json}
   * @throws IOException naming the folder and the cause when it cannot be created or written, or is held by another
   *     process
   * @throws IllegalArgumentException when its contents do not fit {@code existing}
   */
  public static RunFolder open(Path dir, String runDescription, Existing existing) throws IOException {
    Preconditions.checkNotNull(existing, "existing");
    Path abs = dir.toAbsolutePath().normalize();
    if (Files.exists(abs) && !Files.isDirectory(abs)) {
      throw new IOException("run folder " + dir + " is a file, not a folder");
    }
    try {
      Files.createDirectories(abs);
      Path probe = Files.createTempFile(abs, ".write-test", ".tmp");
      Files.delete(probe);
    } catch (IOException e) {
      throw new IOException("run folder " + dir + " cannot be written: " + e, e);
    }
    FileChannel ch = FileChannel.open(abs.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      String holder = readHolder(ch);
      ch.close();
      throw new IOException("run folder " + dir + " is in use by process " + holder + " (lock " + abs.resolve(LOCK)
          + "); wait for that run to end or choose another folder");
    }
    RunFolder folder = new RunFolder(abs, ch, lock);
    try {
      ch.truncate(0);
      ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
      ch.force(false);
      folder.prepare(dir, runDescription, existing);
      return folder;
    } catch (IOException | RuntimeException e) {
      folder.close();
      throw e;
    }
  }

  private void prepare(Path shownAs, String runDescription, Existing existing) throws IOException {
    Path runFile = dir.resolve(RUN_FILE);
    Optional<Path> latest = latestCheckpoint();
    switch (existing) {
      case REFUSE:
        if (latest.isPresent()) {
          throw new IllegalArgumentException("run folder " + shownAs + " already holds checkpoints of a run (newest: "
              + latest.get().getFileName() + "); continue it with --resume auto, or choose another folder");
        }
        break;
      case RESUME:
        if (Files.exists(runFile)) {
          String stored = Files.readString(runFile, StandardCharsets.UTF_8);
          JsonDifference.between(stored, runDescription).ifPresent(d -> {
            throw new IllegalArgumentException("run folder " + shownAs + " holds a run of another configuration ("
                + RUN_FILE + " vs this run " + d + "); resume with the same options, or choose another folder");
          });
        }
        break;
      case REPLACE:
        deleteEarlierRun();
        break;
      default:
        throw new AssertionError(existing);
    }
    Checkpoints.removeStaleTemporaries(checkpoints());
    byte[] bytes = runDescription.getBytes(StandardCharsets.UTF_8);
    AtomicFiles.write(runFile, c -> c.write(ByteBuffer.wrap(bytes)));
  }

  private void deleteEarlierRun() throws IOException {
    if (Files.isDirectory(checkpoints())) {
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(checkpoints(), "*checkpoint-*")) {
        for (Path p : ds) {
          Files.deleteIfExists(p);
        }
      }
    }
    Files.deleteIfExists(log());
  }

  private static String readHolder(FileChannel ch) {
    try {
      ByteBuffer b = ByteBuffer.allocate(64);
      int n = ch.read(b, 0);
      String pid = n <= 0 ? "" : new String(b.array(), 0, n, StandardCharsets.UTF_8).trim();
      return pid.isEmpty() ? "(unknown)" : pid;
    } catch (IOException e) {
      return "(unknown)";
    }
  }

  /** The folder. */
  public Path dir() {
    return dir;
  }

  /** {@code checkpoints/} inside the folder. */
  public Path checkpoints() {
    return dir.resolve("checkpoints");
  }

  /** {@code log.csv} inside the folder. */
  public Path log() {
    return dir.resolve("log.csv");
  }

  /** The newest checkpoint in {@link #checkpoints()}, if any. */
  public Optional<Path> latestCheckpoint() throws IOException {
    return Optional.ofNullable(Checkpoints.latest(checkpoints()));
  }

  /** Releases the lock (the lock file stays, naming the last holder). */
  @Override
  public void close() throws IOException {
    try {
      if (lock.isValid()) {
        lock.release();
      }
    } finally {
      lockChannel.close();
    }
  }
}
