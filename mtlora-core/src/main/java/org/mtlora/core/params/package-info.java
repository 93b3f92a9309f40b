/**
 * Parameters: every tensor's name (the reference's state_dict key), shape, {@link org.mtlora.core.params.Role} and
 * trainable flag, held in one {@link org.mtlora.core.params.ParameterRegistry}; {@link
 * org.mtlora.core.params.FreezePolicy freezing policies} decide what trains, and {@link
 * org.mtlora.core.params.ParameterReport} counts it.
 */
package org.mtlora.core.params;
