package org.mtlora.core.nn;

import com.google.common.base.Preconditions;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Batch normalisation as PyTorch {@code nn.BatchNorm2d} (eps 1e-5, momentum 0.1), composed from reductions and
 * element-wise ops (SameDiff's batchNorm op has no working backward).
 *
 * <p>Works on channels-last rows {@code [N, C]} (statistics over all rows: for a feature map, all pixels of all
 * samples) or on NCHW maps {@code [B, C, H, W]} (statistics over B, H, W).
 *
 * <ul>
 *   <li>Training: normalises with the batch mean and the <em>biased</em> batch variance, and exposes the batch mean
 *       and the <em>unbiased</em> variance, with which {@link #updateRunning} moves the running statistics.
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
   * @param batchVarUnbiased {@code [C]}, the variance with Bessel's correction (n / (n - 1))
   */
  public record TrainOutput(SDVariable output, SDVariable batchMean, SDVariable batchVarUnbiased) {}

  /**
   * Normalises with batch statistics.
   *
   * @param x {@code [N, C]} or {@code [B, C, H, W]}
   * @param rank 2 or 4
   * @param count number of elements per channel the statistics run over (N, or B*H*W); must be &gt; 1
   */
  public static TrainOutput train(SameDiff sd, SDVariable x, int rank, long channels, long count, SDVariable gamma,
      SDVariable beta, double eps) {
    Preconditions.checkArgument(count > 1, "batch norm in training needs more than one value per channel, found %s",
        count);
    int[] dims = reduceDims(rank);
    SDVariable mean = sd.mean(x, true, dims);
    SDVariable centred = x.sub(mean);
    SDVariable var = sd.mean(centred.mul(centred), true, dims);
    SDVariable y = centred.mul(sd.math.rsqrt(var.add(eps)));
    y = affine(sd, y, rank, channels, gamma, beta);
    SDVariable meanC = sd.reshape(mean, channels);
    SDVariable varUnbiased = sd.reshape(var, channels).mul((double) count / (count - 1));
    return new TrainOutput(y, meanC, varUnbiased);
  }

  /** Normalises with running statistics {@code [C]} (evaluation mode). */
  public static SDVariable eval(SameDiff sd, SDVariable x, int rank, long channels, SDVariable runningMean,
      SDVariable runningVar, SDVariable gamma, SDVariable beta, double eps) {
    SDVariable mean = rank == 4 ? sd.reshape(runningMean, 1, channels, 1, 1) : runningMean;
    SDVariable var = rank == 4 ? sd.reshape(runningVar, 1, channels, 1, 1) : runningVar;
    SDVariable y = x.sub(mean).mul(sd.math.rsqrt(var.add(eps)));
    return affine(sd, y, rank, channels, gamma, beta);
  }

  /**
   * Moves running statistics in place: {@code running = (1 - momentum) * running + momentum * batch}, as PyTorch does
   * with the unbiased batch variance.
   */
  public static void updateRunning(INDArray runningMean, INDArray runningVar, INDArray batchMean,
      INDArray batchVarUnbiased, double momentum) {
    runningMean.muli(1 - momentum).addi(batchMean.castTo(runningMean.dataType()).mul(momentum));
    runningVar.muli(1 - momentum).addi(batchVarUnbiased.castTo(runningVar.dataType()).mul(momentum));
  }

  private static SDVariable affine(SameDiff sd, SDVariable y, int rank, long channels, SDVariable gamma,
      SDVariable beta) {
    if (gamma != null) {
      y = y.mul(rank == 4 ? sd.reshape(gamma, 1, channels, 1, 1) : gamma);
    }
    if (beta != null) {
      y = y.add(rank == 4 ? sd.reshape(beta, 1, channels, 1, 1) : beta);
    }
    return y;
  }

  private static int[] reduceDims(int rank) {
    Preconditions.checkArgument(rank == 2 || rank == 4, "batch norm input must be [N, C] or [B, C, H, W], rank %s",
        rank);
    return rank == 2 ? new int[] {0} : new int[] {0, 2, 3};
  }
}
