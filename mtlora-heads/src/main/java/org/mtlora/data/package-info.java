/**
 * The PASCAL-Context multi-task data set in its on-disk layout (reference-spec §6): {@link
 * org.mtlora.data.PascalContextDataset} reads JPEG images, palette-index PNG segmentation, MATLAB v5 human-part
 * annotations and label maps (through MFL), distilled normals and saliency; {@link org.mtlora.data.Transforms} resizes
 * with OpenCV's semantics; {@link org.mtlora.data.PascalBatches} serves seeded, step-indexed batches.
 */
package org.mtlora.data;
