package org.mtlora.core.nn;

import com.google.common.base.Preconditions;
import java.util.Map;
import org.mtlora.core.graph.GraphContext;
import org.mtlora.core.params.ParameterRegistry;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Batch normalisation as PyTorch {@code nn.BatchNorm2d} (eps 1e-5, momentum 0.1). In training, rows with a scale and a
 * shift (the HRNet heads') are one op each way, computed in Java ({@link BatchNormTraining}: statistics in float64
 * read from the float rows, the backward in closed form); NCHW maps, rows without them and evaluation are composed from
 * reductions and element-wise ops (SameDiff's batchNorm op has no working backward).
 *
 * <p>Works on channels-last rows {@code [N, C]} (statistics over all rows: for a feature map, all pixels of all
 * samples) or on NCHW maps {@code [B, C, H, W]} (statistics over B, H, W).
 *
 * <ul>
 *   <li>Training: normalises with the batch mean and the <em>biased</em> batch variance, and exposes both, with which
 *       {@link #updateRunning} moves the running statistics (using the <em>unbiased</em> variance, as PyTorch does).
 *   <li>Evaluation: normalises with the running statistics.
 * </ul>
 */
public final class BatchNorm {
  /** PyTorch's default epsilon. */
  public static final double DEFAULT_EPS = 1e-5;
  /** PyTorch's default momentum for the running statistics. */
  public static final double DEFAULT_MOMENTUM = 0.1;

  private BatchNorm() {}

  /**
   * Training-mode output and the batch statistics for the running update.
   *
   * @param output normalised input, same shape
   * @param batchMean {@code [C]}
   * @param batchVar {@code [C]}, the biased variance used for normalising
   */
  public record TrainOutput(SDVariable output, SDVariable batchMean, SDVariable batchVar) {}

  /**
   * Normalises with batch statistics.
   *
   * @param x {@code [N, C]} or {@code [B, C, H, W]}
   * @param rank 2 or 4
   */
  public static TrainOutput train(SameDiff sd, SDVariable x, int rank, long channels, SDVariable gamma,
      SDVariable beta, double eps) {
    int[] dims = reduceDims(rank);
    if (rank == 2 && gamma != null && beta != null && !GraphContext.isInferenceOnly(sd)) {
      // one op each way, its statistics in float64 without float64 copies of the input (BatchNormTraining)
      SDVariable[] out = BatchNormTraining.apply(sd, x, gamma, beta, eps);
      return new TrainOutput(out[0], out[1], out[2]);
    }
    // Statistics accumulate in float64, as PyTorch's CPU kernel does (acc_type<float> = double): a float32 sum over
    // B*H*W values is off by ~sqrt(n) ulps, which 1/sigma then amplifies in every normalised value.
    DataType type = x.dataType();
    SDVariable wide = type == DataType.DOUBLE ? x : x.castTo(DataType.DOUBLE);
    SDVariable meanWide;
    SDVariable centredWide;
    SDVariable varWide;
    if (rank == 2) {
      // means as products with a column of 1/N: their backwards keep neither x nor the squares alive (ColumnCentring)
      ColumnCentring.Statistics stats = ColumnCentring.statistics(sd, wide, channels);
      meanWide = stats.mean();
      centredWide = stats.centred();
      varWide = stats.variance();
    } else {
      meanWide = sd.mean(wide, true, dims);
      centredWide = wide.sub(meanWide);
      varWide = sd.mean(centredWide.mul(centredWide), true, dims);
    }
    SDVariable mean = narrow(meanWide, type);
    SDVariable var = narrow(varWide, type);
    SDVariable invStd = narrow(sd.math.rsqrt(varWide.add(eps)), type);
    SDVariable y = scaleShift(sd, x, rank, channels, mean, invStd, gamma, beta);
    return new TrainOutput(y, sd.reshape(mean, channels), sd.reshape(var, channels));
  }

  /** Normalises with running statistics {@code [C]} (evaluation mode). */
  public static SDVariable eval(SameDiff sd, SDVariable x, int rank, long channels, SDVariable runningMean,
      SDVariable runningVar, SDVariable gamma, SDVariable beta, double eps) {
    return scaleShift(sd, x, rank, channels, runningMean, sd.math.rsqrt(runningVar.add(eps)), gamma, beta);
  }

  /**
   * Moves running statistics in place as PyTorch does: {@code mean = (1 - m) mean + m batchMean}, {@code var = (1 -
   * m) var + m batchVar * n / (n - 1)} (the unbiased batch variance).
   *
   * @param count values per channel the batch statistics ran over (N, or B*H*W); must be &gt; 1
   */
  public static void updateRunning(INDArray runningMean, INDArray runningVar, INDArray batchMean, INDArray batchVar,
      long count, double momentum) {
    Preconditions.checkArgument(count > 1, "batch norm in training needs more than one value per channel, found %s",
        count);
    INDArray unbiased = batchVar.castTo(runningVar.dataType()).mul((double) count / (count - 1));
    runningMean.muli(1 - momentum).addi(batchMean.castTo(runningMean.dataType()).mul(momentum));
    runningVar.muli(1 - momentum).addi(unbiased.muli(momentum));
  }

  /**
   * One batch norm's running update after a training forward: PyTorch's buffers {@code <prefix>.running_mean},
   * {@code <prefix>.running_var} and {@code <prefix>.num_batches_tracked}, from the graph's batch statistics.
   *
   * @param prefix parameter prefix of the batch norm
   * @param meanVariable graph variable of the batch mean {@code [C]}
   * @param varVariable graph variable of the biased batch variance {@code [C]}
   * @param countPerSample values per channel and sample (the spatial size)
   */
  public record RunningUpdate(String prefix, String meanVariable, String varVariable, long countPerSample) {
    /** Applies the update (momentum 0.1) with the statistics of a forward's {@code results} and counts the batch. */
    public void apply(ParameterRegistry params, Map<String, INDArray> results, int batch) {
      updateRunning(params.get(prefix + ".running_mean"), params.get(prefix + ".running_var"),
          results.get(meanVariable), results.get(varVariable), countPerSample * batch, DEFAULT_MOMENTUM);
      INDArray n = params.get(prefix + ".num_batches_tracked");
      n.assign(n.getDouble(0) + 1);
    }
  }

  private static SDVariable narrow(SDVariable v, DataType type) {
    return v.dataType() == type ? v : v.castTo(type);
  }

  /**
   * {@code y = x * alpha + shift} with {@code alpha = invStd * gamma} and {@code shift = beta - mean * alpha} per
   * channel, the order PyTorch's CPU kernel evaluates batch norm in: two full-size element-wise ops instead of four.
   */
  private static SDVariable scaleShift(SameDiff sd, SDVariable x, int rank, long channels, SDVariable mean,
      SDVariable invStd, SDVariable gamma, SDVariable beta) {
    SDVariable alpha = sd.reshape(invStd, channels);
    if (gamma != null) {
      alpha = alpha.mul(gamma);
    }
    SDVariable shift = sd.reshape(mean, channels).mul(alpha).neg();
    if (beta != null) {
      shift = beta.add(shift);
    }
    long[] perChannel = rank == 4 ? new long[] {1, channels, 1, 1} : new long[] {1, channels};
    alpha = sd.reshape(alpha, perChannel);
    shift = sd.reshape(shift, perChannel);
    // a broadcasting product whose backward is not SameDiff's slow multiply_bp (BroadcastProduct)
    SDVariable scaled = BroadcastProduct.apply(sd, x, alpha, perChannel);
    return rank == 2 ? BroadcastSum.apply(sd, scaled, shift, perChannel) : scaled.add(shift);
  }

  private static int[] reduceDims(int rank) {
    Preconditions.checkArgument(rank == 2 || rank == 4, "batch norm input must be [N, C] or [B, C, H, W], rank %s",
        rank);
    return rank == 2 ? new int[] {0} : new int[] {0, 2, 3};
  }
}
