package org.mtlora.core.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.List;

/** Small readers of JSON configuration fields whose errors name the key and what was expected. */
public final class JsonFields {
  private JsonFields() {}

  /** Requires {@code o} to be an object whose keys are all among {@code keys}; {@code where} names it in errors. */
  public static void onlyKeys(JsonNode o, String where, String... keys) {
    Preconditions.checkArgument(o != null && o.isObject(), "%s must be a JSON object", where);
    List<String> allowed = List.of(keys);
    List<String> extra = new ArrayList<>();
    o.fieldNames().forEachRemaining(k -> {
      if (!allowed.contains(k)) {
        extra.add(k);
      }
    });
    Preconditions.checkArgument(extra.isEmpty(), "%s: unknown keys %s (expected %s)", where, extra, allowed);
  }

  /** The object under {@code key}. */
  public static JsonNode object(JsonNode o, String key) {
    JsonNode v = o.get(key);
    Preconditions.checkArgument(v != null && v.isObject(), "'%s' must be a JSON object, found %s", key, v);
    return v;
  }

  /** The string under {@code key}. */
  public static String text(JsonNode o, String key) {
    JsonNode v = o.get(key);
    Preconditions.checkArgument(v != null && v.isTextual(), "'%s' must be a string, found %s", key, v);
    return v.asText();
  }

  /** The integer under {@code key}. */
  public static int integer(JsonNode o, String key) {
    JsonNode v = o.get(key);
    Preconditions.checkArgument(v != null && v.canConvertToInt() && v.isIntegralNumber(),
        "'%s' must be an integer, found %s", key, v);
    return v.asInt();
  }

  /** The number under {@code key}. */
  public static double number(JsonNode o, String key) {
    JsonNode v = o.get(key);
    Preconditions.checkArgument(v != null && v.isNumber(), "'%s' must be a number, found %s", key, v);
    return v.asDouble();
  }

  /** The boolean under {@code key}. */
  public static boolean bool(JsonNode o, String key) {
    JsonNode v = o.get(key);
    Preconditions.checkArgument(v != null && v.isBoolean(), "'%s' must be true or false, found %s", key, v);
    return v.asBoolean();
  }
  
  /** The array of integers under {@code key}. */
  public static List<Integer> integers(JsonNode o, String key) {
    JsonNode v = o.get(key);
    Preconditions.checkArgument(v != null && v.isArray(), "'%s' must be an array of integers, found %s", key, v);
    List<Integer> out = new ArrayList<>();
    for (JsonNode e : v) {
      Preconditions.checkArgument(e.isIntegralNumber() && e.canConvertToInt(), "'%s' must be an array of integers, "
          + "found %s", key, v);
      out.add(e.asInt());
    }
    return out;
  }
}
