/**
 * Tasks: everything the model, trainer and evaluator need to know of a dense prediction task — outputs, target, loss,
 * metric, Δm sign, random targets ({@link org.mtlora.tasks.Task}; nothing else in the library depends on which tasks
 * exist) — and
 * the four PASCAL-Context tasks of the paper ({@link org.mtlora.tasks.PascalTasks}).
 */
package org.mtlora.tasks;
