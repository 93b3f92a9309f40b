package org.mtlora.bench;

import org.mtlora.core.adapter.AdapterConfig;
import org.mtlora.core.adapter.Method;
import org.mtlora.heads.MultiTaskConfig;
import org.mtlora.swin.SwinConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.mtlora.core.params.ParameterReport;
import org.mtlora.core.params.Role;

/** The reference's parameter counts (reference-spec §4), Swin-T 448, four PASCAL tasks, task rank 4. */
class ParamsCommandTest {
  private static final List<String> TASKS = List.of("semseg", "human_parts", "sal", "normals");

  private static ParameterReport count(int rank, String policy) {
    return ParamsCommand.count(MultiTaskConfig.pascal(SwinConfig.tiny(448), AdapterConfig.of(Method.parse(policy), rank,
        4), TASKS));
  }

  @Test
  void mtloraCountsMatchThePaper() {
    assertEquals(4_953_146, count(16, "mtlora").trainableParameters());
    assertEquals(30_871_418, count(16, "mtlora").totalParameters());
    assertEquals(6_083_642, count(32, "mtlora").trainableParameters());
    assertEquals(32_001_914, count(32, "mtlora").totalParameters());
    assertEquals(8_344_634, count(64, "mtlora").trainableParameters());
    assertEquals(34_262_906, count(64, "mtlora").totalParameters());
  }

  @Test
  void mtloraPlusFullAndDecodersOnly() {
    assertEquals(3_469_370, count(16, "mtlora-plus").trainableParameters());
    assertEquals(30_935_930, count(16, "mtlora-plus").totalParameters());
    assertEquals(29_464_442, count(16, "full").trainableParameters());
    assertEquals(29_464_442, count(16, "full").totalParameters());
    assertEquals(1_946_624, count(16, "decoders-only").trainableParameters());
  }

  @Test
  void breakdownMatchesTheReference() {
    ParameterReport r = count(16, "mtlora");
    // LoRA 1,406,976 = shared 1,130,496 + task 276,480; decoders + downsamplers 1,946,624
    assertEquals(1_130_496L, r.trainablePerRole().get(Role.ADAPTER_SHARED));
    assertEquals(276_480L, r.trainablePerRole().get(Role.ADAPTER_TASK));
    assertEquals(1_946_624L, r.trainablePerRole().get(Role.DECODER) + r.trainablePerRole().get(Role.DOWNSAMPLER));
    assertEquals(1_548_288L, r.trainablePerRole().get(Role.REDUCTION));
    // per task: 69,120 task LoRA + 183,168 downsampler + its decoder
    assertEquals(69_120L + 183_168L + 317_541L, r.trainablePerTask().get("semseg"));
    assertEquals(69_120L + 183_168L + 298_083L, r.trainablePerTask().get("normals"));
  }

  @Test
  void commandPrintsTheTwoLines() {
    StringWriter out = new StringWriter();
    var cl = MtloraCommand.commandLine();
    cl.setOut(new PrintWriter(out));
    assertEquals(0, cl.execute("params", "--shared-rank", "32"));
    assertTrue(out.toString().endsWith("trainable_parameters=6083642\ntotal_parameters=32001914\n"), out.toString());
  }
}
