package org.mtlora.bench;

import java.io.IOException;
import java.nio.file.Path;
import org.mtlora.data.NormalsValidClasses;
import org.mtlora.heads.MultiTaskConfig;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Options shared by {@code train} and {@code eval}: data, model shape and adapters, with the reference's defaults. */
final class PascalRunOptions {
  @Mixin ModelOptions model;

  @Option(names = "--pascal", required = true, description = "PASCAL-Context multi-task root (PASCAL_MT layout)")
  Path pascal;

  @Option(names = "--backbone-weights", required = true,
      description = "pretrained Swin weights (safetensors, official or reference names)")
  Path backboneWeights;

  @Option(names = "--normals-valid-classes",
      description = "file with the PASCAL-Context label-map class ids whose normals count (one id per line, "
          + "optionally a tab and a name; '#' comments); default: the reference's 170 classes (context classes shared "
          + "with NYUD-v2, plus tvmonitor), shipped with mtlora4j")
  Path normalsValid;

  @Option(names = "--batch", defaultValue = "32", description = "batch size (default ${DEFAULT-VALUE})")
  int batch;

  @Option(names = "--seed", defaultValue = "0", description = "seed (default ${DEFAULT-VALUE})")
  long seed;

  /**
   * Checks every value before any work, each failure naming its option: the model options (a model they describe can
   * be built), batch, the data root, the weights file and the normals class list.
   */
  void validate() throws IOException {
    model.validate();
    validateData();
  }

  /** As {@link #validate()} without the model options (when the model comes from an adapter folder). */
  void validateData() throws IOException {
    OptionChecks.atLeast("--batch", batch, 1);
    OptionChecks.folder("--pascal", pascal, "a PASCAL-Context root folder");
    OptionChecks.file("--backbone-weights", backboneWeights, "a safetensors file of Swin weights");
    if (normalsValid != null) {
      OptionChecks.file("--normals-valid-classes", normalsValid, "a file of class ids");
      normalsValidClasses();
    }
  }

  MultiTaskConfig config() {
    return model.config();
  }

  NormalsValidClasses normalsValidClasses() throws IOException {
    return normalsValid == null ? NormalsValidClasses.reference() : NormalsValidClasses.read(normalsValid);
  }
}
