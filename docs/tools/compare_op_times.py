#!/usr/bin/env python3
"""Compares two outputs of docs/tools/op_times.sh op by op: the per-step time and calls of each op name (the rows of
large output shapes folded into their op's name, so every op is counted once), sorted by the size of the difference.

    docs/tools/op_times.sh --img-size 448 --batch 2 --mode train --iters 4 --warmup 1 > mtlora.txt
    docs/tools/op_times.sh --img-size 448 --batch 2 --mode train --iters 4 --warmup 1 --policy full > full.txt
    python3 docs/tools/compare_op_times.py mtlora.txt full.txt --steps 4

--steps is the number of replayed steps of each run (a bench's --iters plus --warmup, minus the first, recorded run):
op_times.sh prints totals over all of them. --shapes keeps the rows of large outputs apart instead (then an op's row
without a shape counts only its calls with small outputs). Not part of the build; needs python3 alone.
"""
import argparse
import re
import sys

ROW = re.compile(r"op-times: (\S.*?)\s+([\d.]+)\s+(\d+)$")


def load(path, steps, shapes):
    """{op: [ms per step, calls per step]} of one op_times.sh output."""
    ops = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = ROW.match(line.strip())
            if not m:
                continue
            name = m.group(1).strip() if shapes else m.group(1).split("[")[0].strip()
            row = ops.setdefault(name, [0.0, 0.0])
            row[0] += float(m.group(2)) / steps
            row[1] += int(m.group(3)) / steps
    if not ops:
        sys.exit(f"{path}: no 'op-times:' rows (is it the output of docs/tools/op_times.sh?)")
    return ops


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("first")
    ap.add_argument("second")
    ap.add_argument("--steps", type=float, default=1.0, help="replayed steps in each run (default 1: totals)")
    ap.add_argument("--rows", type=int, default=25, help="rows to print (default 25)")
    ap.add_argument("--shapes", action="store_true", help="keep the rows of large output shapes apart")
    a = ap.parse_args()
    if a.steps <= 0:
        sys.exit(f"--steps must be positive, got {a.steps}")
    first, second = load(a.first, a.steps, a.shapes), load(a.second, a.steps, a.shapes)
    total = [sum(v[0] for v in ops.values()) for ops in (first, second)]
    names = sorted(set(first) | set(second),
                   key=lambda n: -abs(first.get(n, [0, 0])[0] - second.get(n, [0, 0])[0]))
    print(f"{'op':44s} {'first ms':>10s} {'calls':>7s} {'second ms':>10s} {'calls':>7s} {'difference':>11s}")
    print(f"{'all ops':44s} {total[0]:10.1f} {'':7s} {total[1]:10.1f} {'':7s} {total[0] - total[1]:+11.1f}")
    for n in names[:a.rows]:
        x, y = first.get(n, [0.0, 0.0]), second.get(n, [0.0, 0.0])
        print(f"{n:44s} {x[0]:10.1f} {x[1]:7.1f} {y[0]:10.1f} {y[1]:7.1f} {x[0] - y[0]:+11.1f}")


if __name__ == "__main__":
    main()
