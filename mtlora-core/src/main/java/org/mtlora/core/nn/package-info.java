/**
 * SameDiff building blocks built only from ops whose backward pass is verified in SameDiff 1.0.0-M2.1 (2-D and
 * rank-4 mmul, reshape, permute, strided slice, concat, softmax, erf, reductions, element-wise arithmetic).
 *
 * <p>Each block is a small stateless class whose static methods add ops to a graph and return the output variable;
 * each has a forward test against an independent computation and a double-precision finite-difference gradient
 * check. Ops that are broken in backward (gather, roll, resizeBilinear, batchNorm, dropout, tensorMmul, batchMmul,
 * logSoftmax on an explicit axis, rank-3 by rank-2 mmul, preciseGelu) are never used; see
 * {@code ../shared/docs/samediff-notes.md}. Training batch and layer norms on rows are one op each way that computes
 * itself in Java ({@link org.mtlora.core.nn.BatchNormTraining}, {@link org.mtlora.core.nn.LayerNormTraining}: {@link
 * org.mtlora.core.graph.JavaOp}s), run by the project's session ({@link org.mtlora.core.graph.SessionMemory}); SameDiff's
 * own session and {@code fit} cannot run them.
 */
package org.mtlora.core.nn;
