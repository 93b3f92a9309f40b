/**
 * The training engine: {@link org.mtlora.core.train.Trainer} (forward, weighted loss, gradients of the trainable
 * parameters, {@link org.mtlora.core.train.AdamW} update with decay groups, warmup + cosine {@link
 * org.mtlora.core.train.LrSchedule}, global gradient clipping, NaN guard), exact-resume {@link
 * org.mtlora.core.train.Checkpoints} (the trainer's own state, optimiser moments included), run folders and listeners for progress, CSV logs
 * and loss plots. Knows nothing of Swin or PASCAL: a model plugs in through {@link
 * org.mtlora.core.train.TrainableGraph}.
 */
package org.mtlora.core.train;
