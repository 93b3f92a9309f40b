package org.mtlora.tasks;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.List;

/**
 * The PASCAL-Context tasks of MTLoRA with the reference's outputs, losses and weights (reference-spec §5):
 * semantic segmentation (21 classes, weight 1), human parts (7, weight 2), saliency (1, weight 5), surface normals
 * (3, weight 10).
 */
public final class PascalTasks {
  private PascalTasks() {}

  public static final Task SEMSEG = new SegmentationTask("semseg", 21, 1.0);
  public static final Task HUMAN_PARTS = new SegmentationTask("human_parts", 7, 2.0);
  public static final Task SAL = new SaliencyTask("sal", 5.0);
  public static final Task NORMALS = new NormalsTask("normals", 10.0);

  private static final ImmutableMap<String, Task> BY_NAME =
      ImmutableMap.of("semseg", SEMSEG, "human_parts", HUMAN_PARTS, "sal", SAL, "normals", NORMALS);

  /** The four tasks in the reference's CLI order: semseg, normals, sal, human_parts. */
  public static ImmutableList<Task> all() {
    return ImmutableList.of(SEMSEG, NORMALS, SAL, HUMAN_PARTS);
  }

  /** The names of the four tasks. */
  public static ImmutableList<String> names() {
    return BY_NAME.keySet().asList();
  }

  /** A task by name; unknown names fail with the list of known ones. */
  public static Task byName(String name) {
    Task t = BY_NAME.get(name);
    if (t == null) {
      throw new IllegalArgumentException("unknown task '" + name + "'; expected one of " + BY_NAME.keySet());
    }
    return t;
  }

  /** Tasks by name, in the given order. */
  public static ImmutableList<Task> byNames(List<String> names) {
    return names.stream().map(PascalTasks::byName).collect(ImmutableList.toImmutableList());
  }
}
