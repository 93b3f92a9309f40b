/**
 * The hierarchical Swin Transformer backbone (Liu et al., ICCV 2021) with MTLoRA adapters: patch embedding, window
 * attention with relative position bias, shifted windows, patch merging, and stages that emit a shared stream and one
 * stream per task. Built from the gradient-verified blocks of {@code org.mtlora.core.nn}. Knows task names (adapter
 * names), nothing of what the tasks are.
 *
 * <p>Tokens are held as rows {@code [B * H * W, C]} (row index {@code b*H*W + h*W + w}), the reference's {@code (B,
 * H*W, C)} flattened, so every dense layer is a plain 2-D product.
 */
package org.mtlora.swin;
