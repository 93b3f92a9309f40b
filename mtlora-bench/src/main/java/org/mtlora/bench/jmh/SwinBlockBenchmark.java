package org.mtlora.bench.jmh;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.mtlora.core.adapter.MtLoraConfig;
import org.mtlora.core.graph.Gradients;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.graph.SessionMemory;
import org.mtlora.core.params.FreezePolicy;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.swin.SwinBackbone;
import org.mtlora.swin.SwinConfig;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH: one MTLoRA Swin block (with its patch embedding) at the size of a Swin-T stage-1 block, forward and forward +
 * backward (gradients of the trainable parameters). The samediff-notes measurement (one stage-1 block, batch 2, 448)
 * is {@code -p imgSize=448 -p batch=2}. Run: {@code java -cp "mtlora-bench/target/mtlora-bench.jar:mtlora-bench/target/lib/*"
 * org.openjdk.jmh.Main SwinBlockBenchmark -p imgSize=224}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx3g", "-Dorg.bytedeco.javacpp.maxphysicalbytes=20G"})
@Warmup(iterations = 1)
@Measurement(iterations = 3)
public class SwinBlockBenchmark {
  @Param({"224"})
  public int imgSize;

  @Param({"1"})
  public int batch;

  private SameDiff sd;
  private String loss;
  private List<String> trainable;
  private Map<String, INDArray> feed;

  @Setup(Level.Trial)
  public void build() {
    SwinConfig swin = SwinConfig.builder().imgSize(imgSize).embedDim(96).depths(1).numHeads(3).build();
    MtLoraConfig lora = MtLoraConfig.mtlora(List.of("semseg"), 1, 16, 4);
    SwinBackbone block = new SwinBackbone(swin, lora);
    ParameterRegistry params = new ParameterRegistry();
    block.declare(params);
    params.initialise(0);
    params.applyPolicy(FreezePolicy.MTLORA);
    sd = SameDiff.create();
    GraphContext ctx = GraphContext.training(sd, params, DataType.FLOAT);
    SDVariable image = sd.placeHolder("image", DataType.FLOAT, -1, 3, imgSize, imgSize);
    SwinBackbone.StageFeatures out = block.apply(ctx, image).stages().get(0);
    SDVariable l = sd.mean(out.shared().mul(out.shared())).add(sd.mean(out.tasks().get("semseg")));
    loss = l.name();
    sd.setLossVariables(l);
    Gradients.prepare(sd);
    trainable = params.trainableNames();
    feed = new HashMap<>(ctx.masks().keepAll(batch, DataType.FLOAT));
    feed.put("image", Nd4j.rand(DataType.FLOAT, batch, 3, imgSize, imgSize));
  }

  @Benchmark
  public Object forward() {
    SessionMemory.ensureSession(sd); // the library's session (the only one that runs its training graphs' norms)
    return sd.output(feed, loss);
  }

  @Benchmark
  public Object forwardBackward() {
    return Gradients.calculate(sd, feed, List.of(), trainable).getGradients();
  }
}
