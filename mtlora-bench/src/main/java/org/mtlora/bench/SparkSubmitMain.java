package org.mtlora.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The main class for {@code spark-submit}: {@code mtlora train} on the master spark-submit was given ({@code
 * --spark-master submit}, unless the arguments name one). Arguments are {@code train}'s ({@code --workers},
 * {@code --pascal}, {@code --backbone-weights}, ...); docs/distributed.md has a cluster command line.
 */
public final class SparkSubmitMain {
  private SparkSubmitMain() {}

  public static void main(String[] args) {
    List<String> all = new ArrayList<>(List.of("train"));
    all.addAll(Arrays.asList(args));
    if (all.stream().noneMatch(a -> a.equals("--spark-master") || a.startsWith("--spark-master="))) {
      all.addAll(List.of("--spark-master", "submit"));
    }
    System.exit(MtloraCommand.commandLine().execute(all.toArray(String[]::new)));
  }
}
