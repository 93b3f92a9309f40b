package org.mtlora.bench;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.mtlora.core.graph.VectorKernels;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.LrSchedule;
import org.mtlora.core.train.StepResult;
import org.mtlora.core.train.SegmentChain;
import org.mtlora.core.train.Trainer;
import org.mtlora.core.train.TrainerConfig;
import org.mtlora.heads.ActivationCheckpointing;
import org.nd4j.autodiff.listeners.profiler.ProfilingListener;
import org.nd4j.autodiff.listeners.profiler.comparison.ProfileAnalyzer;
import org.mtlora.heads.InferenceModel;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.tasks.Task;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mtlora bench}: times the whole multi-task model on random inputs and valid random targets, after warm-up:
 * the evaluation forward, or the full training step (forward + loss + gradients + AdamW update). Prints one line per
 * iteration and, last, one JSON line.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Time the multi-task model: evaluation forward or training step, with peak RSS; ends with a JSON line.")
final class BenchCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @CommandLine.Mixin ModelOptions options;

  @Option(names = "--batch", defaultValue = "2", description = "batch size (default ${DEFAULT-VALUE})")
  int batch;

  @Option(names = "--mode", defaultValue = "train", description = "train (full step) or eval (forward)")
  String mode;

  @Option(names = "--activation-checkpointing", defaultValue = "auto",
      description = "train mode: auto, none, stage or block (default ${DEFAULT-VALUE}, as train)")
  String checkpointing;

  @Option(names = "--profile", description = "write SameDiff's per-op trace of the timed iterations to this file "
      + "(Chrome trace format) and print the ops that took the most time")
  Path profile;

  @Option(names = "--merged", description = "eval mode: time the merged inference model (adapters folded into the "
      + "weights where no task path needs them)")
  boolean merged;

  @Option(names = "--task", description = "eval mode: time the merged single-task model of this task")
  String task;

  private long peakRss = -1;
  private double mergeError = Double.NaN;

  @Option(names = "--gelu-scale", defaultValue = "1", description = "multiply the first layer of every MLP (fc1 weight "
      + "and bias) by this factor, so that the GELU inputs are that many times larger. The random initialisation keeps "
      + "them near zero (erf arguments of RMS 0.21 at Swin-T 448), where libnd4j's scalar erf takes its fast branch; a "
      + "trained network's are larger, and 5 gives an RMS of about 1 (default ${DEFAULT-VALUE}: the initialisation as "
      + "it is; docs/performance.md)")
  double geluScale;

  @Option(names = "--iters", defaultValue = "3", description = "timed iterations (default ${DEFAULT-VALUE})")
  int iters;

  @Option(names = "--warmup", defaultValue = "1", description = "untimed iterations first (default ${DEFAULT-VALUE})")
  int warmup;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    options.validate();
    OptionChecks.benchmark(options.sharedRank, options.taskRank, options.imgSize, batch, iters, warmup);
    if (!(geluScale > 0) || Double.isInfinite(geluScale)) {
      throw new IllegalArgumentException("--gelu-scale must be a finite number > 0, found " + geluScale);
    }
    if ((merged || task != null) && !mode.equals("eval")) {
      throw new IllegalArgumentException("--merged and --task time inference models: they need --mode eval");
    }
    if (!mode.equals("train") && !mode.equals("eval")) {
      throw new IllegalArgumentException("--mode must be train or eval, found '" + mode + "'");
    }
    ActivationCheckpointing requested = ActivationCheckpointing.named(checkpointing);
    ActivationCheckpointing recompute = requested.resolve(options.config(), batch);
    MultiTaskModel model = new MultiTaskModel(options.config());
    ParameterRegistry params = model.newRegistry(0);
    int scaled = scaleMlpInputs(params, geluScale);
    out.printf(Locale.ROOT, "bench %s: %s, batch %d, %,d trainable of %,d parameters%s%s%n", mode, options.describe(),
        batch, params.report().trainableParameters(), params.report().totalParameters(),
        geluScale == 1 ? "" : String.format(Locale.ROOT, ", %d fc1 tensors scaled by %s", scaled, geluScale),
        mode.equals("train") ? ", activation checkpointing "
            + ActivationCheckpointing.describe(requested, options.config(), batch) : "");
    out.flush();
    Map<String, INDArray> data = randomBatch(model, batch, 0);
    boolean train = mode.equals("train");
    List<Double> times = new ArrayList<>();
    int total = warmup + iters;
    if (train) {
      LrSchedule schedule = new LrSchedule(1e-4, 1e-4, 1e-4, 0, total);
      SegmentChain g = model.trainingGraph(params, DataType.FLOAT, recompute);
      attachProfiler(g.graphs());
      new Trainer(TrainerConfig.builder(schedule).build(), List.of((StepResult r) -> {
        record(out, r.step(), r.seconds(), times);
      })).fit(g, step -> data, null);
    } else if (merged || task != null) {
      randomiseAdapterB(params); // B is 0 at initialisation: make the merged deltas real
      InferenceModel inference = task == null ? InferenceModel.merged(model.config(), params)
          : OptionChecks.named("--task", task, () -> InferenceModel.singleTask(model.config(), params, task));
      Map<String, INDArray> last = null;
      for (int i = 0; i < total; i++) {
        long t0 = System.nanoTime();
        last = inference.predict(data.get(MultiTaskModel.INPUT));
        record(out, i, (System.nanoTime() - t0) / 1e9, times);
      }
      peakRss = ProcessMemory.peakRssMib(); // before the unmerged forward below
      mergeError = maxDifference(model, params, data.get(MultiTaskModel.INPUT), last);
      out.printf(Locale.ROOT, "max |merged - unmerged| over the outputs: %.3g%n", mergeError);
    } else {
      MultiTaskModel.Graph g = model.build(GraphContext.evaluation(SameDiff.create(), params, DataType.FLOAT), false);
      attachProfiler(List.of(g.sd()));
      out.printf(Locale.ROOT, "graph built (rss %d MiB)%n", ProcessMemory.rssMib());
      for (int i = 0; i < total; i++) {
        long t0 = System.nanoTime();
        g.predict(data.get(MultiTaskModel.INPUT));
        record(out, i, (System.nanoTime() - t0) / 1e9, times);
      }
    }
    printProfile(out);
    if (peakRss < 0) {
      peakRss = ProcessMemory.peakRssMib();
    }
    double[] sorted = times.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    String variant = train ? "training" : task != null ? "merged-" + task : merged ? "merged" : "unmerged";
    out.printf(Locale.ROOT, "{\"bench\":\"model\",\"variant\":\"%s\",\"mode\":\"%s\",\"backbone\":\"%s\",\"img_size\":%d,\"policy\":\"%s\",\"checkpointing\":\"%s\","
            + "\"shared_rank\":%d,\"task_rank\":%d,\"tasks\":%d,\"batch\":%d,\"median_s\":%.4f,\"min_s\":%.4f,"
            + "\"max_s\":%.4f,\"peak_rss_mb\":%d,\"max_abs_diff_vs_unmerged\":%.3g,\"backend\":\"%s\","
            + "\"threads\":%d,\"blas_threads\":%d,\"gelu_scale\":%s,\"vector_kernels\":\"%s\",\"collector\":\"%s\"}%n",
        variant, mode, options.backbone, options.imgSize, options.method().label(), train ? recompute.label() : "none",
        options.sharedRank, options.taskRank, options.tasks.size(), batch,
        sorted.length == 0 ? Double.NaN : sorted[sorted.length / 2], sorted.length == 0 ? Double.NaN : sorted[0],
        sorted.length == 0 ? Double.NaN : sorted[sorted.length - 1], peakRss, mergeError,
        Nd4j.getBackend().getClass().getSimpleName(), Nd4j.getEnvironment().maxThreads(),
        Nd4j.factory().blas().getMaxThreads(), geluScale, VectorKernels.describe(), InfoCommand.collector());
    out.flush();
    return 0;
  }

  private void attachProfiler(List<SameDiff> graphs) {
    if (profile == null) {
      return;
    }
    // one listener for all graphs, so that a step's ops land in one trace (warm-up iterations included)
    ProfilingListener listener = ProfilingListener.builder(profile.toFile()).recordAll().build();
    graphs.forEach(sd -> sd.addListeners(listener));
  }

  private void printProfile(PrintWriter out) {
    if (profile != null) {
      out.println(ProfileAnalyzer.summarizeProfileStr(profile.toFile(), ProfileAnalyzer.ProfileFormat.SAMEDIFF));
    }
  }

  private void record(PrintWriter out, long i, double seconds, List<Double> times) {
    boolean timed = i >= warmup;
    out.printf(Locale.ROOT, "%s %d: %.3f s (rss %d MiB, peak %d MiB)%n", timed ? "iter" : "warmup",
        timed ? i - warmup : i, seconds, ProcessMemory.rssMib(), ProcessMemory.peakRssMib());
    out.flush();
    if (timed) {
      times.add(seconds);
    }
  }

  /**
   * Multiplies the pretrained weight and bias of every MLP's first layer ({@code mlp.fc1.linear.*}) by {@code k}: the
   * shared stream's GELU inputs become {@code k} times larger, and the task streams' too while their adapters' B are 0
   * (as at initialisation). Returns how many tensors it scaled.
   */
  static int scaleMlpInputs(ParameterRegistry params, double k) {
    int n = 0;
    for (var spec : params.specs()) {
      if (spec.name().contains("mlp.fc1.linear.")) {
        if (k != 1) {
          params.assign(spec.name(), params.get(spec.name()).mul(k));
        }
        n++;
      }
    }
    return n;
  }

  /** Every task-agnostic and task-specific B matrix set to N(0, 0.02^2) values drawn from a fixed seed. */
  private static void randomiseAdapterB(ParameterRegistry params) {
    Nd4j.getRandom().setSeed(7);
    params.specs().stream().filter(s -> s.name().contains("lora_shared_B") || s.name().contains("lora_tasks_B"))
        .forEach(s -> params.assign(s.name(), Nd4j.randn(DataType.FLOAT, s.shape()).muli(0.02)));
  }

  /** The largest absolute difference between the merged outputs and the unmerged evaluation forward's. */
  private static double maxDifference(MultiTaskModel model, ParameterRegistry params, INDArray input,
      Map<String, INDArray> merged) {
    Map<String, INDArray> unmerged = model.build(GraphContext.evaluation(SameDiff.create(), params, DataType.FLOAT),
        false).predict(input); // one forward for every task
    double worst = 0;
    for (Map.Entry<String, INDArray> e : merged.entrySet()) {
      worst = Math.max(worst, unmerged.get(e.getKey()).sub(e.getValue()).amaxNumber().doubleValue());
    }
    return worst;
  }

  /** Random images and each task's valid random target, from a seed. */
  static Map<String, INDArray> randomBatch(MultiTaskModel model, int batch, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int s = model.config().swin().imgSize();
    Map<String, INDArray> b = new HashMap<>();
    float[] img = new float[batch * 3 * s * s];
    for (int i = 0; i < img.length; i++) {
      img[i] = (float) (2 * r.nextDouble() - 1);
    }
    b.put(MultiTaskModel.INPUT, Nd4j.createFromArray(img).reshape(batch, 3, s, s));
    for (Task t : model.config().tasks()) {
      b.put(t.targetName(), t.randomTarget(batch, s, r));
    }
    return b;
  }
}
