package org.mtlora.core.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Writes a PNG of the per-task and total loss curves (XChart) when the run ends: of the steps this run took, or — with
 * {@link #fromLog} — of every step in the run's {@link CsvLog}, so that a resumed run's plot shows the whole run.
 */
public final class LossPlot implements TrainingListener {
  private final Path file;
  private final Path log;
  private final List<Double> steps = new ArrayList<>();
  private final Map<String, List<Double>> series = new LinkedHashMap<>();

  /** Plots the steps this run takes. */
  public LossPlot(Path file) {
    this(file, null);
  }

  private LossPlot(Path file, Path log) {
    this.file = file;
    this.log = log;
  }

  /**
   * Plots every step of {@code log} (a {@link CsvLog} file, read when the run ends; list this listener after the
   * {@link CsvLog}), earlier runs' steps included.
   */
  public static LossPlot fromLog(Path file, Path log) {
    return new LossPlot(file, log);
  }

  @Override
  public void onStep(StepResult r) {
    if (log != null) {
      return; // drawn from the log when the run ends
    }
    steps.add((double) r.step());
    series.computeIfAbsent("total", k -> new ArrayList<>()).add(r.totalLoss());
    r.taskLosses().forEach((t, v) -> series.computeIfAbsent(t, k -> new ArrayList<>()).add(v));
  }

  @Override
  public void onEnd() {
    if (log != null && Files.exists(log)) {
      readLog();
    }
    if (steps.isEmpty()) {
      return;
    }
    XYChart chart = new XYChartBuilder().width(900).height(500).title("Training loss").xAxisTitle("step")
        .yAxisTitle("loss").build();
    chart.getStyler().setYAxisLogarithmic(series.values().stream().flatMap(List::stream).allMatch(v -> v > 0));
    series.forEach((name, values) -> chart.addSeries(name, steps, values).setMarker(SeriesMarkers.NONE));
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      String base = file.toString().endsWith(".png") ? file.toString().substring(0, file.toString().length() - 4)
          : file.toString();
      BitmapEncoder.saveBitmap(chart, base, BitmapEncoder.BitmapFormat.PNG);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot write the loss plot", e);
    }
  }

  /** Replaces the series with the log's: {@code total_loss} as "total", each {@code loss_<task>} as the task. */
  private void readLog() {
    List<String> lines;
    try {
      lines = Files.readAllLines(log);
    } catch (IOException e) {
      throw new UncheckedIOException(log + ": cannot read the training log for the loss plot", e);
    }
    if (lines.isEmpty()) {
      return;
    }
    String[] header = lines.get(0).split(",");
    steps.clear();
    series.clear();
    for (String line : lines.subList(1, lines.size())) {
      String[] v = line.split(",");
      if (v.length != header.length) {
        continue; // a row cut by a crash
      }
      steps.add(Double.parseDouble(v[0]));
      for (int i = 1; i < header.length; i++) {
        String name = header[i].equals("total_loss") ? "total"
            : header[i].startsWith("loss_") ? header[i].substring("loss_".length()) : null;
        if (name != null) {
          series.computeIfAbsent(name, k -> new ArrayList<>()).add(Double.parseDouble(v[i]));
        }
      }
    }
  }

  /** The plotted series after the run ended (for tests): step values under "step", then total and tasks. */
  Map<String, List<Double>> plotted() {
    Map<String, List<Double>> all = new LinkedHashMap<>();
    all.put("step", List.copyOf(steps));
    series.forEach((k, v) -> all.put(k, List.copyOf(v)));
    return all;
  }
}
