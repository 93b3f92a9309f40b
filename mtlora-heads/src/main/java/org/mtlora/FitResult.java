package org.mtlora;

import java.nio.file.Path;
import java.util.Optional;

/**
 * What {@link MtLoraModel#fit} did.
 *
 * @param steps the run's steps (all done)
 * @param lastLoss the weighted total loss of the last step run by this call (NaN if it resumed a finished run)
 * @param lastCheckpoint the newest checkpoint, with a run folder
 * @param adapters the adapter folder written at the end, with a run folder
 */
public record FitResult(long steps, double lastLoss, Optional<Path> lastCheckpoint, Optional<Path> adapters) {}
