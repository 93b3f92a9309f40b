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

/** Writes a PNG of the per-task and total loss curves (XChart) when the run ends. */
public final class LossPlot implements TrainingListener {
  private final Path file;
  private final List<Double> steps = new ArrayList<>();
  private final Map<String, List<Double>> series = new LinkedHashMap<>();

  public LossPlot(Path file) {
    this.file = file;
  }

  @Override
  public void onStep(StepResult r) {
    steps.add((double) r.step());
    series.computeIfAbsent("total", k -> new ArrayList<>()).add(r.totalLoss());
    r.taskLosses().forEach((t, v) -> series.computeIfAbsent(t, k -> new ArrayList<>()).add(v));
  }

  @Override
  public void onEnd() {
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
}
