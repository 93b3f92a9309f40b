package org.mtlora.data;

/**
 * One decoded PASCAL-Context sample at some resolution, as plain arrays in row-major order.
 *
 * @param id image id
 * @param height rows
 * @param width columns
 * @param image RGB, channel-planar {@code [3][H*W]} flattened, values 0..255
 * @param semseg class per pixel (0..20, 255 ignored)
 * @param parts human-part class per pixel (0..6, 255 ignored; all 255 when no person has parts)
 * @param sal saliency per pixel (0 or 1)
 * @param normals channel-planar {@code [3][H*W]} vectors; the zero vector where invalid (before {@link
 *     Transforms#finishNormals}), 255 in all channels where ignored (after)
 */
public record PascalSample(String id, int height, int width, float[] image, int[] semseg, int[] parts, int[] sal,
    float[] normals) {}
