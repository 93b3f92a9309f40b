package org.mtlora.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.base.Preconditions;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parity tolerances in the fixture format ({@code tolerances.json}): per category ({@code outputs}, {@code features},
 * {@code eval_heads}, {@code losses}, {@code grads}, {@code bn_buffers}) a tensor passes when {@code max|ours - ref| <=
 * atol + rtol * max|ref|}; gradients use {@code rel_to_tensor_max} in place of rtol, and names matching an {@code
 * absolute_only} glob use {@code absolute_only_atol} alone.
 */
final class Tolerances {
  /** One category's rule. */
  record Rule(double atol, double rtol, List<PathMatcher> absoluteOnly, double absoluteOnlyAtol) {
    double limit(String name, double maxRef) {
      for (PathMatcher m : absoluteOnly) {
        if (m.matches(Path.of(name))) {
          return absoluteOnlyAtol;
        }
      }
      return atol + rtol * maxRef;
    }
  }

  private final Map<String, Rule> rules;

  private Tolerances(Map<String, Rule> rules) {
    this.rules = rules;
  }

  /** The fixture README's defaults (used when a folder has no tolerances.json). */
  static Tolerances defaults() {
    Map<String, Rule> r = new LinkedHashMap<>();
    r.put("outputs", new Rule(1e-4, 1e-4, List.of(), 0));
    r.put("features", new Rule(1e-4, 1e-4, List.of(), 0));
    r.put("eval_heads", new Rule(1e-4, 1e-4, List.of(), 0));
    r.put("losses", new Rule(0, 1e-5, List.of(), 0));
    r.put("grads", new Rule(1e-6, 1e-4, List.of(glob("decoders.decoders.*.last_layer.0.bias")), 1e-5));
    r.put("bn_buffers", new Rule(1e-5, 1e-5, List.of(), 0));
    return new Tolerances(r);
  }

  /** Reads {@code tolerances.json} from a fixture folder, falling back to {@link #defaults()}. */
  static Tolerances read(Path dir) throws IOException {
    Tolerances t = defaults();
    Path file = dir.resolve("tolerances.json");
    if (!Files.exists(file)) {
      return t;
    }
    JsonNode root = new ObjectMapper().readTree(file.toFile());
    Map<String, Rule> r = new LinkedHashMap<>(t.rules);
    for (Map.Entry<String, Rule> e : t.rules.entrySet()) {
      JsonNode n = root.path(e.getKey());
      if (n.isMissingNode()) {
        continue;
      }
      Rule d = e.getValue();
      List<PathMatcher> abs = new ArrayList<>(d.absoluteOnly());
      if (n.has("absolute_only")) {
        abs.clear();
        n.get("absolute_only").forEach(g -> abs.add(glob(g.asText())));
      }
      r.put(e.getKey(), new Rule(n.path("atol").asDouble(d.atol()),
          n.has("rel_to_tensor_max") ? n.get("rel_to_tensor_max").asDouble() : n.path("rtol").asDouble(d.rtol()),
          abs, n.path("absolute_only_atol").asDouble(d.absoluteOnlyAtol())));
    }
    return new Tolerances(r);
  }

  /**
   * Applies a command-line override: a plain number makes every category absolute ({@code max|diff| <= X}); {@code
   * category.field=X} (fields atol, rtol, rel_to_tensor_max, absolute_only_atol) changes one field.
   */
  Tolerances override(String spec) {
    Map<String, Rule> r = new LinkedHashMap<>(rules);
    int eq = spec.indexOf('=');
    if (eq < 0) {
      double x = parse(spec, spec);
      r.replaceAll((k, v) -> new Rule(x, 0, List.of(), x));
      return new Tolerances(r);
    }
    String key = spec.substring(0, eq);
    double x = parse(spec.substring(eq + 1), spec);
    int dot = key.indexOf('.');
    Preconditions.checkArgument(dot > 0 && r.containsKey(key.substring(0, dot)),
        "--tolerance %s: expected a number or CATEGORY.FIELD=VALUE with CATEGORY one of %s", spec, r.keySet());
    String cat = key.substring(0, dot);
    Rule v = r.get(cat);
    switch (key.substring(dot + 1)) {
      case "atol":
        r.put(cat, new Rule(x, v.rtol(), v.absoluteOnly(), v.absoluteOnlyAtol()));
        break;
      case "rtol":
      case "rel_to_tensor_max":
        r.put(cat, new Rule(v.atol(), x, v.absoluteOnly(), v.absoluteOnlyAtol()));
        break;
      case "absolute_only_atol":
        r.put(cat, new Rule(v.atol(), v.rtol(), v.absoluteOnly(), x));
        break;
      default:
        throw new IllegalArgumentException("--tolerance " + spec
            + ": unknown field; expected atol, rtol, rel_to_tensor_max or absolute_only_atol");
    }
    return new Tolerances(r);
  }

  Rule rule(String category) {
    return rules.get(category);
  }

  private static double parse(String s, String spec) {
    try {
      double v = Double.parseDouble(s);
      Preconditions.checkArgument(v >= 0, "--tolerance %s: must be >= 0", spec);
      return v;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--tolerance " + spec + ": '" + s + "' is not a number", e);
    }
  }

  private static PathMatcher glob(String g) {
    return FileSystems.getDefault().getPathMatcher("glob:" + g);
  }
}
