package org.mtlora.core.nn;

import java.lang.reflect.Field;
import java.util.HashMap;
import java.util.Map;
import org.nd4j.imports.converters.DifferentialFunctionClassHolder;

/**
 * Registers this package's op subclasses ({@link FrozenWeightMatmul}, {@link RowPermutation}, {@link
 * BroadcastProduct}, {@link BroadcastSum}, {@link EqualShapeSum}, {@link RowCentring}, {@link ColumnCentring}, {@link
 * ColumnMean}, {@link MaskProduct}, {@link Relu}, {@link GeluProduct}, {@link NoGradient}, {@link BatchNormTraining},
 * {@link BatchNormTrainingGradient}, {@link LayerNormTraining}, {@link LayerNormTrainingGradient}) with SameDiff's op
 * registry, so that SameDiff's copy of a graph (made before it differentiates) re-creates them, with their backward,
 * from their names rather than falling back to the native op's class.
 */
final class CustomOps {
  private CustomOps() {}

  /** Registers {@code cls} under {@code name} (idempotent). */
  @SuppressWarnings("unchecked")
  static synchronized void register(String name, Class<?> cls) {
    try {
      DifferentialFunctionClassHolder holder = DifferentialFunctionClassHolder.getInstance();
      Field f = DifferentialFunctionClassHolder.class.getDeclaredField("customOpHashToClasses");
      f.setAccessible(true);
      Map<Long, Map<String, Class<?>>> byHash = (Map<Long, Map<String, Class<?>>>) f.get(holder);
      // a graph copy looks an op up by the hash its name has among the native ops: none, 0, for these names
      byHash.computeIfAbsent(0L, k -> new HashMap<>()).putIfAbsent(name, cls);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IllegalStateException("cannot register " + name + " with SameDiff's op registry", e);
    }
  }
}
