package org.mtlora.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.mtlora.core.io.CheckpointLoader;
import org.mtlora.core.io.LoadReport;
import org.mtlora.core.io.Npy;
import org.mtlora.core.io.SafeTensorsReader;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.SessionMemory;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.swin.SwinCheckpoints;
import org.mtlora.tasks.Task;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Compares the model with a reference fixture folder (format of {@code ../shared/fixtures/mtlora-tiny}): whatever of
 * train-mode outputs, eval-mode head outputs, backbone/decoder features, losses, gradients and batch-norm buffers the
 * folder holds. One row per tensor, then exactly one verdict line.
 */
final class FixtureParity {
  /** Released arrays a parity run's session keeps for reuse (the fixtures are small). */
  private static final long SESSION_CACHE_BYTES = 256L << 20;
  /** One compared tensor. */
  record Row(String category, String name, double maxAbsError, double tolerance) {
    boolean pass() {
      return maxAbsError <= tolerance; // NaN fails
    }

    /** How much of its tolerance the error uses: below 1 passes. */
    double ratio() {
      return tolerance > 0 ? maxAbsError / tolerance : maxAbsError == 0 ? 0 : Double.POSITIVE_INFINITY;
    }
  }

  /** All rows, and problems that are not tensors (e.g. a different trainable set). */
  record Result(List<Row> rows, List<String> problems) {
    long failures() {
      return rows.stream().filter(r -> !r.pass()).count() + problems.size();
    }

    boolean pass() {
      return failures() == 0;
    }

    /** Per category, in order of appearance, the row that uses the largest share of its tolerance. */
    Map<String, Row> worstByCategory() {
      Map<String, Row> worst = new LinkedHashMap<>();
      for (Row r : rows) {
        worst.merge(r.category(), r, (a, b) -> b.ratio() > a.ratio() || Double.isNaN(b.ratio()) ? b : a);
      }
      return worst;
    }

    String verdict() {
      return pass() ? "parity: PASS"
          : String.format(Locale.ROOT, "parity: FAIL (%d of %d tensors out of tolerance)", failures(),
              rows.size() + problems.size());
    }
  }

  private final Path dir;
  private final DataType dtype;
  private final Tolerances tol;
  private final PrintWriter out;
  private final List<Row> rows = new ArrayList<>();
  private final List<String> problems = new ArrayList<>();

  FixtureParity(Path dir, Tolerances tol, PrintWriter out) {
    this(dir, tol, out, DataType.FLOAT);
  }

  /** With {@code dtype} DOUBLE the graph runs in float64 (weights and inputs widened), to tell rounding from bugs. */
  FixtureParity(Path dir, Tolerances tol, PrintWriter out, DataType dtype) {
    this.dir = dir;
    this.dtype = dtype;
    this.tol = tol;
    this.out = out;
  }

  Result run() throws IOException {
    MultiTaskConfig cfg = MultiTaskConfig.read(require("config.json"));
    MultiTaskModel model = new MultiTaskModel(cfg);
    FreezePolicy policy = !cfg.lora().enabled() ? FreezePolicy.FULL_FINETUNE
        : cfg.lora().reductionAdapterEnabled() ? FreezePolicy.MTLORA_PLUS : FreezePolicy.MTLORA;
    ParameterRegistry reg = model.newRegistry(policy, 0);
    LoadReport load = CheckpointLoader.load(require("weights.safetensors"), reg, SwinCheckpoints.KEY_MAPPER,
        s -> true, true);
    out.printf(Locale.ROOT, "fixture %s: %d tasks %s, image %d, %d tensors loaded, %,d trainable of %,d parameters%n",
        dir, cfg.tasks().size(), cfg.lora().tasks(), cfg.swin().imgSize(), load.loaded().size(),
        reg.report().trainableParameters(), reg.report().totalParameters());
    checkTrainableSet(reg);

    INDArray input = Npy.read(require("input.npy")).castTo(dtype);
    int batch = (int) input.size(0);
    Map<String, INDArray> feed = new HashMap<>();
    feed.put(MultiTaskModel.INPUT, input);
    for (Task t : cfg.tasks()) {
      feed.put("target/" + t.name(), Npy.read(require("target_" + t.name() + ".npy")).castTo(dtype));
    }

    evalHeads(model, reg, cfg, input);
    trainMode(model, reg, cfg, feed, batch);
    out.printf(Locale.ROOT, "%-62s %12s %12s  %s%n", "tensor", "max|diff|", "tolerance", "verdict");
    for (Row r : rows) {
      out.printf(Locale.ROOT, "%-62s %12.3e %12.3e  %s%n", r.category() + ":" + r.name(), r.maxAbsError(),
          r.tolerance(), r.pass() ? "ok" : "FAIL");
    }
    for (String p : problems) {
      out.println("problem: " + p);
    }
    Result result = new Result(List.copyOf(rows), List.copyOf(problems));
    out.println("worst share of the tolerance per group (max|diff| / tolerance):");
    result.worstByCategory().forEach((category, r) -> out.printf(Locale.ROOT, "  %-11s %6.3f  %s (%.3e of %.3e)%n",
        category, r.ratio(), r.name(), r.maxAbsError(), r.tolerance()));
    out.println(result.verdict());
    out.flush();
    return result;
  }

