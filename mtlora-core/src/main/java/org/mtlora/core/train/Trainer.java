package org.mtlora.core.train;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mtlora.core.params.ParameterRegistry;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fine-tunes the trainable parameters of a {@link TrainableGraph}. One step: draw the random masks for {@code (seed,
 * step)}, forward in training mode, weighted loss, gradients of the trainable parameters only, NaN guard, global
 * gradient clipping, {@link AdamW} update with the learning rate of {@link LrSchedule#forIteration}; then the graph's
 * after-forward hook (batch-norm running statistics), listeners, and checkpoints.
 *
 * <p>A Trainer holds only settings and listeners and can run any number of times; each run's state lives in the graph,
 * the registry and the optimiser.
 */
public final class Trainer {
  private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

  private final TrainerConfig config;
  private final ImmutableList<TrainingListener> listeners;

  public Trainer(TrainerConfig config, List<TrainingListener> listeners) {
    this.config = Preconditions.checkNotNull(config, "config");
    this.listeners = ImmutableList.copyOf(listeners);
  }

  /** What a run ended with. */
  public record Result(long steps, double lastLoss, Path lastCheckpoint) {}

  /**
   * Trains from step 0, or from a checkpoint.
   *
   * @param resumeFrom a checkpoint written by this trainer for the same model, or null
   */
  public Result fit(TrainableGraph graph, BatchSource data, Path resumeFrom) throws IOException {
    return fit(StepEngine.local(graph, data), resumeFrom);
  }

  /**
   * Trains from step 0, or from a checkpoint, with the losses and gradients of {@code graph} (one machine, or
   * data-parallel shards): checkpoints are the same whatever the engine, so a run may resume on another one.
   *
   * @param resumeFrom a checkpoint written by this trainer for the same model, or null
   */
  public Result fit(StepEngine graph, Path resumeFrom) throws IOException {
    ParameterRegistry params = graph.params();
    graph.checkCurrent();
    List<String> trainable = params.trainableNames();
    Preconditions.checkArgument(!trainable.isEmpty(), "nothing to train: the freezing policy leaves no trainable "
        + "parameter");
    AdamW optimizer = config.newOptimizer();
    Map<String, INDArray> live = graph.trainableArrays();
    for (String name : trainable) {
      INDArray arr = live.get(name);
      Preconditions.checkState(arr != null, "trainable parameter %s is not a variable of the graph", name);
      optimizer.add(name, arr.shape(), AdamW.REFERENCE_DECAY.test(params.spec(name)), arr.dataType());
    }
    long start = 0;
    if (config.checkpointDir() != null) {
      int stale = Checkpoints.removeStaleTemporaries(config.checkpointDir());
      if (stale > 0) {
        LOG.info("removed {} partial checkpoint file(s) left by an interrupted write in {}", stale,
            config.checkpointDir());
      }
    }
    if (resumeFrom != null) {
      graph.syncToRegistry();
      String description = config.modelDescription().equals("{}") ? null : config.modelDescription();
      Checkpoints.State found = Checkpoints.validate(resumeFrom, params, description);
      Preconditions.checkArgument(found.seed() == config.seed(), "%s: checkpoint seed %s differs from the run's %s",
          resumeFrom, found.seed(), config.seed());
      Preconditions.checkArgument(found.step() <= config.totalSteps(), "%s: checkpoint of step %s is past the run's "
          + "last step %s", resumeFrom, found.step(), config.totalSteps());
      Checkpoints.State state = Checkpoints.read(resumeFrom, params, optimizer, description);
      for (String name : trainable) {
        live.get(name).assign(params.get(name));
      }
      graph.markCurrent(); // the checkpoint's values are now in both
      start = state.step();
      LOG.info("resumed from {} at step {}", resumeFrom, start);
    }
    long total = config.totalSteps();
    Path lastCheckpoint = resumeFrom;
    double lastLoss = Double.NaN;
    final long first = start;
    listeners.forEach(l -> l.onStart(first, total));
    try {
      for (long step = start; step < total; step++) {
        long t0 = System.nanoTime();
        TrainableGraph.Pass pass = graph.forwardBackward(step, config.seed());
        double totalLoss = pass.totalLoss();
        if (!Double.isFinite(totalLoss)) {
          throw diverged(step, totalLoss, pass.taskLosses(), graph, optimizer);
        }
        graph.afterForward();
        Map<String, INDArray> grads = new LinkedHashMap<>();
        for (String name : trainable) {
          INDArray g = pass.gradients().get(name);
          grads.put(name, g == null ? live.get(name).like() : g); // no path to the loss: zero gradient
        }
        double norm = config.clipNorm() > 0 ? GradientClipping.clip(grads, config.clipNorm())
            : GradientClipping.globalNorm(grads);
        double lr = config.schedule().forIteration(step);
        optimizer.update(live, grads, lr);
        lastLoss = totalLoss;
        ImmutableMap<String, Double> losses = pass.taskLosses();
        pass = null;
        grads.clear();
        graph.releaseMemory(); // frees the step's activations now rather than whenever the GC runs
        StepResult r = new StepResult(step, total, losses, totalLoss, lr, norm, (System.nanoTime() - t0) / 1e9);
        listeners.forEach(l -> l.onStep(r));
        long done = step + 1;
        if (config.checkpointDir() != null && (done % config.checkpointEvery() == 0 || done == total)) {
          lastCheckpoint = checkpoint(done, graph, optimizer);
        }
      }
    } finally {
      graph.syncToRegistry();
      listeners.forEach(TrainingListener::onEnd);
    }
    return new Result(total, lastLoss, lastCheckpoint);
  }

  private Path checkpoint(long done, StepEngine graph, AdamW optimizer) throws IOException {
    graph.syncToRegistry();
    Path file = Checkpoints.write(config.checkpointDir(), done, config.seed(), graph.params(), optimizer,
        config.modelDescription(), config.keepLast());
    listeners.forEach(l -> l.onCheckpoint(done, file));
    return file;
  }

  /** Keeps the last good state (this step's forward failed before any update) and names the step and the task. */
  private TrainingDivergedException diverged(long step, double total, Map<String, Double> losses,
      StepEngine graph, AdamW optimizer) throws IOException {
    String task = losses.entrySet().stream().filter(e -> !Double.isFinite(e.getValue())).map(Map.Entry::getKey)
        .findFirst().orElse("(total only)");
    Path kept = null;
    if (config.checkpointDir() != null) {
      kept = checkpoint(step, graph, optimizer);
    }
    return new TrainingDivergedException(String.format(java.util.Locale.ROOT,
        "step %d: the loss of task '%s' is %s (total %s); %s", step, task, losses.getOrDefault(task, total), total,
        kept == null ? "no checkpoint directory was configured" : "the last good state is saved in " + kept));
  }
}
