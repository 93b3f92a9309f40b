package org.mtlora.core.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * JUnit extension for gradient checks: ND4J's default types are float64 for the test class, and restored after it.
 * Use with {@code @ExtendWith(DoublePrecision.class)}.
 */
public final class DoublePrecision implements BeforeAllCallback, AfterAllCallback {
  private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(DoublePrecision.class);

  @Override
  public void beforeAll(ExtensionContext context) {
    context.getStore(NS).put("previous", Nd4j.dataType());
    Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    DataType previous = context.getStore(NS).get("previous", DataType.class);
    Nd4j.setDefaultDataTypes(previous, previous);
  }
}
