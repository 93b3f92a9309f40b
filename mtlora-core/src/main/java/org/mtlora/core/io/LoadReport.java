package org.mtlora.core.io;

import com.google.common.collect.ImmutableList;
import java.nio.file.Path;

/**
 * What loading a checkpoint into a registry did.
 *
 * @param file the checkpoint
 * @param loaded registry names that received a value
 * @param missing expected registry parameters the file did not provide
 * @param unexpected file keys that match no registry parameter
 * @param ignored file keys deliberately skipped, with the reason ({@code "key (reason)"})
 * @param shapeMismatches {@code "name: checkpoint shape [..] does not match model shape [..]"}
 */
public record LoadReport(
    Path file,
    ImmutableList<String> loaded,
    ImmutableList<String> missing,
    ImmutableList<String> unexpected,
    ImmutableList<String> ignored,
    ImmutableList<String> shapeMismatches) {

  /** Whether the file fitted exactly: nothing missing, unexpected or mismatched. */
  public boolean isClean() {
    return missing.isEmpty() && unexpected.isEmpty() && shapeMismatches.isEmpty();
  }

  /** A multi-line summary naming every problem. */
  public String describe() {
    StringBuilder sb = new StringBuilder();
    sb.append(file).append(": loaded ").append(loaded.size()).append(" tensors");
    if (!ignored.isEmpty()) {
      sb.append(", ignored ").append(ignored.size());
    }
    appendList(sb, "missing (expected by the model, absent from the file)", missing);
    appendList(sb, "unexpected (in the file, unknown to the model)", unexpected);
    appendList(sb, "shape mismatches", shapeMismatches);
    return sb.toString();
  }

  private static void appendList(StringBuilder sb, String title, ImmutableList<String> items) {
    if (items.isEmpty()) {
      return;
    }
    sb.append("\n  ").append(items.size()).append(' ').append(title).append(':');
    int shown = 0;
    for (String s : items) {
      if (shown++ == 20) {
        sb.append("\n    ... and ").append(items.size() - 20).append(" more");
        break;
      }
      sb.append("\n    ").append(s);
    }
  }
}
