/**
 * mtlora-core: everything that knows neither Swin nor PASCAL-Context.
 *
 * <ul>
 *   <li>{@link org.mtlora.core.nn}: gradient-verified SameDiff building blocks;</li>
 *   <li>{@link org.mtlora.core.adapter}: the MTLoRA linear layer;</li>
 *   <li>{@link org.mtlora.core.params}: the parameter registry, roles and freezing policies;</li>
 *   <li>{@link org.mtlora.core.io}: safetensors and {@code .npy} input/output.</li>
 * </ul>
 */
package org.mtlora.core;
