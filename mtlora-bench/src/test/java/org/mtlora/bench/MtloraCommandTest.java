package org.mtlora.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MtloraCommandTest {
  private record Result(int status, String out, String err) {}

  private static Result run(String... args) {
    CommandLine cl = MtloraCommand.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int status = cl.execute(args);
    return new Result(status, out.toString(), err.toString());
  }

  @Test
  void helpListsTheCommands() {
    Result r = run("--help");
    assertEquals(0, r.status());
    assertTrue(r.out().contains("info"), r.out());
  }

  /** train and eval state the default of --normals-valid-classes: the reference's 170 classes. */
  @Test
  void trainAndEvalHelpStateTheNormalsDefault() {
    for (String command : new String[] {"train", "eval"}) {
      Result r = run(command, "--help");
      assertEquals(0, r.status(), r.err());
      String help = r.out().replaceAll("\\s+", " ");
      assertTrue(help.contains("--normals-valid-classes") && help.contains("default: the reference's 170 classes"),
          r.out());
    }
  }

  /** Every command builds the same model from the same flags: one task order, one checkpointing default. */
  @Test
  void commandsShareTheirModelDefaults() {
    CommandLine cl = MtloraCommand.commandLine();
    java.util.Set<String> taskDefaults = new java.util.TreeSet<>();
    for (String c : new String[] {"train", "eval", "params", "bench", "bench-backbone"}) {
      taskDefaults.add(cl.getSubcommands().get(c).getCommandSpec().findOption("--tasks").defaultValue());
    }
    assertEquals(java.util.Set.of("semseg,normals,sal,human_parts"), taskDefaults);
    assertEquals(cl.getSubcommands().get("train").getCommandSpec().findOption("--activation-checkpointing")
        .defaultValue(), cl.getSubcommands().get("bench").getCommandSpec().findOption("--activation-checkpointing")
        .defaultValue());
  }

  @Test
  void infoReportsBackendBlasThreadsAndMemoryLimits() {
    Result r = run("info");
    assertEquals(0, r.status(), r.err());
    for (String key : new String[] {"nd4j backend               CpuBackend", "blas vendor", "blas threads",
        "nd4j max threads", "replayed forwards", "jvm collector", "javacpp maxbytes", "javacpp maxphysicalbytes",
        "mtlora version", "nd4j version"}) {
      assertTrue(r.out().contains(key), "missing '" + key + "' in\n" + r.out());
    }
  }

  @Test
  void infoNamesTheCollectorFromItsBeans() {
    assertEquals("serial", InfoCommand.collectorName(List.of("Copy", "MarkSweepCompact")));
    assertEquals("G1", InfoCommand.collectorName(List.of("G1 Young Generation", "G1 Old Generation")));
    assertEquals("parallel", InfoCommand.collectorName(List.of("PS Scavenge", "PS MarkSweep")));
    assertEquals("ZGC Cycles, ZGC Pauses", InfoCommand.collectorName(List.of("ZGC Cycles", "ZGC Pauses")));
  }

  @Test
  void badOptionValuesGiveOneClearLine() {
    Result r = run("bench", "--mode", "fit");
    assertEquals(1, r.status());
    assertTrue(r.err().contains("mtlora bench: error: --mode must be train or eval, found 'fit'"), r.err());
    Result p = run("params", "--method", "bitfit");
    assertEquals(1, p.status());
    assertTrue(p.err().contains("--method bitfit: unknown method 'bitfit'"), p.err());
    Result alias = run("params", "--policy", "lora-only", "--img-size", "224");
    assertEquals(0, alias.status(), alias.err());
    assertTrue(alias.out().contains("method lora-only, shared rank 16\n"), alias.out());
  }

  @Test
  void unknownCommandFailsWithUsage() {
    Result r = run("frobnicate");
    assertEquals(2, r.status());
    assertTrue(r.err().contains("Unmatched argument") || r.err().contains("Unknown"), r.err());
  }
}
