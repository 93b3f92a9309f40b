package org.mtlora.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mtlora.core.adapter.MtLoraConfig;
import org.mtlora.core.io.SafeTensorsWriter;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.ParamSpec;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.swin.SwinBackbone;
import org.mtlora.swin.SwinConfig;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Test files: random Swin weights under the official names, as a converted ImageNet checkpoint has them. */
final class TestWeights {
  private TestWeights() {}

  /** Random Swin-T (224) weights drawn from {@code seed}, written to {@code file}. */
  static Path swinTiny(Path file, long seed) throws IOException {
    SwinConfig swin = SwinConfig.tiny(224);
    List<String> tasks = List.of("semseg", "normals", "sal", "human_parts");
    MultiTaskModel plain = new MultiTaskModel(MultiTaskConfig.pascal(swin,
        MtLoraConfig.disabled(tasks, swin.numStages())));
    ParameterRegistry params = plain.newRegistry(FreezePolicy.FULL_FINETUNE, seed);
    Map<String, INDArray> official = new LinkedHashMap<>();
    for (ParamSpec s : params.specs()) {
      if (s.name().startsWith(SwinBackbone.PREFIX + ".")) {
        official.put(s.name().substring(SwinBackbone.PREFIX.length() + 1), params.get(s.name()));
      }
    }
    SafeTensorsWriter.write(file, official);
    return file;
  }
}