  private void evalHeads(MultiTaskModel model, ParameterRegistry reg, MultiTaskConfig cfg, INDArray input)
      throws IOException {
    if (cfg.tasks().stream().noneMatch(t -> Files.exists(dir.resolve("out_eval_head_" + t.name() + ".npy")))) {
      return;
    }
    MultiTaskModel.Graph g = model.build(GraphContext.evaluation(SameDiff.create(), reg, dtype), false);
    List<String> names = new ArrayList<>();
    g.headOutputs().values().forEach(v -> names.add(v.name()));
    Map<String, INDArray> res = run(g.sd(), () -> g.sd().output(Map.of(MultiTaskModel.INPUT, input), names));
    for (Task t : cfg.tasks()) {
      Path f = dir.resolve("out_eval_head_" + t.name() + ".npy");
      if (Files.exists(f)) {
        compare("eval_heads", "out_eval_head_" + t.name(), Npy.read(f), res.get(g.headOutputs().get(t.name()).name()));
      }
    }
  }

  private void trainMode(MultiTaskModel model, ParameterRegistry reg, MultiTaskConfig cfg,
      Map<String, INDArray> feed, int batch) throws IOException {
    GraphContext ctx = GraphContext.training(SameDiff.create(), reg, dtype);
    MultiTaskModel.Graph g = model.build(ctx, true);
    Map<String, INDArray> ph = new HashMap<>(feed);
    ph.putAll(ctx.masks().keepAll(batch, dtype)); // fixtures are deterministic (dropout, drop path 0)
    List<String> names = new ArrayList<>();
    g.outputs().values().forEach(v -> names.add(v.name()));
    g.losses().values().forEach(v -> names.add(v.name()));
    names.add(g.totalLoss().name());
    names.addAll(g.batchNormOutputs());
    Path featFile = dir.resolve("features.safetensors");
    Map<String, String> featureVars = new LinkedHashMap<>();
    if (Files.exists(featFile)) {
      try (SafeTensorsReader r = SafeTensorsReader.open(featFile)) {
        for (String key : r.tensors().keySet()) {
          SDVariable v = g.intermediates().get(key);
          if (v == null) {
            problems.add("features.safetensors holds " + key + ", which the model does not produce");
          } else {
            featureVars.put(key, v.name());
            names.add(v.name());
          }
        }
      }
    }
    Map<String, INDArray> res = run(g.sd(), () -> g.sd().output(ph, names.stream().distinct().toList()));

    for (Task t : cfg.tasks()) {
      Path f = dir.resolve("out_" + t.name() + ".npy");
      if (Files.exists(f)) {
        compare("outputs", "out_" + t.name(), Npy.read(f), res.get(g.outputs().get(t.name()).name()));
      }
    }
    if (!featureVars.isEmpty()) {
      try (SafeTensorsReader r = SafeTensorsReader.open(featFile)) {
        for (Map.Entry<String, String> e : featureVars.entrySet()) {
          compare("features", e.getKey(), r.read(e.getKey()), res.get(e.getValue()));
        }
      }
    }
    compareLosses(cfg, g, res);
    compareGradients(reg, g, ph);
    compareBatchNorm(reg, g, res, batch);
  }

  private void compareLosses(MultiTaskConfig cfg, MultiTaskModel.Graph g, Map<String, INDArray> res)
      throws IOException {
    Path f = dir.resolve("losses.json");
    if (!Files.exists(f)) {
      return;
    }
    JsonNode losses = new ObjectMapper().readTree(f.toFile());
    Tolerances.Rule rule = tol.rule("losses");
    for (Task t : cfg.tasks()) {
      JsonNode ref = losses.path("per_task").path(t.name());
      if (!ref.isMissingNode()) {
        double ours = res.get(g.losses().get(t.name()).name()).getDouble(0);
        rows.add(new Row("losses", "loss/" + t.name(), Math.abs(ours - ref.asDouble()),
            rule.limit("loss/" + t.name(), Math.abs(ref.asDouble()))));
      }
    }
    if (losses.has("total")) {
      double ours = res.get(g.totalLoss().name()).getDouble(0);
      double ref = losses.get("total").asDouble();
      rows.add(new Row("losses", "loss/total", Math.abs(ours - ref), rule.limit("loss/total", Math.abs(ref))));
    }
  }

