#!/usr/bin/env bash
# Side-by-side timing of mtlora4j and the PyTorch twin (../shared/tools/torch_baseline.py), Swin-T 448, MTLoRA r16 /
# task rank 4, four tasks: the table at the top of docs/performance.md. Runs ours then PyTorch for each of
# (train, 1) (train, 2) (eval, 1) (eval, 2) and full fine-tuning (train, 2), one after the other, so that both see the
# same machine state; run it twice and report both rounds (this VM's timings vary by up to +-30 %).
#
# Usage, from the repository root: docs/tools/side_by_side.sh [PYTHON]
#   PYTHON  an interpreter with torch installed (default ~/.cache/torchvenv/bin/python; create it with
#           python3 -m venv ~/.cache/torchvenv && ~/.cache/torchvenv/bin/pip install torch numpy)
# Environment: CKPT=none|stage|block passes --activation-checkpointing to ours (default: the launcher's, stage).
# Prints, per run, the median step ("median_s" / "times_s") and the peak resident memory ("TIME ... KB maxrss").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PYTHON=${1:-$HOME/.cache/torchvenv/bin/python}
export MTLORA_JAVA_OPTS=${MTLORA_JAVA_OPTS:-"-Xmx4g -Dorg.bytedeco.javacpp.maxbytes=16G -Dorg.bytedeco.javacpp.maxphysicalbytes=20G"}
ckpt=()
[[ -n "${CKPT:-}" ]] && ckpt=(--activation-checkpointing "$CKPT")

run() { # policy mode batch
  echo "== ours $1 $2 batch $3"
  /usr/bin/time -f "TIME %e s wall, %U user, %S sys, %M KB maxrss" ./mtlora bench --img-size 448 --batch "$3" \
    --mode "$2" --policy "$1" --iters 3 --warmup 1 "${ckpt[@]}" 2>&1 | grep -E '^\{"bench"|^TIME'
  echo "== PyTorch $1 $2 batch $3"
  /usr/bin/time -f "TIME %e s wall, %U user, %S sys, %M KB maxrss" "$PYTHON" ../shared/tools/torch_baseline.py \
    --mode "$2" --policy "$1" --rank 16 --task-rank 4 --batch "$3" --threads 2 --img 448 --model tiny --iters 3 \
    --warmup 1 2>&1 | grep -oE '"times_s": \{"median": [0-9.]+|"rss_mb": [0-9.]+|^TIME.*'
}

run mtlora train 1
run mtlora train 2
run mtlora eval 1
run mtlora eval 2
run full train 2
