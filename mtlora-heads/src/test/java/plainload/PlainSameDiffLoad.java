package plainload;

import java.io.File;
import java.util.Map;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A program that knows nothing of mtlora4j: it loads an exported model with plain {@code SameDiff.load} and writes
 * each task's output. {@code InferenceModelTest} runs it in its own JVM with only ND4J on the class path. Arguments:
 * {@code model.sd input.npy outDir task...}.
 */
public final class PlainSameDiffLoad {
  private PlainSameDiffLoad() {}

  public static void main(String[] args) throws Exception {
    try {
      Class.forName("org.mtlora.core.nn.FrozenWeightMatmul");
      System.out.println("mtlora4j is on the class path");
      System.exit(3);
    } catch (ClassNotFoundException expected) {
      // as it should be
    }
    SameDiff sd = SameDiff.load(new File(args[0]), true);
    INDArray x = Nd4j.createFromNpyFile(new File(args[1]));
    for (int i = 3; i < args.length; i++) {
      INDArray y = sd.outputSingle(Map.of("input", x), "out/" + args[i]);
      Nd4j.writeAsNumpy(y, new File(args[2], args[i] + ".npy"));
    }
    System.out.println("ok");
  }
}
