package org.mtlora.core.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Iterator;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The first difference between two JSON documents, as one readable phrase ({@code "at swin.img_size: 224 vs 448"}),
 * for messages that say why a file does not fit the current model or run.
 */
public final class JsonDifference {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Characters of a long string shown around the first differing character. */
  private static final int CONTEXT = 40;

  private JsonDifference() {}

  /**
   * The first difference between two JSON texts, or empty when they are equal as JSON (key order and spacing do not
   * matter). A text that is not JSON is compared as a string.
   */
  public static Optional<String> between(String left, String right) {
    return between(parse(left), parse(right));
  }

  /** The first difference between two trees, or empty when they are equal. */
  public static Optional<String> between(JsonNode left, JsonNode right) {
    return first("", left, right);
  }

  private static JsonNode parse(String text) {
    if (text == null) {
      return JSON.nullNode();
    }
    try {
      return JSON.readTree(text);
    } catch (JsonProcessingException e) {
      return JSON.getNodeFactory().textNode(text);
    }
  }

  private static Optional<String> first(String path, JsonNode a, JsonNode b) {
    if (a.equals(b)) {
      return Optional.empty();
    }
    if (a.isObject() && b.isObject()) {
      TreeSet<String> keys = new TreeSet<>();
      a.fieldNames().forEachRemaining(keys::add);
      b.fieldNames().forEachRemaining(keys::add);
      for (String k : keys) {
        String p = path.isEmpty() ? k : path + "." + k;
        if (!a.has(k)) {
          return Optional.of("at " + p + ": absent vs " + b.get(k));
        }
        if (!b.has(k)) {
          return Optional.of("at " + p + ": " + a.get(k) + " vs absent");
        }
        Optional<String> d = first(p, a.get(k), b.get(k));
        if (d.isPresent()) {
          return d;
        }
      }
    }
    if (a.isArray() && b.isArray() && a.size() == b.size()) {
      Iterator<JsonNode> ia = a.elements();
      Iterator<JsonNode> ib = b.elements();
      for (int i = 0; ia.hasNext(); i++) {
        Optional<String> d = first(path + "[" + i + "]", ia.next(), ib.next());
        if (d.isPresent()) {
          return d;
        }
      }
    }
    String where = path.isEmpty() ? "" : "at " + path + ": ";
    if (a.isTextual() && b.isTextual()) {
      return Optional.of(where + excerpt(a.asText(), b.asText()));
    }
    return Optional.of(where + a + " vs " + b);
  }

  /** Two long strings around their first differing character. */
  private static String excerpt(String a, String b) {
    int i = 0;
    while (i < a.length() && i < b.length() && a.charAt(i) == b.charAt(i)) {
      i++;
    }
    int from = Math.max(0, i - CONTEXT);
    return "'" + window(a, from, i) + "' vs '" + window(b, from, i) + "'";
  }

  private static String window(String s, int from, int at) {
    int to = Math.min(s.length(), at + CONTEXT);
    return (from > 0 ? "..." : "") + s.substring(Math.min(from, s.length()), to) + (to < s.length() ? "..." : "");
  }
}
