#!/usr/bin/env python3
"""Counts the floating-point operations of one MTLoRA training step (forward + backward) and one evaluation
forward of the PyTorch twin (../shared/tools/torch_baseline.py) with torch.utils.flop_counter, and measures this
machine's float32 GEMM peak (2048^3, 2 threads), for the scaling table of docs/performance.md. Not part of the
build: run it from the project root with the PyTorch venv of that table,
    ~/.cache/torchvenv/bin/python docs/tools/step_flops.py --img 448 --batch 2
"""
import argparse
import os
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "tools"))
import torch_baseline as tb  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--img", type=int, default=448)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--policy", default="mtlora")
    a = ap.parse_args()
    torch.set_num_threads(2)
    args = argparse.Namespace(policy=a.policy, img=a.img, rank=16, task_rank=4, embed_dim=96, depths=[2, 2, 6, 2],
                              heads=[3, 6, 12, 24])
    model = tb.build(args)
    x, targets = tb.random_batch(a.batch, a.img, torch.Generator().manual_seed(0))
    model.train()
    with FlopCounterMode(display=False) as fc:
        tb.total_loss(model(x), targets).backward()
    train = fc.get_total_flops()
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model(x)
    evaluation = fc.get_total_flops()
    m = torch.randn(2048, 2048)
    for _ in range(2):
        torch.mm(m, m)
    t0 = time.perf_counter()
    for _ in range(10):
        torch.mm(m, m)
    peak = 10 * 2 * 2048 ** 3 / (time.perf_counter() - t0)
    print(f"img {a.img} batch {a.batch} policy {a.policy}: train step {train / 1e9:.1f} GFLOP, "
          f"eval forward {evaluation / 1e9:.1f} GFLOP; float32 GEMM 2048^3 on 2 threads {peak / 1e9:.0f} GFLOP/s")


if __name__ == "__main__":
    main()
