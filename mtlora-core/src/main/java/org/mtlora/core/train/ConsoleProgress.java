package org.mtlora.core.train;

import java.util.Locale;
import java.util.stream.Collectors;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A console progress bar: step, per-task losses, learning rate, steps per second and ETA (me.tongfei:progressbar). */
public final class ConsoleProgress implements TrainingListener {
  private final String title;
  private ProgressBar bar;

  public ConsoleProgress(String title) {
    this.title = title;
  }

  @Override
  public void onStart(long startStep, long totalSteps) {
    bar = new ProgressBarBuilder().setTaskName(title).setInitialMax(totalSteps).startsFrom(startStep,
            java.time.Duration.ZERO).setStyle(ProgressBarStyle.ASCII).showSpeed().setUnit(" steps", 1).build();
  }

  @Override
  public void onStep(StepResult r) {
    if (bar == null) {
      onStart(r.step(), r.totalSteps());
    }
    String losses = r.taskLosses().entrySet().stream()
        .map(e -> String.format(Locale.ROOT, "%s %.4f", e.getKey(), e.getValue())).collect(Collectors.joining(" "));
    bar.stepTo(r.step() + 1);
    bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f (%s) lr %.2e", r.totalLoss(), losses, r.lr()));
  }

  @Override
  public void onEnd() {
    if (bar != null) {
      bar.close();
      bar = null;
    }
  }

}
