package org.mtlora.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import org.apache.spark.TaskContext;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.core.train.ShardResult;
import org.mtlora.core.train.ShardWorker;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.swin.SwinCheckpoints;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The executor side: builds a run's {@link ShardWorker}s (graph, registry, data) on first use and keeps them for the
 * next steps — a graph is built once per executor thread, not per step. This is the project's one JVM-wide mutable
 * state, and deliberately so: an executor JVM outlives the tasks that Spark sends it, and the cache is what lets
 * step {@code k + 1} reuse step {@code k}'s graph. A worker whose task failed is dropped, not reused.
 */
final class ExecutorWorkers {
  private static final Map<String, ConcurrentLinkedDeque<ShardWorker>> IDLE = new ConcurrentHashMap<>();

  private ExecutorWorkers() {}

  /** Worker {@code rank}'s shard of the broadcast step, on a cached (or new) worker of {@code spec}'s run. */
  static ShardResult compute(WorkerSpec spec, StepInput in, int rank) throws Exception {
    TaskContext task = TaskContext.get();
    spec.hook().beforeShard(in.step(), rank, task == null ? 0 : task.attemptNumber());
    ConcurrentLinkedDeque<ShardWorker> idle = IDLE.computeIfAbsent(spec.runId(), k -> new ConcurrentLinkedDeque<>());
    ShardWorker worker = idle.poll();
    if (worker == null) {
      worker = build(spec);
    }
    worker.load(in.trainable(), in.buffers());
    ShardResult result = worker.compute(in.step(), in.seed(), rank, spec.workers());
    idle.push(worker); // only after success: a failed computation may have left the worker half-way
    return result;
  }

  /** Forgets a run's workers (in this JVM). */
  static void release(String runId) {
    IDLE.remove(runId);
  }

  /** Number of cached workers of a run in this JVM (idle ones). */
  static int cached(String runId) {
    ConcurrentLinkedDeque<ShardWorker> idle = IDLE.get(runId);
    return idle == null ? 0 : idle.size();
  }

  /** Graph construction touches SameDiff's global op registry: one at a time. */
  private static synchronized ShardWorker build(WorkerSpec spec) throws IOException {
    MultiTaskConfig config = MultiTaskConfig.fromJson(new ObjectMapper().readTree(spec.modelJson()));
    MultiTaskModel model = new MultiTaskModel(config);
    ParameterRegistry params = model.newRegistry(spec.initSeed());
    Path weights = Path.of(spec.backboneWeights());
    SwinCheckpoints.loadPretrained(weights, params, true);
    String hash = params.frozenHash();
    if (!hash.equals(spec.frozenHash())) {
      throw new IllegalStateException(String.format("executor %s: the frozen weights read from %s (sha256 %s) differ "
          + "from the driver's (sha256 %s); every executor must read the same backbone file", host(), weights,
          hash, spec.frozenHash()));
    }
    try {
      return new ShardWorker(model.trainingGraph(params, DataType.FLOAT, spec.checkpointing()), spec.data().open());
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private static String host() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "(unknown host)";
    }
  }
}
