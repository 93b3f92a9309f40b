package org.mtlora.core.train;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import org.mtlora.core.io.AtomicFiles;

/**
 * Appends one CSV row per step: {@code step,total_loss,<task losses...>,lr,grad_norm,seconds}. Flushed every row, so
 * the file is complete up to the last step even if the run dies. A run that starts at step k first cuts the file to
 * its rows of steps before k (atomically; a run from step 0 starts a new file), so the log holds exactly one row per
 * step however often the run was interrupted and resumed.
 */
public final class CsvLog implements TrainingListener {
  private final Path file;
  private BufferedWriter out;

  public CsvLog(Path file) {
    this.file = file;
  }

  @Override
  public void onStart(long startStep, long totalSteps) {
    closeWriter();
    try {
      if (startStep == 0) {
        Files.deleteIfExists(file);
      } else if (Files.exists(file)) {
        truncateTo(startStep);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot prepare the training log", e);
    }
  }

  /** Keeps the header and the rows of steps before {@code step}. */
  private void truncateTo(long step) throws IOException {
    StringBuilder kept = new StringBuilder();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      int comma = line.indexOf(',');
      String first = comma < 0 ? line : line.substring(0, comma);
      boolean keep;
      try {
        keep = Long.parseLong(first) < step;
      } catch (NumberFormatException e) {
        keep = first.equals("step"); // the header
      }
      if (keep) {
        kept.append(line).append('\n');
      }
    }
    byte[] bytes = kept.toString().getBytes(StandardCharsets.UTF_8);
    AtomicFiles.write(file, ch -> ch.write(java.nio.ByteBuffer.wrap(bytes)));
  }

  @Override
  public void onStep(StepResult r) {
    try {
      if (out == null) {
        boolean fresh = !Files.exists(file) || Files.size(file) == 0;
        Files.createDirectories(file.toAbsolutePath().getParent());
        out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
        if (fresh) {
          out.write("step,total_loss," + String.join(",", r.taskLosses().keySet().stream().map(t -> "loss_" + t)
              .toList()) + ",lr,grad_norm,seconds\n");
        }
      }
      StringBuilder sb = new StringBuilder();
      sb.append(r.step()).append(',').append(fmt(r.totalLoss()));
      r.taskLosses().values().forEach(v -> sb.append(',').append(fmt(v)));
      sb.append(',').append(fmt(r.lr())).append(',').append(fmt(r.gradNorm())).append(',')
          .append(String.format(Locale.ROOT, "%.4f", r.seconds())).append('\n');
      out.write(sb.toString());
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot write the training log", e);
    }
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%.8g", v);
  }

  @Override
  public void onEnd() {
    closeWriter();
  }

  private void closeWriter() {
    if (out != null) {
      try {
        out.close();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } finally {
        out = null;
      }
    }
  }
}
