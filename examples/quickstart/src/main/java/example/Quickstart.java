package example;

import java.nio.file.Path;
import java.util.Map;
import org.mtlora.MtLoraModel;
import org.mtlora.TrainingConfig;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.data.PascalBatches;
import org.mtlora.data.PascalContextDataset;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.swin.SwinConfig;

/** Fine-tune, evaluate, save and reload MTLoRA adapters through the front door: {@code PASCAL_ROOT WEIGHTS OUT}. */
public final class Quickstart {
  public static void main(String[] args) throws Exception {
    run(SwinConfig.tiny(448), Path.of(args[0]), Path.of(args[1]), Path.of(args[2]), 1000, 8);
  }

  /** Returns the metrics of the reloaded model. */
  static Map<String, Double> run(SwinConfig swin, Path pascal, Path weights, Path out, long steps, int batch)
      throws Exception {
    MultiTaskConfig config = MultiTaskConfig.pascal(swin, AdapterConfig.mtlora(16, 4));
    MtLoraModel model = MtLoraModel.create(config, weights);
    model.printTrainableParameters();
    var train = new PascalBatches(new PascalContextDataset(pascal, "train"), swin.imgSize(), batch, 0, true);
    var val = new PascalBatches(new PascalContextDataset(pascal, "val"), swin.imgSize(), batch, 0, false);
    model.fit(train, TrainingConfig.builder(steps).runDir(out.resolve("run")).build());
    System.out.println("fine-tuned: " + model.evaluate(val, val.evaluationBatches()));
    model.saveAdapters(out.resolve("adapters"));
    MtLoraModel reloaded = MtLoraModel.fromAdapters(out.resolve("adapters"), weights);
    return reloaded.evaluate(val, val.evaluationBatches());
  }
}
