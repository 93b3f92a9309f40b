/**
 * File formats and input/output: safetensors (read, memory-mapped, and atomic write), NumPy {@code .npy} input,
 * atomic files, loading checkpoints of other programs ({@link org.mtlora.core.io.CheckpointLoader}), adapter files
 * ({@link org.mtlora.core.io.AdapterFiles}) and the headers and checks files share ({@link
 * org.mtlora.core.io.FileHeaders}, {@link org.mtlora.core.io.TensorChecks}), JSON configuration fields.
 */
package org.mtlora.core.io;
