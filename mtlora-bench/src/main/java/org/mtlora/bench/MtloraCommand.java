package org.mtlora.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code mtlora} command: the entry point of {@code ./mtlora}. Each subcommand is its own class.
 */
@Command(
    name = "mtlora",
    mixinStandardHelpOptions = true,
    versionProvider = MtloraCommand.Version.class,
    description = "Multi-task low-rank adaptation (MTLoRA) of Swin Transformers on Deeplearning4j SameDiff.",
    subcommands = {DemoCommand.class, TrainCommand.class, EvalCommand.class, ExportCommand.class, PredictCommand.class,
      InfoCommand.class, ParamsCommand.class, ParityCommand.class, BenchCommand.class,
      BackboneBenchCommand.class,
      CommandLine.HelpCommand.class})
public final class MtloraCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** Runs the command line and exits with its status. */
  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line (used by {@link #main} and by tests). */
  static CommandLine commandLine() {
    return new CommandLine(new MtloraCommand()).setCaseInsensitiveEnumValuesAllowed(true)
        .setExecutionExceptionHandler((ex, cl, parsed) -> {
          // Bad input and I/O problems get one clear line; anything else is a bug and keeps its stack trace.
          if (ex instanceof IllegalArgumentException || ex instanceof IOException
              || ex instanceof java.io.UncheckedIOException
              || ex instanceof org.mtlora.core.train.TrainingDivergedException) {
            cl.getErr().println("mtlora " + cl.getCommandName() + ": error: " + ex.getMessage());
            cl.getErr().flush();
            return 1;
          }
          throw ex;
        });
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Build-time versions (filtered by Maven into version.properties). */
  static Properties buildInfo() {
    Properties p = new Properties();
    try (InputStream in = MtloraCommand.class.getResourceAsStream("version.properties")) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return p;
  }

  /** Prints the mtlora and ND4J versions. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      Properties p = buildInfo();
      return new String[] {
        "mtlora " + p.getProperty("mtlora.version", "unknown"),
        "nd4j " + p.getProperty("nd4j.version", "unknown") + " (" + p.getProperty("nd4j.backend.artifact", "?") + ")"
      };
    }
  }
}
