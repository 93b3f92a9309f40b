/**
 * The front door of mtlora4j: {@link org.mtlora.MtLoraModel} creates a multi-task Swin model with MTLoRA adapters
 * from a {@link org.mtlora.heads.MultiTaskConfig} and pretrained backbone weights, fine-tunes it ({@link
 * org.mtlora.TrainingConfig}, {@link org.mtlora.FitResult}), evaluates, predicts, and saves and reloads
 * self-describing adapter folders. Everything under it (model, registry, trainer) stays available for users who change
 * one piece.
 */
package org.mtlora;
