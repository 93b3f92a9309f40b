package org.mtlora.data;

import com.google.common.base.Preconditions;

/**
 * The reference's transforms with OpenCV semantics (reference-spec §6): nearest resize for labels
 * ({@code src = min(floor(d * in / out), in - 1)}), bicubic resize for images and normals (a = -0.75, half-pixel
 * centres, replicated border, no clipping), horizontal flip (normals' x negated), normals renormalisation with
 * ignore regions, the image's {@code astype(uint8)} and ImageNet normalisation. Pure functions over arrays.
 */
public final class Transforms {
  /** ImageNet mean and std per RGB channel. */
  static final float[] MEAN = {0.485f, 0.456f, 0.406f};
  static final float[] STD = {0.229f, 0.224f, 0.225f};

  private Transforms() {}

  /** Nearest-neighbour resize of a label map (cv2.INTER_NEAREST). */
  public static int[] resizeNearest(int[] src, int h, int w, int outH, int outW) {
    int[] out = new int[outH * outW];
    for (int y = 0; y < outH; y++) {
      int sy = Math.min((int) Math.floor((double) y * h / outH), h - 1);
      for (int x = 0; x < outW; x++) {
        int sx = Math.min((int) Math.floor((double) x * w / outW), w - 1);
        out[y * outW + x] = src[sy * w + sx];
      }
    }
    return out;
  }

  /** Bicubic resize (cv2.INTER_CUBIC) of channel-planar data {@code [c][h*w]}. */
  public static float[] resizeBicubic(float[] src, int c, int h, int w, int outH, int outW) {
    Preconditions.checkArgument(src.length == c * h * w, "expected %s values, found %s", c * h * w, src.length);
    if (h == outH && w == outW) {
      return src.clone();
    }
    int[][] yi = new int[outH][4];
    double[][] yw = new double[outH][];
    for (int y = 0; y < outH; y++) {
      yw[y] = taps(y, h, outH, yi[y]);
    }
    int[][] xi = new int[outW][4];
    double[][] xw = new double[outW][];
    for (int x = 0; x < outW; x++) {
      xw[x] = taps(x, w, outW, xi[x]);
    }
    float[] out = new float[c * outH * outW];
    for (int k = 0; k < c; k++) {
      int base = k * h * w;
      for (int y = 0; y < outH; y++) {
        for (int x = 0; x < outW; x++) {
          double v = 0;
          for (int a = 0; a < 4; a++) {
            double row = 0;
            for (int b = 0; b < 4; b++) {
              row += xw[x][b] * src[base + yi[y][a] * w + xi[x][b]];
            }
            v += yw[y][a] * row;
          }
          out[k * outH * outW + y * outW + x] = (float) v;
        }
      }
    }
    return out;
  }

  /** The 4 source indices (clamped) and weights of output index {@code d}. */
  private static double[] taps(int d, int in, int out, int[] idx) {
    double scale = (double) in / out;
    double f = (d + 0.5) * scale - 0.5;
    int s = (int) Math.floor(f);
    for (int k = 0; k < 4; k++) {
      idx[k] = Math.min(Math.max(s - 1 + k, 0), in - 1);
    }
    return cubicWeights(f - s);
  }

  /**
   * The reference's ScaleNRotate: {@code cv2.getRotationMatrix2D((w/2, h/2), rot, scale)} and a warp to the same size
   * with a constant 0 border — nearest sampling (rounded source position) for the label maps, bicubic for the image
   * and the normals, whose (x, y) components are first rotated in-plane by {@code rot}. Padded areas become class 0
   * (background) for segmentation and parts, 0 for saliency, and zero normals (ignored after {@link #finishNormals}).
   *
   * @param rotDegrees rotation in degrees (the reference draws U(-20, 20))
   * @param scale scale factor (the reference draws U(0.75, 1.25))
   */
  public static PascalSample scaleAndRotate(PascalSample s, double rotDegrees, double scale) {
    int h = s.height();
    int w = s.width();
    double a = scale * Math.cos(Math.toRadians(rotDegrees));
    double b = scale * Math.sin(Math.toRadians(rotDegrees));
    double cx = w / 2.0;
    double cy = h / 2.0;
    // forward map src -> dst: [a, b, (1-a)cx - b cy; -b, a, b cx + (1-a) cy]; sampling uses its inverse
    double m02 = (1 - a) * cx - b * cy;
    double m12 = b * cx + (1 - a) * cy;
    double det = a * a + b * b;
    double[] inv = {a / det, -b / det, -(a * m02 - b * m12) / det, b / det, a / det, -(b * m02 + a * m12) / det};
    float[] normals = s.normals().clone();
    int n = h * w;
    double rot = Math.toRadians(rotDegrees);
    for (int i = 0; i < n; i++) {
      double x = normals[i];
      double y = normals[n + i];
      double r = Math.sqrt(x * x + y * y);
      double inPlane = Math.atan2(x, y);
      normals[i] = (float) (Math.sin(inPlane + rot) * r);
      normals[n + i] = (float) (Math.cos(inPlane + rot) * r);
    }
    return new PascalSample(s.id(), h, w, warpCubic(s.image(), 3, h, w, inv), warpNearest(s.semseg(), h, w, inv),
        warpNearest(s.parts(), h, w, inv), warpNearest(s.sal(), h, w, inv), warpCubic(normals, 3, h, w, inv));
  }

