package org.mtlora.core.train;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The training data, as a function of the step: the batch of step k is always the same for a given source, so a
 * resumed run sees exactly the batches it would have seen. Placeholder name to array.
 */
@FunctionalInterface
public interface BatchSource {
  /** The placeholders of the batch at global step {@code step}. */
  Map<String, INDArray> batch(long step);
}
