package org.mtlora.bench;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.mtlora.core.adapter.MtLoraConfig;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.swin.SwinBackbone;
import org.mtlora.swin.SwinConfig;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mtlora bench-backbone}: times the backbone alone (random weights and input) in training mode, forward only
 * or forward + backward (gradients of the trainable parameters), and reports peak RSS. The whole-model benchmark is
 * {@code mtlora bench} (performance issue); this one measures the backbone as soon as it exists.
 */
@Command(
    name = "bench-backbone",
    mixinStandardHelpOptions = true,
    description = "Time the Swin backbone with MTLoRA adapters: forward, or forward + backward, on random data.")
final class BackboneBenchCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--backbone", defaultValue = "tiny", description = "tiny, small or base (default ${DEFAULT-VALUE})")
  String backbone;

  @Option(names = "--img-size", defaultValue = "448", description = "input side in pixels (default ${DEFAULT-VALUE})")
  int imgSize;

  @Option(names = "--batch", defaultValue = "2", description = "batch size (default ${DEFAULT-VALUE})")
  int batch;

  @Option(names = "--shared-rank", defaultValue = "16", description = "task-agnostic rank (default ${DEFAULT-VALUE})")
  int sharedRank;

  @Option(names = "--task-rank", defaultValue = "4", description = "task-specific rank (default ${DEFAULT-VALUE})")
  int taskRank;

  @Option(names = "--tasks", split = ",", defaultValue = "semseg,normals,sal,human_parts",
      description = "task names (default ${DEFAULT-VALUE})")
  List<String> tasks;

  @Option(names = "--mode", defaultValue = "train", description = "train (forward + backward) or forward")
  String mode;

  @Option(names = "--iters", defaultValue = "2", description = "timed iterations (default ${DEFAULT-VALUE})")
  int iters;

  @Option(names = "--warmup", defaultValue = "1", description = "untimed iterations first (default ${DEFAULT-VALUE})")
  int warmup;

  @Option(names = "--no-array-cache", description = "disable SameDiff's session array cache (sd.setEnableCache(false))")
  boolean noArrayCache;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    OptionChecks.benchmark(sharedRank, taskRank, imgSize, batch, iters, warmup);
    if (!mode.equals("train") && !mode.equals("forward")) {
      throw new IllegalArgumentException("--mode must be train or forward, found '" + mode + "'");
    }
    SwinConfig swin = SwinConfig.preset(backbone, imgSize);
    MtLoraConfig lora = MtLoraConfig.mtlora(tasks, swin.numStages(), sharedRank, taskRank);
    SwinBackbone model = new SwinBackbone(swin, lora);
    ParameterRegistry reg = new ParameterRegistry();
    model.declare(reg);
    reg.initialise(0);
    reg.applyPolicy(FreezePolicy.MTLORA);
    out.printf(Locale.ROOT, "backbone %s %dx%d, MTLoRA r%d/task r%d, %d tasks, batch %d, mode %s%n", backbone, imgSize,
        imgSize, sharedRank, taskRank, tasks.size(), batch, mode);
    out.print(reg.report().format());
    out.flush();

    long t0 = System.nanoTime();
    SameDiff sd = SameDiff.create();
    sd.setEnableCache(!noArrayCache);
    GraphContext ctx = GraphContext.training(sd, reg, DataType.FLOAT);
    SDVariable image = sd.placeHolder("image", DataType.FLOAT, -1, swin.inChans(), imgSize, imgSize);
    SwinBackbone.Features f = model.apply(ctx, image);
    SDVariable loss = null;
    for (SwinBackbone.StageFeatures s : f.stages()) {
      SDVariable term = sd.mean(s.shared().mul(s.shared()));
      for (SDVariable t : s.tasks().values()) {
        term = term.add(sd.mean(t.mul(t)));
      }
      loss = loss == null ? term : loss.add(term);
    }
    loss = sd.identity("loss", loss);
    sd.setLossVariables(loss);
    if (mode.equals("train")) {
      org.mtlora.core.graph.Gradients.prepare(sd);
    }
    double buildS = (System.nanoTime() - t0) / 1e9;

    INDArray x = Nd4j.rand(DataType.FLOAT, batch, swin.inChans(), imgSize, imgSize);
    List<String> trainable = reg.trainableNames();
    List<Double> times = new ArrayList<>();
    for (int i = 0; i < warmup + iters; i++) {
      Map<String, INDArray> ph = new java.util.HashMap<>(ctx.masks().sample(batch, 0, i, DataType.FLOAT));
      ph.put("image", x);
      long s = System.nanoTime();
      if (mode.equals("train")) {
        org.mtlora.core.graph.Gradients.calculate(sd, ph, List.of(), trainable); // as the trainer runs it
      } else {
        org.mtlora.core.graph.SessionMemory.ensureSession(sd); // the library's session runs its training graphs
        sd.output(ph, "loss");
      }
      org.mtlora.core.graph.SessionMemory.release(sd);
      double dt = (System.nanoTime() - s) / 1e9;
      out.printf(Locale.ROOT, "%s %d: %.2f s (rss %d MiB, peak %d MiB)%n", i < warmup ? "warmup" : "iter",
          i < warmup ? i : i - warmup, dt, ProcessMemory.rssMib(), ProcessMemory.peakRssMib());
      out.flush();
      if (i >= warmup) {
        times.add(dt);
      }
    }
    double[] sorted = times.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    double median = sorted.length == 0 ? Double.NaN : sorted[sorted.length / 2];
    out.printf(Locale.ROOT,
        "{\"bench\":\"backbone\",\"backbone\":\"%s\",\"img_size\":%d,\"batch\":%d,\"mode\":\"%s\",\"shared_rank\":%d,"
            + "\"task_rank\":%d,\"tasks\":%d,\"build_s\":%.2f,\"median_s\":%.3f,\"times_s\":%s,\"peak_rss_mb\":%d,"
            + "\"threads\":%d}%n",
        backbone, imgSize, batch, mode, sharedRank, taskRank, tasks.size(), buildS, median, Arrays.toString(sorted),
        ProcessMemory.peakRssMib(), Nd4j.getEnvironment().maxThreads());
    out.flush();
    return 0;
  }
}
