"""TransferFineTuner accuracy: MiniLM fine-tuned on 500 random SST-2 sentences, several seeds.

The issue's target: at least 0.75 accuracy on the SST-2 dev set (a plain training loop measured
0.77 in 40 s here), 3 epochs, max_length 128. Reports mean ± std over seeds and the wall time of
each fine-tune.

Usage::

    python benchmarks/finetune_accuracy.py                 # 500 sentences, 3 seeds
    python benchmarks/finetune_accuracy.py --n-train 2000  # the 2,000-sentence figure
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

import skprepal
from skprepal import TransferFineTuner
from skprepal.datasets import load_sst2

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-train", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    train, dev = load_sst2("train"), load_sst2("dev")
    rows = []
    for seed in range(args.seeds):
        sample = np.random.default_rng(seed).choice(len(train.data), args.n_train, replace=False)
        clf = TransferFineTuner(
            epochs=args.epochs,
            max_length=args.max_length,
            batch_size=16,
            device="cpu",
            random_state=seed,
        )
        start = time.perf_counter()
        clf.fit(train.data[sample], train.target[sample])
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        accuracy = clf.score(dev.data, dev.target)
        predict_seconds = time.perf_counter() - start
        rows.append((seed, accuracy, fit_seconds, predict_seconds))
        print(f"seed {seed}: accuracy {accuracy:.4f}, fit {fit_seconds:.1f} s", flush=True)
    accuracy = np.array([r[1] for r in rows])
    lines = [
        f"# TransferFineTuner: all-MiniLM-L6-v2 fine-tuned on {args.n_train} random SST-2 sentences",
        "",
        f"Command: `python benchmarks/finetune_accuracy.py --n-train {args.n_train} --seeds "
        f"{args.seeds}` · skprepal {skprepal.__version__} · torch {torch.__version__} · "
        f"{platform.machine()}, {os.cpu_count()} cores, {args.threads} torch threads, CPU · "
        f"{args.epochs:g} epochs, max_length {args.max_length}, batch 16, lr 5e-5, warmup 10%.",
        "",
        "| seed | dev accuracy (872) | fine-tune seconds | predict dev seconds |",
        "|---:|---:|---:|---:|",
        *[f"| {s} | {a:.4f} | {f:.1f} | {p:.1f} |" for s, a, f, p in rows],
        "",
        f"Mean ± std: **{accuracy.mean():.4f} ± {accuracy.std():.4f}** (min {accuracy.min():.4f}).",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"finetune_accuracy_{args.n_train}.md").write_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
