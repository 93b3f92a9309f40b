package org.mtlora.core.train;

import com.google.common.collect.ImmutableMap;

/**
 * What one training step did.
 *
 * @param step global step index (0-based)
 * @param totalSteps steps of the whole run
 * @param taskLosses each task's loss
 * @param totalLoss the weighted total
 * @param lr learning rate used
 * @param gradNorm global gradient norm before clipping
 * @param seconds wall time of the step
 */
public record StepResult(long step, long totalSteps, ImmutableMap<String, Double> taskLosses, double totalLoss,
    double lr, double gradNorm, double seconds) {}
