package org.mtlora.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code mtlora parity}: numerical parity with a reference fixture folder. */
@Command(
    name = "parity",
    mixinStandardHelpOptions = true,
    description = {
      "Compare the model with reference tensors: outputs, eval-mode heads, features, losses, gradients, batch-norm "
          + "buffers (whatever the folder holds). Exit status 0 on PASS, 1 on FAIL."
    })
final class ParityCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--fixture", required = true,
      description = "folder in the fixture format (config.json, weights.safetensors, input.npy, ...)")
  Path fixture;

  @Option(names = "--tolerance",
      description = "override: a number (every tensor must be within it, absolute) or CATEGORY.FIELD=VALUE, e.g. "
          + "grads.rel_to_tensor_max=1e-3; repeatable")
  List<String> tolerance = List.of();

  @Option(names = "--double", description = "run the model in float64 (to tell float32 rounding from real differences)")
  boolean useDouble;

  @Override
  public Integer call() throws Exception {
    Tolerances tol = Tolerances.read(fixture);
    for (String t : tolerance) {
      tol = tol.override(t);
    }
    FixtureParity.Result r = new FixtureParity(fixture, tol, spec.commandLine().getOut(),
        useDouble ? org.nd4j.linalg.api.buffer.DataType.DOUBLE : org.nd4j.linalg.api.buffer.DataType.FLOAT).run();
    return r.pass() ? 0 : 1;
  }
}
