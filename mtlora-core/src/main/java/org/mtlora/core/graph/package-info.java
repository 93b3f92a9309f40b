/**
 * The plumbing a model's graph needs while blocks add themselves and while it runs, apart from the blocks:
 * {@link org.mtlora.core.graph.GraphContext} (graph, registry, mode, masks, data type; whether the registry changed
 * since the graph was built), {@link org.mtlora.core.graph.RandomMasks} (every stochastic mask drawn from (seed, step)),
 * {@link org.mtlora.core.graph.Gradients} (the backward function without per-op console output) and {@link
 * org.mtlora.core.graph.SessionMemory} (freeing a session's arrays between runs).
 */
package org.mtlora.core.graph;
