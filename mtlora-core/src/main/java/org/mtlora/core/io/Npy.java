package org.mtlora.core.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** NumPy {@code .npy} input through ND4J, with errors that name the file. */
public final class Npy {
  private Npy() {}

  /** Reads a {@code .npy} file (C order; float32, float64, int32, int64 ...). */
  public static INDArray read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new NoSuchFileException(file.toString(), null, ".npy file does not exist");
    }
    try {
      return Nd4j.createFromNpyFile(file.toFile());
    } catch (RuntimeException e) {
      throw new IOException(file + ": not a readable .npy array (" + e.getMessage() + ")", e);
    }
  }
}
