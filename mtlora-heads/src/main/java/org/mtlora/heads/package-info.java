/**
 * Per-task downsamplers and dense decoders, the multi-task model (backbone + heads + weighted losses), its
 * configuration ({@link org.mtlora.heads.MultiTaskConfig}), evaluation and the self-describing adapter folder ({@link
 * org.mtlora.heads.AdapterFolder}). The tasks,
 * data and metrics live in the sibling packages {@code org.mtlora.tasks}, {@code org.mtlora.data} and {@code
 * org.mtlora.metrics}.
 */
package org.mtlora.heads;
