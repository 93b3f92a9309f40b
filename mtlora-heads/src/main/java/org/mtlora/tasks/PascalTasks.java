package org.mtlora.tasks;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.List;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * The PASCAL-Context tasks of MTLoRA with the reference's outputs, losses and weights (reference-spec §5):
 * semantic segmentation (21 classes, weight 1), human parts (7, weight 2), saliency (1, weight 5), surface normals
 * (3, weight 10).
 */
public final class PascalTasks {
  private PascalTasks() {}

  /** A task given by its parts. */
  private record Simple(String name, int outputChannels, int targetChannels, double defaultWeight, Kind kind)
      implements Task {
    @Override
    public SDVariable loss(SameDiff sd, SDVariable prediction, SDVariable target) {
      switch (kind) {
        case CROSS_ENTROPY:
          return Losses.crossEntropy(sd, prediction, target, outputChannels);
        case BALANCED_BCE:
          return Losses.balancedBce(sd, prediction, target);
        case NORMALS_L1:
          return Losses.normalsL1(sd, prediction, target);
        default:
          throw new AssertionError(kind);
      }
    }
  }

  private enum Kind {
    CROSS_ENTROPY,
    BALANCED_BCE,
    NORMALS_L1
  }

  public static final Task SEMSEG = new Simple("semseg", 21, 1, 1.0, Kind.CROSS_ENTROPY);
  public static final Task HUMAN_PARTS = new Simple("human_parts", 7, 1, 2.0, Kind.CROSS_ENTROPY);
  public static final Task SAL = new Simple("sal", 1, 1, 5.0, Kind.BALANCED_BCE);
  public static final Task NORMALS = new Simple("normals", 3, 3, 10.0, Kind.NORMALS_L1);

  private static final ImmutableMap<String, Task> BY_NAME =
      ImmutableMap.of("semseg", SEMSEG, "human_parts", HUMAN_PARTS, "sal", SAL, "normals", NORMALS);

  /** The four tasks in the reference's CLI order: semseg, normals, sal, human_parts. */
  public static ImmutableList<Task> all() {
    return ImmutableList.of(SEMSEG, NORMALS, SAL, HUMAN_PARTS);
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
