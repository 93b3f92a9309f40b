/**
 * mtlora-core: everything that knows neither Swin nor PASCAL-Context.
 *
 * <ul>
 *   <li>{@link org.mtlora.core.nn}: gradient-verified SameDiff building blocks and the frozen-weight product;</li>
 *   <li>{@link org.mtlora.core.graph}: the graph context, random masks, gradients and session memory;</li>
 *   <li>{@link org.mtlora.core.adapter}: the MTLoRA linear layer and the adapter specification ({@code Method},
 *       {@code AdapterConfig});</li>
 *   <li>{@link org.mtlora.core.params}: the parameter registry, roles and freezing policies;</li>
 *   <li>{@link org.mtlora.core.io}: safetensors and {@code .npy} input/output, atomic files, checkpoint loading and the
 *       checks on loaded tensors;</li>
 *   <li>{@link org.mtlora.core.train}: the trainer, optimiser, schedule, checkpoints, adapter files, run folders and
 *       training listeners.</li>
 * </ul>
 */
package org.mtlora.core;
