/**
 * The MTLoRA adapter layer (Agiza et al., CVPR 2024, §3): a frozen dense layer with a task-agnostic low-rank path
 * shared by all tasks and one task-specific low-rank path per task. The adapter maths lives only in {@link
 * org.mtlora.core.adapter.MtLoraLinear}. Where adapters go and how large they are: {@link
 * org.mtlora.core.adapter.AdapterConfig} (what a user writes: a {@link org.mtlora.core.adapter.Method} and {@link
 * org.mtlora.core.adapter.StageAdapters}), resolved against a backbone into {@link
 * org.mtlora.core.adapter.MtLoraConfig}.
 */
package org.mtlora.core.adapter;