  private void compareGradients(ParameterRegistry reg, MultiTaskModel.Graph g, Map<String, INDArray> ph)
      throws IOException {
    Path f = dir.resolve("grads.safetensors");
    if (!Files.exists(f)) {
      return;
    }
    try (SafeTensorsReader r = SafeTensorsReader.open(f)) {
      Set<String> ours = new TreeSet<>(reg.trainableNames());
      Set<String> theirs = new TreeSet<>(r.tensors().keySet());
      checkSameSet("trainable parameters differ from grads.safetensors", ours, theirs);
      List<String> wanted = new ArrayList<>(ours);
      wanted.retainAll(theirs);
      org.mtlora.core.graph.Gradients.prepare(g.sd());
      Map<String, INDArray> grads =
          run(g.sd(), () -> org.mtlora.core.graph.Gradients.calculate(g.sd(), ph, List.of(), wanted).getGradients());
      for (String name : wanted) {
        INDArray ref = r.read(name);
        INDArray mine = grads.get(name);
        if (mine == null) {
          mine = ref.mul(0); // no path to the loss: the reference stores zeros for these (grad_is_none)
        }
        compare("grads", name, ref, mine);
      }
    }
  }

  private void compareBatchNorm(ParameterRegistry reg, MultiTaskModel.Graph g, Map<String, INDArray> res, int batch)
      throws IOException {
    Path f = dir.resolve("bn_buffers_after_train_forward.safetensors");
    if (!Files.exists(f)) {
      return;
    }
    g.updateRunningStats(reg, res, batch);
    try (SafeTensorsReader r = SafeTensorsReader.open(f)) {
      for (String name : r.tensors().keySet()) {
        if (!reg.contains(name)) {
          problems.add("bn_buffers_after_train_forward.safetensors holds " + name + ", unknown to the model");
          continue;
        }
        compare("bn_buffers", name, r.read(name), reg.get(name));
      }
    }
  }

  private void compare(String category, String name, INDArray expected, INDArray actual) {
    INDArray e = expected.castTo(DataType.DOUBLE);
    double maxRef = e.length() == 0 ? 0 : Transforms.abs(e).maxNumber().doubleValue();
    double err;
    if (actual == null || actual.length() != expected.length()) {
      problems.add(category + ":" + name + " has shape " + (actual == null ? "none" : java.util.Arrays.toString(
          actual.shape())) + ", expected " + java.util.Arrays.toString(expected.shape()));
      return;
    }
    INDArray a = actual.castTo(DataType.DOUBLE).reshape(expected.shape());
    err = e.length() == 0 ? 0 : Transforms.abs(a.sub(e)).maxNumber().doubleValue();
    if (Double.isNaN(a.sumNumber().doubleValue())) {
      err = Double.NaN;
    }
    rows.add(new Row(category, name, err, tol.rule(category).limit(name, maxRef)));
  }

  private void checkTrainableSet(ParameterRegistry reg) throws IOException {
    Path f = dir.resolve("weights-index.json");
    if (!Files.exists(f)) {
      return;
    }
    Set<String> expected = new TreeSet<>();
    for (JsonNode e : new ObjectMapper().readTree(f.toFile())) {
      if (e.path("trainable").asBoolean(false)) {
        expected.add(e.get("name").asText());
      }
    }
    checkSameSet("trainable set differs from weights-index.json", new TreeSet<>(reg.trainableNames()), expected);
  }

  /** Records a problem naming what only we have and what only the reference has, when the sets differ. */
  private void checkSameSet(String what, Set<String> ours, Set<String> reference) {
    if (!ours.equals(reference)) {
      Set<String> onlyOurs = new TreeSet<>(ours);
      onlyOurs.removeAll(reference);
      Set<String> onlyReference = new TreeSet<>(reference);
      onlyReference.removeAll(ours);
      problems.add(what + ": only ours " + onlyOurs + ", only the reference's " + onlyReference);
    }
  }

  private Path require(String name) throws IOException {
    Path p = dir.resolve(name);
    if (!Files.exists(p)) {
      throw new java.nio.file.NoSuchFileException(p.toString(), null, "the fixture folder must hold " + name);
    }
    return p;
  }

  /**
   * Runs {@code sd} in the sessions that training and evaluation use ({@link SessionMemory#boundCache}: its memory
   * manager, and float erfc and exp on the vector kernels where this JVM has them), so that parity checks what users
   * run.
   */
  private static <T> T run(SameDiff sd, Supplier<T> run) {
    SessionMemory.boundCache(sd, SESSION_CACHE_BYTES);
    try {
      return run.get();
    } finally {
      SessionMemory.clear(sd);
    }
  }
}
