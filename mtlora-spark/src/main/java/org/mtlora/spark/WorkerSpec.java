package org.mtlora.spark;

import com.google.common.base.Preconditions;
import java.io.Serializable;
import org.mtlora.heads.ActivationCheckpointing;

/**
 * Everything an executor needs to build the same worker as every other: the model, the backbone file, the seed of
 * the initial values, the data recipe and the SHA-256 of the driver's frozen weights (an executor reading a different
 * backbone file refuses to compute). Travels once with each task; the worker it describes is built once per executor
 * thread and kept ({@link ExecutorWorkers}).
 *
 * @param runId identifies the run's workers in an executor's cache
 * @param modelJson {@link org.mtlora.heads.MultiTaskConfig#toJsonString()}
 * @param backboneWeights a path every executor can read
 */
record WorkerSpec(String runId, String modelJson, String backboneWeights, long initSeed,
    ActivationCheckpointing checkpointing, ShardData data, int workers, String frozenHash, ShardHook hook)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  WorkerSpec {
    Preconditions.checkArgument(workers >= 1, "workers must be >= 1, found %s", workers);
  }
}
