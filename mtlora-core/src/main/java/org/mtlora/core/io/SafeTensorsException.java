package org.mtlora.core.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file that does not follow the format. The message always names the file, and the tensor where one is
 * concerned, and says what was expected.
 */
public final class SafeTensorsException extends IOException {
  private static final long serialVersionUID = 1L;

  SafeTensorsException(Path file, String message) {
    super(file + ": " + message);
  }

  SafeTensorsException(Path file, String message, Throwable cause) {
    super(file + ": " + message, cause);
  }
}
