package org.mtlora.examples;

import java.io.IOException;
import java.nio.file.Path;
import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.params.ParameterRegistry;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.heads.MultiTaskModel;
import org.mtlora.swin.SwinCheckpoints;
import org.mtlora.swin.SwinConfig;

/** A stand-in for an ImageNet checkpoint in tests: a plain Swin's random parameters under the official names. */
public final class Pretrained {
  private Pretrained() {}

  /** Writes the backbone of a plain (adapter-free) model of {@code swin}, initialised from {@code seed}. */
  public static Path write(SwinConfig swin, Path file, long seed) throws IOException {
    MultiTaskModel plain = new MultiTaskModel(MultiTaskConfig.pascal(swin, AdapterConfig.fullFineTuning()));
    ParameterRegistry base = plain.newRegistry(seed);
    SwinCheckpoints.savePretrained(file, base);
    return file;
  }
}
