package org.mtlora.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.ImmutableMap;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LossPlotTest {
  @TempDir Path tmp;

  private static StepResult step(long k, double loss) {
    return new StepResult(k, 4, ImmutableMap.of("semseg", loss / 2, "sal", loss / 4), loss, 1e-3, 1.0, 0.1);
  }

  /** A resumed run's plot, drawn from the log, shows every step of the run, not only the resumed ones. */
  @Test
  void aPlotFromTheLogCoversEarlierRunsSteps() throws Exception {
    Path log = tmp.resolve("log.csv");
    CsvLog first = new CsvLog(log);
    first.onStart(0, 4);
    first.onStep(step(0, 8));
    first.onStep(step(1, 6));
    first.onStep(step(2, 5)); // not checkpointed: redone by the resumed run
    first.onEnd();

    CsvLog csv = new CsvLog(log);
    LossPlot plot = LossPlot.fromLog(tmp.resolve("loss.png"), log);
    for (TrainingListener l : List.<TrainingListener>of(csv, plot)) {
      l.onStart(2, 4);
    }
    for (long k = 2; k < 4; k++) {
      StepResult r = step(k, 4 - k / 2.0);
      csv.onStep(r);
      plot.onStep(r);
    }
    csv.onEnd();
    plot.onEnd();
    assertEquals(List.of(0.0, 1.0, 2.0, 3.0), plot.plotted().get("step"));
    assertEquals(List.of(8.0, 6.0, 3.0, 2.5), plot.plotted().get("total"));
    assertEquals(List.of(4.0, 3.0, 1.5, 1.25), plot.plotted().get("semseg"));
    assertTrue(Files.size(tmp.resolve("loss.png")) > 0);
  }
}
