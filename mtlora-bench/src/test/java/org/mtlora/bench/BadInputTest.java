package org.mtlora.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.mtlora.core.io.SafeTensorsReader;
import org.mtlora.core.io.SafeTensorsWriter;
import org.mtlora.core.train.RunFolder;
import org.mtlora.heads.AdapterFolder;
import org.mtlora.data.SyntheticPascal;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The bad-input suite: what a skeptical user feeds the command line, one row per case. Each row runs {@code ./mtlora}
 * in-process and asserts the exit status, that the message names the offending option, file or tensor and what was
 * expected, that no stack trace is printed, and that no file of the completed run it may point at was changed.
 * Adding a case is one row in {@link #cases()}.
 *
 * <p>Set-up (once): a generated PASCAL-Context-layout data set, random Swin-T weights, and a completed two-step
 * {@code train} run (checkpoints at steps 1 and 2, adapters, log).
 */
class BadInputTest {
  @TempDir static Path base;
  static Path data;
  static Path weights;
  static Path otherWeights;
  static Path run;
  private static final AtomicInteger FRESH = new AtomicInteger();

  /** One case: the command line, the exit status, the fragments the message must hold, and an optional check. */
  record Case(String name, Supplier<String[]> args, int status, List<String> expected, Consumer<Output> check) {
    @Override
    public String toString() {
      return name;
    }
  }

  /** What a command printed. */
  record Output(String out, String err) {}

  @BeforeAll
  static void setUp() throws Exception {
    data = base.resolve("data");
    SyntheticPascal.generate(data, 4, 2, 48, 1);
    weights = TestWeights.swinTiny(base.resolve("swin_t.safetensors"), 3);
    otherWeights = TestWeights.swinTiny(base.resolve("swin_t_other.safetensors"), 4);
    run = base.resolve("run");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = execute(out, err, train("--run-dir", run.toString(), "--checkpoint-every", "1"));
    assertEquals(0, status, out + "\n" + err);
    assertTrue(Files.exists(ckpt(1)) && Files.exists(ckpt(2)) && Files.exists(adapters()), out.toString());
  }

  static Path ckpt(int step) {
    return run.resolve("checkpoints").resolve(String.format("checkpoint-%08d.safetensors", step));
  }

  /** The completed run's adapter folder. */
  static Path adapters() {
    return run.resolve("adapters");
  }

  /** Its tensor file. */
  static Path adapterFile() {
    return adapters().resolve(AdapterFolder.MODEL);
  }

  /** A copy of the run's adapter folder whose tensor file is {@code model} (or none when null). */
  static Path folderWith(String name, Path model) {
    try {
      Path dir = scratch(name).resolve("adapters");
      Files.createDirectories(dir);
      Files.copy(adapters().resolve(AdapterFolder.CONFIG), dir.resolve(AdapterFolder.CONFIG));
      if (model != null) {
        Files.copy(model, dir.resolve(AdapterFolder.MODEL));
      }
      return dir;
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** A copy of the run's adapter folder whose configuration was edited by hand. */
  static Path editedFolder(String name, Consumer<ObjectNode> edit) {
    try {
      Path dir = folderWith(name, adapterFile());
      ObjectMapper json = new ObjectMapper();
      ObjectNode config = (ObjectNode) json.readTree(dir.resolve(AdapterFolder.CONFIG).toFile());
      edit.accept(config);
      json.writeValue(dir.resolve(AdapterFolder.CONFIG).toFile(), config);
      return dir;
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  // ---------------------------------------------------------------------------------------------- the table

  static Stream<Case> cases() {
    List<Case> c = new ArrayList<>();
    // Command-line values: checked before any work, each message naming the option.
    c.add(fails("shared rank 0", () -> train("--shared-rank", "0"), "--shared-rank must be >= 1, found 0"));
    c.add(fails("negative task rank", () -> train("--task-rank", "-1"), "--task-rank must be >= 1, found -1"));
    c.add(fails("zero epochs", () -> train("--epochs", "0"), "--epochs must be >= 1, found 0"));
    c.add(fails("warmup as long as training", () -> train("--warmup-epochs", "1"),
        "--warmup-epochs must be less than --epochs, found 1 and 1"));
    c.add(fails("negative warmup", () -> train("--warmup-epochs", "-1"), "--warmup-epochs must be >= 0, found -1"));
    c.add(fails("zero batch", () -> train("--batch", "0"), "--batch must be >= 1, found 0"));
    c.add(fails("zero checkpoint interval", () -> train("--checkpoint-every", "0"),
        "--checkpoint-every must be >= 1, found 0"));
    c.add(fails("image size the backbone cannot take", () -> train("--img-size", "100"),
        "--backbone/--img-size tiny/100:"));
    c.add(fails("unknown backbone", () -> train("--backbone", "huge"), "unknown backbone 'huge'",
        "tiny, small or base"));
    c.add(fails("unknown task", () -> train("--tasks", "semseg,depth"), "--tasks semseg,depth:",
        "unknown task 'depth'"));
    c.add(fails("task named twice", () -> train("--tasks", "semseg,semseg"), "--tasks names 'semseg' twice"));
    c.add(fails("unknown method", () -> train("--method", "bitfit"), "--method bitfit:",
        "unknown method 'bitfit'"));
    c.add(fails("unknown activation checkpointing", () -> train("--activation-checkpointing", "layer"),
        "unknown activation checkpointing 'layer'"));
    c.add(new Case("epochs not a number", () -> train("--epochs", "many"), 2, List.of("--epochs", "'many'"), null));
    c.add(fails("missing data root", () -> train("--pascal", base.resolve("nowhere").toString()),
        "--pascal " + base.resolve("nowhere") + " does not exist; expected a PASCAL-Context root folder"));
    c.add(fails("data root is a file", () -> train("--pascal", weights.toString()),
        "--pascal " + weights + " is a file"));
    c.add(fails("data root without split file", () -> train("--pascal", scratch("empty-root").toString()),
        "split file of 'train' not found", "empty-root"));
    c.add(fails("missing weights file", () -> train("--backbone-weights", base.resolve("no.safetensors").toString()),
        "--backbone-weights " + base.resolve("no.safetensors") + " does not exist; expected a safetensors file"));
    c.add(fails("weights path is a folder", () -> train("--backbone-weights", base.toString()),
        "--backbone-weights " + base + " is a directory"));
    c.add(fails("missing resume file", () -> train("--resume", base.resolve("gone.safetensors").toString()),
        "--resume " + base.resolve("gone.safetensors") + " does not exist; expected a checkpoint file"));
    c.add(fails("resume path is a folder", () -> train("--resume", run.toString()),
        "--resume " + run + " is a directory"));
    c.add(fails("run folder below a file", () -> train("--run-dir", weights.resolve("run").toString()),
        "run folder " + weights.resolve("run") + " cannot be written"));
    c.add(fails("run folder is a file", () -> train("--run-dir", weights.toString()),
        "run folder " + weights + " is a file"));
    c.add(fails("normals class list with a word", () -> train("--normals-valid-classes",
        write("classes.txt", "3\nchair\n").toString()), "classes.txt line 2", "'chair'"));
    c.add(fails("missing normals class list", () -> train("--normals-valid-classes",
        base.resolve("none.txt").toString()),
        "--normals-valid-classes " + base.resolve("none.txt") + " does not exist; expected a file of class ids"));
    c.add(fails("eval without adapters", () -> eval("--adapters", base.resolve("a").toString()),
        "--adapters " + base.resolve("a") + " does not exist; expected an adapter folder"));
    c.add(fails("eval adapters path is a run folder", () -> eval("--adapters", run.toString()),
        run + ": no adapter_config.json; an adapter folder holds adapter_config.json and adapter_model.safetensors"));
    // Weight files: checked whole before anything is assigned, naming file and tensor.
    c.add(fails("truncated weights", () -> train("--backbone-weights", truncated(weights, "w-trunc").toString()),
        "w-trunc.safetensors: "));
    c.add(fails("weights tensor stored as I32", () -> train("--backbone-weights",
        rewritten(weights, "w-int", t -> t.put("patch_embed.norm.weight", t.get("patch_embed.norm.weight")
            .castTo(DataType.INT))).toString()),
        "w-int.safetensors", "patch_embed.norm.weight: stored as I32", "expected a floating-point type"));
    c.add(fails("NaN in weights", () -> train("--backbone-weights", rewritten(weights, "w-nan",
        t -> t.get("layers.1.blocks.0.mlp.fc1.weight").putScalar(5, Float.NaN)).toString()),
        "w-nan.safetensors: tensor layers.1.blocks.0.mlp.fc1.weight holds NaN at flat index 5"));
    c.add(fails("weights tensor of another shape", () -> train("--backbone-weights", rewritten(weights, "w-shape",
        t -> t.put("patch_embed.norm.bias", t.get("patch_embed.norm.bias")
            .get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 10)).dup())).toString()),
        "w-shape.safetensors", "patch_embed.norm.bias", "does not match model shape [96]"));
    c.add(fails("weights missing a tensor", () -> train("--backbone-weights", rewritten(weights, "w-missing",
        t -> t.remove("layers.0.blocks.0.attn.qkv.weight")).toString()), "w-missing.safetensors", "1 missing",
        "layers.0.blocks.0.attn.qkv"));
    c.add(fails("weights file that is not safetensors", () -> train("--backbone-weights",
        write("w-text.safetensors", "this is not a weights file").toString()), "w-text.safetensors: "));

    // Adapter folders (eval): refused before anything is assigned, naming the folder or file and the first difference.
    c.add(fails("model option next to an adapter folder", () -> eval("--method", "decoders-only"),
        "--method: the model comes from the adapter folder " + adapters(), "drop the model options"));
    c.add(fails("adapter folder without its tensors", () -> eval("--adapters", folderWith("a-none", null).toString()),
        "no adapter_model.safetensors"));
    c.add(fails("adapter folder with an edited configuration", () -> eval("--adapters", editedFolder("a-edited",
        o -> ((ObjectNode) o.at("/model/adapters/all_stages/shared")).put("rank", 8)).toString()),
        "a-edited", "adapter_config.json: the model it describes differs from the one adapter_model.safetensors was "
            + "saved with (was adapter_config.json edited?)", "rank"));
    c.add(fails("adapter folder with a configuration that does not parse", () -> eval("--adapters",
        editedFolder("a-bad", o -> ((ObjectNode) o.get("model")).put("img", 3)).toString()),
        "a-bad", "adapter_config.json: model: model configuration: unknown keys [img]"));
    c.add(fails("adapter folder of another format version", () -> eval("--adapters",
        editedFolder("a-version", o -> o.put("version", 9)).toString()), "a-version",
        "not an mtlora adapter configuration of format mtlora-adapters version 1"));
    c.add(fails("adapter folder missing a tensor", () -> eval("--adapters", folderWith("a-missing",
        rewritten(adapterFile(), "a-missing", t -> t.remove("decoders.decoders.sal.last_layer.3.bias")))
        .toString()), "a-missing", "do not match this model's trainable parameters",
        "only in the model [decoders.decoders.sal.last_layer.3.bias]"));
    c.add(fails("truncated adapters", () -> eval("--adapters", folderWith("a-trunc", truncated(adapterFile(),
        "a-trunc")).toString()), "a-trunc", "adapter_model.safetensors: "));
    c.add(fails("NaN in adapters", () -> eval("--adapters", folderWith("a-nan", rewritten(adapterFile(), "a-nan",
        t -> t.get("decoders.decoders.sal.last_layer.3.bias").putScalar(0, Float.POSITIVE_INFINITY))).toString()),
        "a-nan", "adapter_model.safetensors: tensor decoders.decoders.sal.last_layer.3.bias holds Infinity"));
    c.add(fails("adapters tensor stored as I32", () -> eval("--adapters", folderWith("a-int", rewritten(adapterFile(),
        "a-int", t -> t.put("decoders.decoders.sal.last_layer.3.bias",
            t.get("decoders.decoders.sal.last_layer.3.bias").castTo(DataType.INT)))).toString()),
        "a-int", "adapter_model.safetensors: tensor decoders.decoders.sal.last_layer.3.bias is stored as I32"));
    c.add(fails("adapters on other frozen weights", () -> eval("--backbone-weights", otherWeights.toString()),
        adapterFile() + ": this adapter file was written for different frozen weights"));
    // An older single adapter file: read with the model options it was trained with, refused with a hint otherwise.
    c.add(fails("older single file with other model options", () -> eval("--adapters", adapterFile().toString(),
        "--shared-rank", "8"), adapterFile().toString(), "this model expects [8, ",
        "read with the model options it was trained with"));

    // Checkpoints (train --resume FILE into a fresh folder): validated like adapter files before anything changes.
    c.add(fails("checkpoint of another shared rank", () -> train("--shared-rank", "8", "--resume", ckpt(1).toString()),
        ckpt(1) + ": this checkpoint was written for another model", "at adapters.all_stages.shared.rank: 16 vs 8"));
    c.add(fails("4-task checkpoint into a 2-task model", () -> train("--tasks", "semseg,sal", "--resume",
        ckpt(1).toString()), ckpt(1) + ": this checkpoint was written for another model", "human_parts"));
    c.add(fails("truncated checkpoint", () -> train("--resume", truncated(ckpt(1), "c-trunc").toString()),
        "c-trunc.safetensors: "));
    c.add(fails("NaN in a checkpoint", () -> train("--resume", rewritten(ckpt(1), "c-nan",
        t -> t.get("adam.v/decoders.decoders.semseg.last_layer.3.bias").putScalar(2, Float.NaN)).toString()),
        "c-nan.safetensors: tensor adam.v/decoders.decoders.semseg.last_layer.3.bias holds NaN at flat index 2"));
    c.add(fails("checkpoint tensor stored as I32", () -> train("--resume", rewritten(ckpt(1), "c-int",
        t -> t.put("param/decoders.decoders.sal.last_layer.3.bias",
            t.get("param/decoders.decoders.sal.last_layer.3.bias").castTo(DataType.INT))).toString()),
        "c-int.safetensors: tensor param/decoders.decoders.sal.last_layer.3.bias is stored as I32"));
    c.add(fails("checkpoint missing optimiser state", () -> train("--resume", rewritten(ckpt(1), "c-missing",
        t -> t.remove("adam.v/decoders.decoders.sal.last_layer.3.bias")).toString()), "c-missing.safetensors",
        "only in the model [adam.v/decoders.decoders.sal.last_layer.3.bias]"));
    c.add(fails("checkpoint tensor of another shape", () -> train("--resume", rewritten(ckpt(1), "c-shape",
        t -> t.put("param/decoders.decoders.sal.last_layer.3.bias", t.get("param/decoders.decoders.sal.last_layer"
            + ".3.bias").reshape(1, 1))).toString()), "c-shape.safetensors: tensor param/decoders.decoders.sal"
        + ".last_layer.3.bias has shape [1, 1], this model expects [1]"));
    c.add(fails("checkpoint of another seed", () -> train("--seed", "5", "--resume", ckpt(1).toString()),
        ckpt(1) + ": checkpoint of --seed 0, this run has --seed 5"));
    c.add(fails("adapter file given as checkpoint", () -> train("--resume", adapterFile().toString()),
        adapterFile() + ": not an mtlora checkpoint (format mtlora-adapters)"));
    c.add(fails("checkpoint on other frozen weights", () -> train("--backbone-weights", otherWeights.toString(),
        "--resume", ckpt(1).toString()), ckpt(1) + ": this checkpoint was written for different frozen weights"));

    // The run folder: one configuration, one writer.
    c.add(fails("fresh run into a folder holding checkpoints", () -> train("--run-dir", run.toString()),
        "run folder " + run + " already holds checkpoints", "--resume auto"));
    c.add(fails("resume a folder of another rank", () -> train("--run-dir", run.toString(), "--resume", "auto",
        "--shared-rank", "8"), "run folder " + run + " holds a run of another configuration", "at model.adapters.all_stages.shared.rank: 16 vs 8"));
    c.add(fails("resume a folder with another seed", () -> train("--run-dir", run.toString(), "--resume", "auto",
        "--seed", "1"), "run folder " + run + " holds a run of another configuration", "at seed: 0 vs 1"));
    c.add(fails("run folder held by another run", BadInputTest::trainWhileLocked, "run folder ",
        "is in use by process " + ProcessHandle.current().pid()));
    c.add(fails("demo resume with a file name", () -> new String[] {"demo", "--resume", "last"},
        "--resume takes 'auto' for the demo, found 'last'"));
    c.add(fails("params with shared rank 0", () -> new String[] {"params", "--shared-rank", "0"},
        "--shared-rank must be >= 1, found 0"));
    c.add(fails("bench with batch 0", () -> new String[] {"bench", "--batch", "0"}, "--batch must be >= 1, found 0"));
    c.add(fails("bench without timed iterations", () -> new String[] {"bench-backbone", "--iters", "0"},
        "--iters must be >= 1, found 0"));
    c.add(fails("demo with zero steps", () -> new String[] {"demo", "--steps", "0"}, "--steps must be >= 1, found 0"));

    // Data set files, read strictly.
    c.add(fails("truncated val JPEG", () -> eval("--pascal", damagedData("d-jpeg", "JPEGImages", ".jpg", 0.8)
        .toString()),
        "d-jpeg", ".jpg: corrupt or truncated image"));
    c.add(fails("corrupt label map", () -> eval("--pascal", damagedData("d-mat", "pascal-context/trainval", ".mat", 0.5)
        .toString()), "d-mat", ".mat"));
    c.add(fails("truncated saliency PNG", () -> eval("--pascal", damagedData("d-sal", "sal_distill", ".png", 0.5)
        .toString()), "d-sal", ".png"));

    // Resuming: said, exact, one log row per step, no stale files (these two rows train for real).
    c.add(new Case("resume auto without a checkpoint", BadInputTest::resumeWithoutCheckpoint, 0,
        List.of("no checkpoint in " + scratch("no-ckpt").resolve("run").resolve("checkpoints")
            + ": starting from step 0"), o -> assertLogSteps(scratch("no-ckpt").resolve("run"), 0, 1)));
    c.add(new Case("resume from an earlier checkpoint", BadInputTest::resumeFromEarlier, 0,
        List.of("resuming from ", "checkpoint-00000001.safetensors (step 1)"), o -> {
          Path dir = scratch("earlier").resolve("run");
          assertLogSteps(dir, 0, 1);
          assertFalse(Files.exists(dir.resolve("checkpoints/.checkpoint-00000002.safetensors.123.tmp")),
              "the partial checkpoint is removed");
          try {
            assertEquals(Arrays.toString(Files.readAllBytes(adapterFile())),
                Arrays.toString(Files.readAllBytes(dir.resolve("adapters").resolve(AdapterFolder.MODEL))),
                "the resumed run ends with byte-identical adapters");
          } catch (IOException e) {
            throw new AssertionError(e);
          }
        }));
    return c.stream();
  }

  /** A folder with a stale log and no checkpoint, resumed with --resume auto. */
  private static String[] resumeWithoutCheckpoint() {
    Path dir = scratch("no-ckpt").resolve("run");
    try {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve("log.csv"), "step,total_loss\n0,1.0\n1,1.0\n2,1.0\n3,1.0\n");
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return train("--run-dir", dir.toString(), "--resume", "auto");
  }

  /** A copy of the completed run cut back to its first checkpoint, with a partial checkpoint write left behind. */
  private static String[] resumeFromEarlier() {
    Path dir = scratch("earlier").resolve("run");
    try {
      copyTree(run, dir);
      Files.delete(dir.resolve("checkpoints/checkpoint-00000002.safetensors"));
      Files.delete(dir.resolve("adapters").resolve(AdapterFolder.MODEL));
      Files.delete(dir.resolve("adapters").resolve(AdapterFolder.CONFIG));
      Files.delete(dir.resolve("adapters"));
      Files.writeString(dir.resolve("checkpoints/.checkpoint-00000002.safetensors.123.tmp"), "partial");
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return train("--run-dir", dir.toString(), "--resume", "auto", "--checkpoint-every", "1");
  }

  /** {@code log.csv} holds a header and exactly one row for each of {@code steps}, in order. */
  private static void assertLogSteps(Path dir, long... steps) {
    try {
      List<String> lines = Files.readAllLines(dir.resolve("log.csv"));
      assertTrue(lines.get(0).startsWith("step,"), lines.toString());
      assertEquals(steps.length + 1, lines.size(), lines.toString());
      for (int i = 0; i < steps.length; i++) {
        assertTrue(lines.get(i + 1).startsWith(steps[i] + ","), lines.toString());
      }
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static Case fails(String name, Supplier<String[]> args, String... expected) {
    return new Case(name, args, 1, List.of(expected), null);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void badInputIsAClearErrorAndDamagesNothing(Case c) throws Exception {
    Map<String, String> before = snapshot(run);
    long weightsSize = Files.size(weights);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = execute(out, err, c.args().get());
    String message = c.status() == 0 ? out.toString() : err.toString();
    System.out.println("[bad-input] " + c.name() + " -> status " + status + ": "
        + (c.status() == 0 ? "ok" : err.toString().strip().lines().findFirst().orElse("")));
    assertEquals(c.status(), status, "exit status\nout: " + out + "\nerr: " + err);
    for (String fragment : c.expected()) {
      assertTrue(message.contains(fragment), "'" + fragment + "' missing from:\n" + message);
    }
    assertFalse(err.toString().contains("\tat ") || err.toString().contains("Exception in thread"),
        "a stack trace instead of a message:\n" + err);
    if (c.check() != null) {
      c.check().accept(new Output(out.toString(), err.toString()));
    }
    assertEquals(before, snapshot(run), "the completed run's files are unchanged");
    assertEquals(weightsSize, Files.size(weights));
  }

  // ---------------------------------------------------------------------------------------------- helpers

  static int execute(StringWriter out, StringWriter err, String... args) {
    var cl = MtloraCommand.commandLine();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    return cl.execute(args);
  }

  /** {@code train} on the shared data and weights (Swin-T 224, batch 2, 1 epoch) with some options replaced. */
  static String[] train(String... overrides) {
    Map<String, String> o = modelOptions();
    o.put("--epochs", "1");
    o.put("--warmup-epochs", "0");
    o.put("--run-dir", base.resolve("fresh").resolve(String.valueOf(FRESH.incrementAndGet())).toString());
    return command("train", o, overrides);
  }

  /** {@code eval} of the completed run's adapters, with some options replaced. */
  static String[] eval(String... overrides) {
    Map<String, String> o = modelOptions();
    o.remove("--img-size"); // the adapter folder decides the model
    o.put("--adapters", adapters().toString());
    return command("eval", o, overrides);
  }

  /** The data, weights and size every train and eval row starts from. */
  private static Map<String, String> modelOptions() {
    Map<String, String> o = new LinkedHashMap<>();
    o.put("--pascal", data.toString());
    o.put("--backbone-weights", weights.toString());
    o.put("--img-size", "224");
    o.put("--batch", "2");
    return o;
  }

  /** Copies the folder tree {@code from} to {@code to}, without run-folder lock files. */
  static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else if (!p.getFileName().toString().equals(RunFolder.LOCK)) {
          Files.copy(p, t);
        }
      }
    }
  }

  private static String[] command(String name, Map<String, String> options, String... overrides) {
    for (int i = 0; i < overrides.length; i += 2) {
      options.put(overrides[i], overrides[i + 1]);
    }
    List<String> args = new ArrayList<>(List.of(name));
    options.forEach((k, v) -> {
      args.add(k);
      args.add(v);
    });
    return args.toArray(String[]::new);
  }

  private static String[] trainWhileLocked() {
    Path dir = base.resolve("locked");
    try {
      RunFolder held = RunFolder.open(dir, "{}", RunFolder.Existing.REPLACE); // released when the test JVM ends
      HELD.add(held);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return train("--run-dir", dir.toString());
  }

  private static final List<RunFolder> HELD = new ArrayList<>();

  static Path scratch(String name) {
    try {
      return Files.createDirectories(base.resolve("cases").resolve(name));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  static Path write(String name, String content) {
    try {
      return Files.writeString(scratch("files").resolve(name), content);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** The first half of {@code src}'s bytes. */
  static Path truncated(Path src, String name) {
    try {
      byte[] bytes = Files.readAllBytes(src);
      return Files.write(scratch("files").resolve(name + ".safetensors"), Arrays.copyOf(bytes, bytes.length / 2));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** A copy of {@code src} with its tensors edited (metadata kept). */
  static Path rewritten(Path src, String name, Consumer<Map<String, INDArray>> edit) {
    try (SafeTensorsReader r = SafeTensorsReader.open(src)) {
      Map<String, INDArray> tensors = new LinkedHashMap<>(r.readAll());
      edit.accept(tensors);
      Path dst = scratch("files").resolve(name + ".safetensors");
      SafeTensorsWriter.write(dst, tensors, r.metadata());
      return dst;
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** A copy of the data set whose first val file in {@code folder} keeps only a {@code fraction} of its bytes. */
  static Path damagedData(String name, String folder, String extension, double fraction) {
    try {
      Path root = scratch(name).resolve("data");
      copyTree(data, root);
      String id = Files.readAllLines(root.resolve("ImageSets/Context/val.txt")).get(0).trim();
      Path f = root.resolve(folder).resolve(id + extension);
      byte[] bytes = Files.readAllBytes(f);
      Files.write(f, Arrays.copyOf(bytes, (int) (bytes.length * fraction)));
      return root;
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** SHA-256 of every file below {@code dir} (the lock file aside: it records the last holder). */
  static Map<String, String> snapshot(Path dir) throws Exception {
    Map<String, String> hashes = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        if (Files.isRegularFile(p) && !p.getFileName().toString().equals(RunFolder.LOCK)) {
          hashes.put(dir.relativize(p).toString(),
              HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
        }
      }
    }
    return hashes;
  }
}
