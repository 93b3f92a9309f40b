/**
 * Evaluation metrics of the reference (reference-spec §7): segmentation mIoU from a confusion matrix ({@link
 * org.mtlora.metrics.ConfusionMatrix}), saliency mIoU and maxF over thresholds ({@link
 * org.mtlora.metrics.SaliencyMeter}), normals mean angular error ({@link org.mtlora.metrics.NormalsMeter}) and the
 * multi-task delta against single-task baselines ({@link org.mtlora.metrics.DeltaM}). Pure Java over plain arrays;
 * tasks wrap them as {@link org.mtlora.metrics.TaskMeter}s.
 */
package org.mtlora.metrics;
