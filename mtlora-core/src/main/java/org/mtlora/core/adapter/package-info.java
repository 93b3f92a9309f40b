/**
 * The MTLoRA adapter layer (Agiza et al., CVPR 2024, §3): a frozen dense layer with a task-agnostic low-rank path
 * shared by all tasks and one task-specific low-rank path per task. The adapter maths lives only in {@link
 * org.mtlora.core.adapter.MtLoraLinear}.
 */
package org.mtlora.core.adapter;
