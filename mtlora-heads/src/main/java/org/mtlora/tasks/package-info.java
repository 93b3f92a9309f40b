/**
 * Tasks: what each dense prediction task outputs and how its loss is computed ({@link org.mtlora.tasks.Task}), and
 * the four PASCAL-Context tasks of the paper ({@link org.mtlora.tasks.PascalTasks}).
 */
package org.mtlora.tasks;
