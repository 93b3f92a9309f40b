package org.mtlora.swin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.mtlora.core.adapter.LoraMode;
import org.mtlora.core.adapter.MtLoraConfig;

/**
 * Reads the backbone part of a reference-style configuration ({@code config.json} of a fixture folder, with the
 * reference's keys {@code DATA.IMG_SIZE}, {@code MODEL.SWIN}, {@code MODEL.DROP_PATH_RATE}, {@code MODEL.MTLORA},
 * {@code TASKS}) into a {@link SwinConfig} and an {@link MtLoraConfig}. Unsupported settings are rejected by name.
 *
 * @param swin the backbone shape
 * @param lora adapter placement and sizes
 * @param tasks task names in order
 * @param json the whole document, for the other modules' sections
 */
public record ReferenceConfig(SwinConfig swin, MtLoraConfig lora, ImmutableList<String> tasks, JsonNode json) {

  /** Parses a configuration file; errors name the file and the key. */
  public static ReferenceConfig read(Path file) throws IOException {
    JsonNode root = new ObjectMapper().readTree(file.toFile());
    try {
      return parse(root);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  /** Parses a configuration document. */
  public static ReferenceConfig parse(JsonNode root) {
    List<String> tasks = new ArrayList<>();
    for (JsonNode t : required(root, "TASKS")) {
      tasks.add(t.asText());
    }
    JsonNode sw = required(root, "MODEL.SWIN");
    Preconditions.checkArgument(!sw.path("APE").asBoolean(false), "MODEL.SWIN.APE=true is not supported");
    Preconditions.checkArgument(sw.path("PATCH_NORM").asBoolean(true), "MODEL.SWIN.PATCH_NORM=false is not supported");
    Preconditions.checkArgument(sw.path("QK_SCALE").isNull() || sw.path("QK_SCALE").isMissingNode(),
        "MODEL.SWIN.QK_SCALE must be null (head_dim^-0.5), found %s", sw.path("QK_SCALE"));
    SwinConfig swin = SwinConfig.builder()
        .imgSize(required(root, "DATA.IMG_SIZE").asInt())
        .patchSize(sw.path("PATCH_SIZE").asInt(4))
        .inChans(sw.path("IN_CHANS").asInt(3))
        .embedDim(required(sw, "EMBED_DIM").asInt())
        .depths(ints(required(sw, "DEPTHS")))
        .numHeads(ints(required(sw, "NUM_HEADS")))
        .windowSize(sw.path("WINDOW_SIZE").asInt(7))
        .mlpRatio(sw.path("MLP_RATIO").asDouble(4.0))
        .qkvBias(sw.path("QKV_BIAS").asBoolean(true))
        .dropPathRate(root.path("MODEL.DROP_PATH_RATE").asDouble(0.0))
        .build();
    return new ReferenceConfig(swin, parseLora(root.path("MODEL.MTLORA"), tasks, swin.numStages()),
        ImmutableList.copyOf(tasks), root);
  }

  private static MtLoraConfig parseLora(JsonNode m, List<String> tasks, int stages) {
    if (m.isMissingNode() || !m.path("ENABLED").asBoolean(false)) {
      return MtLoraConfig.disabled(tasks, stages);
    }
    Preconditions.checkArgument(!m.path("INTERMEDIATE_SPECIALIZATION").asBoolean(false),
        "MODEL.MTLORA.INTERMEDIATE_SPECIALIZATION=true is not supported (its extra adapters never get gradients)");
    Preconditions.checkArgument(!m.path("TRAINABLE_SCALE_SHARED").asBoolean(false)
        && !m.path("TRAINABLE_SCALE_PER_TASK").asBoolean(false), "MODEL.MTLORA.TRAINABLE_SCALE_* is not supported");
    MtLoraConfig.Builder b = MtLoraConfig.builder(tasks, stages)
        .sharedMode(LoraMode.parse(m.path("SHARED_MODE").asText("matrix")))
        .sites(m.path("QKV_ENABLED").asBoolean(true), m.path("PROJ_ENABLED").asBoolean(true),
            m.path("FC1_ENABLED").asBoolean(true), m.path("FC2_ENABLED").asBoolean(true))
        .reductionAdapter(m.path("DOWNSAMPLER_ENABLED").asBoolean(false));
    JsonNode ranks = required(m, "R_PER_TASK_LIST");
    JsonNode scales = m.path("SCALE_PER_TASK_LIST");
    JsonNode shared = required(m, "SHARED_SCALE");
    JsonNode dropout = m.path("DROPOUT");
    Preconditions.checkArgument(ranks.size() == stages,
        "MODEL.MTLORA.R_PER_TASK_LIST has %s entries but the backbone has %s stages", ranks.size(), stages);
    for (int i = 0; i < stages; i++) {
      JsonNode r = ranks.get(i);
      for (Iterator<String> it = r.fieldNames(); it.hasNext(); ) {
        String key = it.next();
        Preconditions.checkArgument(key.equals("shared") || tasks.contains(key),
            "MODEL.MTLORA.R_PER_TASK_LIST[%s] names unknown task '%s'; TASKS is %s", i, key, tasks);
      }
      b.shared(i, required(r, "shared").asInt(), shared.get(i).asDouble());
      for (String t : tasks) {
        double scale = scales.isMissingNode() ? shared.get(i).asDouble() : scales.get(i).path(t).asDouble(
            shared.get(i).asDouble());
        b.task(t, i, r.path(t).asInt(0), scale);
      }
      if (dropout.isArray()) {
        b.dropout(i, dropout.get(i).asDouble());
      }
    }
    return b.build();
  }

  private static JsonNode required(JsonNode node, String key) {
    JsonNode v = node.path(key);
    Preconditions.checkArgument(!v.isMissingNode() && !v.isNull(), "missing configuration key %s", key);
    return v;
  }

  private static List<Integer> ints(JsonNode arr) {
    List<Integer> out = new ArrayList<>();
    arr.forEach(v -> out.add(v.asInt()));
    return out;
  }
}
