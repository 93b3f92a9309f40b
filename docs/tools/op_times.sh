#!/usr/bin/env bash
# The per-op timer of docs/performance.md: runs `./mtlora bench ARGS` with a timed copy of ReplayPlan first on the
# class path, so that every op of every replayed run (evaluation forwards, training steps from the second on) is
# timed — allocation and release of its outputs included — and prints, at the end, the total time and call count per
# op name, with the output shape added where the output has at least OP_TIMES_SHAPE_MIN elements (default 1000000).
# Totals are over all replayed runs: divide by the replayed steps (a bench's --iters plus --warmup, minus the first,
# recorded run). The first run of each graph goes through SameDiff's session and is not timed.
#
# Usage, from the repository root: docs/tools/op_times.sh --img-size 448 --batch 2 --mode train --iters 4 --warmup 1
# Needs python3 and a JDK's javac; builds the project first if ./mtlora would. Nothing in the repository changes: the
# copy is compiled into a temporary folder. The timing adds ~1 µs per op (a few ms per 448 step).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
./mtlora info >/dev/null # builds the jar and its libraries where needed
work=$(mktemp -d "${TMPDIR:-/tmp}/op-times.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/classes"
python3 - "$ROOT/mtlora-core/src/main/java/org/mtlora/core/graph/ReplayPlan.java" "$work/ReplayPlan.java" \
    "${OP_TIMES_SHAPE_MIN:-1000000}" <<'PY'
import sys
src, dst, shape_min = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = open(src, encoding='utf-8').read()
start = """    for (Step step : steps) {
      INDArray[] in = new INDArray[step.inputs().length];"""
end = """      for (int s : step.releaseAfter()) {
        memory.release(values[s]);
        values[s] = null;
      }
    }"""
if s.count(start) != 1 or s.count(end) != 1:
    sys.exit("op_times.sh: ReplayPlan.run no longer has the loop this tool times; update the anchors in the script")
s = s.replace(start, """    for (Step step : steps) {
      long opTimesStart = System.nanoTime();
      INDArray[] in = new INDArray[step.inputs().length];""")
s = s.replace(end, """      String opTimesKey = step.kind() == Kind.FUSED ? "fused group" : step.op().opName();
      INDArray opTimesOut = step.outputs().length > 0 ? values[step.outputs()[0]] : null;
      if (opTimesOut != null && opTimesOut.length() >= %dL) {
        opTimesKey += java.util.Arrays.toString(opTimesOut.shape());
      }
      OpTimes.add(opTimesKey, System.nanoTime() - opTimesStart);
%s""" % (shape_min, end))
last = s.rstrip().rfind("}")
s = s[:last] + """
  /** The timer's totals, printed when the JVM exits. */
  static final class OpTimes {
    private static final java.util.Map<String, long[]> TOTALS = new java.util.concurrent.ConcurrentHashMap<>();

    static {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        long all = TOTALS.values().stream().mapToLong(v -> v[0]).sum();
        System.err.printf("op-times: %.1f ms in all replayed ops%n", all / 1e6);
        System.err.printf("op-times: %-64s %10s %8s%n", "op [output shape]", "ms", "calls");
        TOTALS.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]))
            .forEach(e -> System.err.printf("op-times: %-64s %10.1f %8d%n", e.getKey(), e.getValue()[0] / 1e6,
                e.getValue()[1]));
      }));
    }

    static void add(String key, long nanos) {
      long[] v = TOTALS.computeIfAbsent(key, k -> new long[2]);
      synchronized (v) {
        v[0] += nanos;
        v[1]++;
      }
    }
  }
}
"""
open(dst, 'w', encoding='utf-8').write(s)
PY
T=mtlora-bench/target
javac -nowarn --add-modules jdk.incubator.vector -cp "$T/mtlora-bench.jar:$T/lib/*" -d "$work/classes" \
  "$work/ReplayPlan.java" 2>&1 | grep -v "^warning\|incubat\|^1 warning" || true
# the launcher, with the timed class first on its class path
sed -e "s#^ROOT=.*#ROOT=\"$ROOT\"#" -e "s#-cp \"\$JAR#-cp \"$work/classes:\$JAR#" mtlora > "$work/mtlora"
grep -q "$work/classes" "$work/mtlora" || { echo "op_times.sh: ./mtlora's class path line changed" >&2; exit 1; }
bash "$work/mtlora" bench "$@"
