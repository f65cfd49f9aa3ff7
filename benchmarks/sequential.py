"""Sequential labeling: PRepAL with batch size 1 vs 50 at equal budgets (up to 500 labels).

One label per round is what a single annotator working through a queue needs; with fine-tuning in
the loop it is out of reach (one fine-tune per label), with PRepAL a round costs milliseconds. This
measures what batch size 1 buys in accuracy and what it costs in time: margin sampling with a
LogisticRegression head on frozen all-MiniLM-L6-v2 embeddings, 50 random initial labels, then 1 or
50 per round up to 500 labels, against random sampling, on the full pools of SST-2, AG News and
TREC-6 (the same pools and test sets as ``learning_curves.py``), 5 seeds. Runs are resumable per
(data set, mode, seed) under ``benchmarks/results/sequential/``.

Usage::

    python benchmarks/sequential.py
    python benchmarks/sequential.py --quick      # 2,000-row pools, 200 labels, 2 seeds
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import numpy as np
import torch
from _records import load_record, provenance
from learning_curves import DATASETS, LazyEmbedding, run_one

import skprepal
from skprepal import FrozenLLMTransformer
from skprepal.evaluation import acquisition_overlap, format_mean_std

HERE = Path(__file__).resolve().parent
#: mode name -> (strategy, batch size)
MODES = {
    "margin, batch 1": ("margin", 1),
    "margin, batch 50": ("margin", 50),
    "random, batch 50": ("random", 50),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000-row pools, 200 labels, 2 seeds")
    parser.add_argument(
        "--datasets", nargs="+", default=["sst2", "ag_news", "trec"], choices=list(DATASETS)
    )
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache-dir", default=str(HERE / ".cache"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    seeds = args.seeds or (2 if args.quick else 5)
    budget = 200 if args.quick else 500
    results = HERE / "results" / ("sequential-quick" if args.quick else "sequential")
    given = sys.argv[1:] if argv is None else list(argv)
    lines = [
        f"# Sequential labeling: batch size 1 vs 50 ({'quick' if args.quick else 'full'} protocol)",
        "",
        f"Command: `{' '.join(['python benchmarks/sequential.py', *given])}` · skprepal "
        f"{skprepal.__version__} · {platform.machine()}, {os.cpu_count()} cores, {args.threads} "
        f"torch threads · LogisticRegression on frozen all-MiniLM-L6-v2 · 50 random initial labels, "
        f"then 1 or 50 per round to {budget} · {seeds} seeds · test accuracy mean ± std.",
        "",
    ]
    embedder = FrozenLLMTransformer(cache_dir=args.cache_dir, batch_size=64, show_progress=False)
    for key in args.datasets:
        name, load_train, load_test = DATASETS[key]
        (texts, y), (texts_test, y_test) = load_train(), load_test()
        if args.quick:
            keep = np.random.default_rng(0).choice(len(y), min(2000, len(y)), replace=False)
            texts, y = texts[keep], y[keep]
        embedding = LazyEmbedding(embedder, texts, texts_test)
        folder = results / key
        folder.mkdir(parents=True, exist_ok=True)
        records: dict[str, list[dict]] = {}
        for mode, (strategy, batch) in MODES.items():
            records[mode] = []
            for seed in range(seeds):
                path = folder / f"{strategy}-batch{batch}-seed{seed}.json"
                record = load_record(path)
                if record is None:
                    X, X_test = embedding.vectors
                    record = run_one(
                        path, X, y, X_test, y_test, strategy, seed, budget, batch_size=batch
                    )
                records[mode].append(record)
            print(f"{name} {mode}: done", flush=True)
        report_at = [b for b in (100, 200, 300, 400, 500) if b <= budget]

        lines += [
            f"## {name}: pool {len(y):,}, test {len(y_test):,}",
            "",
            "| mode | "
            + " | ".join(f"{k} labels" for k in report_at)
            + " | rounds | loop seconds (fits + queries) | per round |",
            "|---|" + "---:|" * (len(report_at) + 3),
        ]
        for mode, runs in records.items():
            scores = [[_score_at(r, k) for r in runs] for k in report_at]
            cells = [format_mean_std(float(np.mean(v)), float(np.std(v))) for v in scores]
            seconds = np.mean([r["fit_seconds"] + r["query_seconds"] for r in runs])
            rounds = len(runs[0]["n_labeled"]) - 1
            lines.append(
                f"| {mode} | "
                + " | ".join(cells)
                + f" | {rounds} | {seconds:.2f} | {seconds / (rounds + 1) * 1000:.1f} ms |"
            )
        jaccard = [
            acquisition_overlap(a["acquired"], b["acquired"], [budget])[0]
            for a, b in zip(records["margin, batch 1"], records["margin, batch 50"], strict=True)
        ]
        lines += [
            "",
            f"Jaccard overlap of the batch-1 and batch-50 margin sets at {budget} labels: "
            f"{format_mean_std(np.mean(jaccard), np.std(jaccard))} (the shared 50 initial rows alone "
            f"give {50 / (2 * budget - 50):.3f}).",
            "",
            provenance(r for runs in records.values() for r in runs),
            "",
            f"![{name}]({key}.png)",
            "",
        ]
        _plot(records, budget, name, results / f"{key}.png")
    results.mkdir(parents=True, exist_ok=True)
    (results / "README.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def _score_at(record: dict, n_labeled: int) -> float:
    return record["score"][record["n_labeled"].index(n_labeled)]


def _plot(records: dict[str, list[dict]], budget: int, name: str, path: Path) -> None:
    """Every mode's mean curve at the budgets all modes share (50, 100, ...), on one axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skprepal.evaluation import plot_learning_curves

    shared = list(range(50, budget + 1, 50))
    curves = {
        mode: [[_score_at(r, k) for k in shared] for r in runs] for mode, runs in records.items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    ax = plot_learning_curves(curves, shared, title=f"{name}: sequential (batch 1) vs batch 50")
    ax.figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(ax.figure)


if __name__ == "__main__":
    raise SystemExit(main())
