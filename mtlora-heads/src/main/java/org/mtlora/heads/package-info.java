/**
 * Per-task downsamplers and dense decoders and the multi-task model (backbone + heads + weighted losses). The tasks,
 * data and metrics live in the sibling packages {@code org.mtlora.tasks}, {@code org.mtlora.data} and {@code
 * org.mtlora.metrics}.
 */
package org.mtlora.heads;
