/**
 * Synchronous data-parallel fine-tuning on Apache Spark: {@link org.mtlora.spark.SparkTrainer}. Each step, every
 * worker computes its shard's gradients of the trainable tensors only; Spark aggregates them ({@code treeAggregate});
 * the driver clips and applies AdamW exactly as on one machine and broadcasts the new trainable values. The semantics
 * are those of {@link org.mtlora.core.train.ShardedSteps}; checkpoints are the single-machine ones.
 */
package org.mtlora.spark;
