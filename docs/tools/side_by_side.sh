#!/usr/bin/env bash
# Side-by-side timing of mtlora4j and the PyTorch twin (../shared/tools/torch_baseline.py), Swin-T 448, MTLoRA r16 /
# task rank 4, four tasks: the table at the top of docs/performance.md. Runs ours then PyTorch for each of
# (train, 1) (train, 2) (eval, 1) (eval, 2) and full fine-tuning (train, 2), one after the other, so that both see the
# same machine state; run it twice and report both rounds (this VM's timings vary by up to +-30 %).
#
# Usage, from the repository root: docs/tools/side_by_side.sh [PYTHON]
#   PYTHON  an interpreter with torch installed (default ~/.cache/torchvenv/bin/python; create it with
#           python3 -m venv ~/.cache/torchvenv && ~/.cache/torchvenv/bin/pip install torch numpy)
# Environment: CKPT=auto|none|stage|block passes --activation-checkpointing to ours (default: auto).
#   GELU_SCALE=K multiplies every MLP's first layer by K on both sides (ours: bench --gelu-scale K; PyTorch:
#   docs/tools/torch_gelu_scale.py K), so that the GELU inputs are K times those of the random initialisation
#   (default 1: as initialised; 5 gives erf arguments of RMS ~1, docs/performance.md).
#   ITERS=N and WARMUP=N set both sides' timed and untimed iterations (default 3 and 1, the protocol of the earlier
#   rounds). The JVM compiles SameDiff's Java code while the first forwards run, so an evaluation forward reaches its
#   steady time only after about 8 of them; WARMUP=8 ITERS=8 measures what a validation pass over a data set sees.
# Prints, per run, the median step ("median_s" / "times_s") and the peak resident memory ("TIME ... KB maxrss"), then
# one markdown table of the round: medians, peaks (GB = 10^9 bytes) and the ratios ours / PyTorch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PYTHON=${1:-$HOME/.cache/torchvenv/bin/python}
export MTLORA_JAVA_OPTS=${MTLORA_JAVA_OPTS:-"-Xmx4g -Dorg.bytedeco.javacpp.maxbytes=16G -Dorg.bytedeco.javacpp.maxphysicalbytes=20G"}
ckpt=()
[[ -n "${CKPT:-}" ]] && ckpt=(--activation-checkpointing "$CKPT")
ITERS=${ITERS:-3} WARMUP=${WARMUP:-1}
scale=() torch_script=(../shared/tools/torch_baseline.py)
if [[ "${GELU_SCALE:-1}" != 1 ]]; then
  scale=(--gelu-scale "$GELU_SCALE") torch_script=(docs/tools/torch_gelu_scale.py "$GELU_SCALE")
fi

summary=()
declare -A ours_median torch_median # by "policy mode batch"

run() { # policy mode batch
  local ours torch
  echo "== ours $1 $2 batch $3"
  ours=$(/usr/bin/time -f "TIME %e s wall, %U user, %S sys, %M KB maxrss" ./mtlora bench --img-size 448 --batch "$3" \
    --mode "$2" --policy "$1" --iters "$ITERS" --warmup "$WARMUP" "${ckpt[@]}" "${scale[@]}" 2>&1 \
    | grep -E '^\{"bench"|^TIME' || true)
  echo "$ours"
  echo "== PyTorch $1 $2 batch $3"
  torch=$(/usr/bin/time -f "TIME %e s wall, %U user, %S sys, %M KB maxrss" "$PYTHON" "${torch_script[@]}" \
    --mode "$2" --policy "$1" --rank 16 --task-rank 4 --batch "$3" --threads 2 --img 448 --model tiny \
    --iters "$ITERS" --warmup "$WARMUP" 2>&1 \
    | grep -oE '"times_s": \{"median": [0-9.]+|"rss_mb": [0-9.]+|^TIME.*' || true)
  echo "$torch"
  local key="$1 $2 $3"
  ours_median[$key]=$(sed -nE 's/.*"median_s":([0-9.]+).*/\1/p' <<<"$ours")
  torch_median[$key]=$(sed -nE 's/.*"median": ([0-9.]+).*/\1/p' <<<"$torch")
  summary+=("$(ratio_row "$1 $2" "$3" "${ours_median[$key]}" "${torch_median[$key]}" "$(max_rss_kb "$ours")" \
    "$(max_rss_kb "$torch")")")
}

max_rss_kb() { sed -nE 's/^TIME.* ([0-9]+) KB maxrss.*/\1/p' <<<"$1"; }

# One markdown row: the two medians, their ratio, the two peaks (maximum RSS) and their ratio; "?" where a run failed.
ratio_row() { # label batch ours-median torch-median ours-kb torch-kb
  awk -v l="$1" -v b="$2" -v om="${3:-?}" -v tm="${4:-?}" -v ok="${5:-?}" -v tk="${6:-?}" 'BEGIN {
    t = (om == "?" || tm == "?") ? "?" : sprintf("%.2fx", om / tm)
    m = (ok == "?" || tk == "?") ? "?" : sprintf("%.2fx", ok / tk)
    os = (om == "?") ? "?" : om " s"; ts = (tm == "?") ? "?" : sprintf("%.3f s", tm)
    og = (ok == "?") ? "?" : sprintf("%.2f GB", ok / 1e6); tg = (tk == "?") ? "?" : sprintf("%.2f GB", tk / 1e6)
    printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", l, b, os, ts, t, og, tg, m }'
}

run mtlora train 1
run mtlora train 2
run mtlora eval 1
run mtlora eval 2
run full train 2

echo
echo "| policy, mode | batch | ours (median) | PyTorch (median) | time ratio | ours: peak RSS | PyTorch: peak RSS | memory ratio |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${summary[@]}"
# the issue's last target: an MTLoRA step cheaper than a full fine-tuning step (same batch, same checkpointing)
awk -v om="${ours_median[mtlora train 2]:-}" -v of="${ours_median[full train 2]:-}" \
    -v tm="${torch_median[mtlora train 2]:-}" -v tf="${torch_median[full train 2]:-}" 'BEGIN {
  printf "MTLoRA / full fine-tuning step, batch 2: ours %s, PyTorch %s\n",
    (om == "" || of == "") ? "?" : sprintf("%.2fx", om / of), (tm == "" || tf == "") ? "?" : sprintf("%.2fx", tm / tf) }'
