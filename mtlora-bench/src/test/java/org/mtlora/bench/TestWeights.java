package org.mtlora.bench;

import java.io.IOException;
import java.nio.file.Path;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.swin.SwinCheckpoints;
import org.mtlora.swin.SwinConfig;

/** Test files: random Swin weights under the official names, as a converted ImageNet checkpoint has them. */
final class TestWeights {
  private TestWeights() {}

  /** Random Swin-T (224) weights drawn from {@code seed}, written to {@code file}. */
  static Path swinTiny(Path file, long seed) throws IOException {
    SwinConfig swin = SwinConfig.tiny(224);
    MultiTaskModel plain = new MultiTaskModel(MultiTaskConfig.pascal(swin, AdapterConfig.fullFineTuning()));
    ParameterRegistry params = plain.newRegistry(seed);
    SwinCheckpoints.savePretrained(file, params);
    return file;
  }
}