  private static int[] warpNearest(int[] src, int h, int w, double[] inv) {
    int[] out = new int[h * w];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int sx = (int) Math.round(inv[0] * x + inv[1] * y + inv[2]);
        int sy = (int) Math.round(inv[3] * x + inv[4] * y + inv[5]);
        out[y * w + x] = sx < 0 || sy < 0 || sx >= w || sy >= h ? 0 : src[sy * w + sx];
      }
    }
    return out;
  }

  private static float[] warpCubic(float[] src, int c, int h, int w, double[] inv) {
    float[] out = new float[src.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        double fx = inv[0] * x + inv[1] * y + inv[2];
        double fy = inv[3] * x + inv[4] * y + inv[5];
        int ix = (int) Math.floor(fx);
        int iy = (int) Math.floor(fy);
        double[] wx = cubicWeights(fx - ix);
        double[] wy = cubicWeights(fy - iy);
        for (int k = 0; k < c; k++) {
          double v = 0;
          for (int j = 0; j < 4; j++) {
            int yy = iy - 1 + j;
            if (yy < 0 || yy >= h) {
              continue; // constant 0 border
            }
            for (int i = 0; i < 4; i++) {
              int xx = ix - 1 + i;
              if (xx >= 0 && xx < w) {
                v += wy[j] * wx[i] * src[(k * h + yy) * w + xx];
              }
            }
          }
          out[(k * h + y) * w + x] = (float) v;
        }
      }
    }
    return out;
  }

  private static double[] cubicWeights(double t) {
    double a = -0.75;
    double w0 = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a;
    double w1 = ((a + 2) * t - (a + 3)) * t * t + 1;
    double w2 = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1;
    return new double[] {w0, w1, w2, 1 - w0 - w1 - w2};
  }

  /** Mirrors a sample left-right; the normals' x component changes sign. */
  public static PascalSample flipHorizontal(PascalSample s) {
    int h = s.height();
    int w = s.width();
    float[] normals = flip(s.normals(), 3, h, w);
    int n = h * w;
    for (int i = 0; i < n; i++) {
      if (normals[i] != 255f) {
        normals[i] = -normals[i];
      }
    }
    return new PascalSample(s.id(), h, w, flip(s.image(), 3, h, w), flip(s.semseg(), h, w), flip(s.parts(), h, w),
        flip(s.sal(), h, w), normals);
  }

  private static float[] flip(float[] a, int c, int h, int w) {
    float[] out = new float[a.length];
    for (int k = 0; k < c; k++) {
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          out[(k * h + y) * w + x] = a[(k * h + y) * w + (w - 1 - x)];
        }
      }
    }
    return out;
  }

  private static int[] flip(int[] a, int h, int w) {
    int[] out = new int[a.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        out[y * w + x] = a[y * w + (w - 1 - x)];
      }
    }
    return out;
  }

  /**
   * Fixed resize to {@code size x size} (nearest for labels, bicubic for image and normals), then the normals'
   * renormalisation and ignore regions.
   */
  public static PascalSample resize(PascalSample s, int size) {
    int h = s.height();
    int w = s.width();
    return new PascalSample(s.id(), size, size, resizeBicubic(s.image(), 3, h, w, size, size),
        resizeNearest(s.semseg(), h, w, size, size), resizeNearest(s.parts(), h, w, size, size),
        resizeNearest(s.sal(), h, w, size, size), finishNormals(resizeBicubic(s.normals(), 3, h, w, size, size)));
  }

  /** Unit-normalises every normal; a zero vector (invalid) becomes 255 in all three channels (AddIgnoreRegions). */
  public static float[] finishNormals(float[] planar) {
    int n = planar.length / 3;
    float[] out = planar.clone();
    for (int i = 0; i < n; i++) {
      double x = planar[i];
      double y = planar[n + i];
      double z = planar[2 * n + i];
      double sq = x * x + y * y + z * z;
      if (sq == 0) {
        out[i] = out[n + i] = out[2 * n + i] = 255f;
      } else {
        double norm = Math.sqrt(sq) + 1e-12;
        out[i] = (float) (x / norm);
        out[n + i] = (float) (y / norm);
        out[2 * n + i] = (float) (z / norm);
      }
    }
    return out;
  }

  /** {@code astype(uint8)} (truncation, wrapping out-of-range cubic overshoot), / 255, ImageNet normalisation. */
  public static float[] normaliseImage(float[] planar) {
    int n = planar.length / 3;
    float[] out = new float[planar.length];
    for (int k = 0; k < 3; k++) {
      for (int i = 0; i < n; i++) {
        int u8 = ((int) planar[k * n + i]) & 0xFF;
        out[k * n + i] = (u8 / 255f - MEAN[k]) / STD[k];
      }
    }
    return out;
  }
}
