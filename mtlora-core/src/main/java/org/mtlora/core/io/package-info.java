/** Tensor file formats: safetensors (read, memory-mapped, and atomic write) and NumPy {@code .npy} input. */
package org.mtlora.core.io;
