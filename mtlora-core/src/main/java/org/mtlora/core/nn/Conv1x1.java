package org.mtlora.core.nn;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * A 1x1 convolution on NCHW maps, as PyTorch {@code nn.Conv2d(in, out, 1)}: a per-pixel linear layer, computed as a
 * 2-D matrix product on the channels-last pixels.
 */
public final class Conv1x1 {
  private Conv1x1() {}

  /**
   * @param x {@code [B, Cin, H, W]}
   * @param weight {@code [Cout, Cin, 1, 1]} (PyTorch layout)
   * @param bias {@code [Cout]} or null
   * @return {@code [B, Cout, H, W]}
   */
  public static SDVariable apply(SameDiff sd, SDVariable x, long cin, long h, long w, SDVariable weight,
      SDVariable bias) {
    long cout = weight.getShape()[0];
    SDVariable w2 = sd.reshape(weight, cout, cin); // [Cout, Cin]
    SDVariable rows = sd.reshape(sd.permute(x, 0, 2, 3, 1), -1, cin); // [B*H*W, Cin]
    SDVariable y = Linear.apply(sd, rows, w2, bias); // [B*H*W, Cout]
    return sd.permute(sd.reshape(y, -1, h, w, cout), 0, 3, 1, 2); // [B, Cout, H, W]
  }
}
