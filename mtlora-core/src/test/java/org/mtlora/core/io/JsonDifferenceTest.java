package org.mtlora.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class JsonDifferenceTest {
  @Test
  void equalDocumentsHaveNoDifferenceWhateverTheKeyOrder() {
    assertEquals(Optional.empty(), JsonDifference.between("{\"a\": 1, \"b\": [1, 2]}", "{\"b\":[1,2],\"a\":1}"));
  }

  @Test
  void namesThePathOfTheFirstDifference() {
    assertEquals(Optional.of("at model.swin.img_size: 224 vs 448"), JsonDifference.between(
        "{\"model\": {\"swin\": {\"img_size\": 224}}}", "{\"model\": {\"swin\": {\"img_size\": 448}}}"));
    assertEquals(Optional.of("at tasks[1]: 'sal' vs 'normals'"),
        JsonDifference.between("{\"tasks\": [\"semseg\", \"sal\"]}", "{\"tasks\": [\"semseg\", \"normals\"]}"));
    assertEquals(Optional.of("at tasks: [\"semseg\"] vs [\"semseg\",\"sal\"]"),
        JsonDifference.between("{\"tasks\": [\"semseg\"]}", "{\"tasks\": [\"semseg\", \"sal\"]}"));
    assertEquals(Optional.of("at seed: absent vs 3"), JsonDifference.between("{}", "{\"seed\": 3}"));
  }

  @Test
  void longStringsAreShownAroundTheirFirstDifferingCharacter() {
    String a = "{\"m\": \"" + "x".repeat(100) + "rank=16" + "y".repeat(100) + "\"}";
    String b = "{\"m\": \"" + "x".repeat(100) + "rank=8" + "y".repeat(100) + "\"}";
    String d = JsonDifference.between(a, b).orElseThrow();
    // first difference at index 105 ('1' vs '8'): 40 characters before it, 40 from it
    assertEquals("at m: '..." + "x".repeat(35) + "rank=16" + "y".repeat(38) + "...' vs '..." + "x".repeat(35)
        + "rank=8" + "y".repeat(39) + "...'", d);
  }
}
