"""Acquisition functions on real data: PRepAL (LR head on frozen MiniLM) vs random.

Each data set is embedded once with the packaged all-MiniLM-L6-v2 (cached on disk), then
``PRepALLearner`` runs 50 initial + 50 per round up to the budget for every strategy and seed,
scoring the head on the held-out split after every round. Prints and writes a table of mean ± std
test accuracy at chosen budgets, and the gain of each strategy over random.

Usage::

    python benchmarks/strategies_real.py                       # TREC-6, AG News, SST-2; 3 seeds
    python benchmarks/strategies_real.py --datasets trec --seeds 1 --budget 300   # quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import skprepal
from skprepal import FrozenLLMTransformer, PRepALLearner
from skprepal.datasets import load_ag_news, load_sst2, load_trec
from skprepal.evaluation import simulation_curve

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
LOADERS = {
    "trec": ("TREC-6", lambda: (load_trec("train"), load_trec("test"))),
    "ag_news": ("AG News", lambda: (load_ag_news("train"), load_ag_news("test"))),
    "sst2": ("SST-2", lambda: (load_sst2("train"), load_sst2("dev"))),
}


def embed(texts, cache_dir):
    start = time.perf_counter()
    X = FrozenLLMTransformer(cache_dir=cache_dir, batch_size=64).fit_transform(texts)
    return X, time.perf_counter() - start


def run(dataset, strategies, seeds, budget, cache_dir, min_words=0):
    name, load = LOADERS[dataset]
    train, test = load()
    if min_words:
        keep = np.array([len(t.split()) >= min_words for t in train.data])
        train.data, train.target = train.data[keep], train.target[keep]
        name = f"{name} (pool restricted to texts of ≥ {min_words} words)"
    X, seconds_train = embed(train.data, cache_dir)
    X_test, seconds_test = embed(test.data, cache_dir)
    curves, acquired = {}, {}
    for strategy in strategies:
        runs = []
        for seed in range(seeds):
            learner = PRepALLearner(
                query_strategy=strategy,
                batch_size=50,
                initial_size=50,
                budget=budget,
                random_state=seed,
            )
            curve = simulation_curve(learner, X, train.target, X_test, test.target)
            runs.append(curve.scores)
            acquired[(strategy, seed)] = curve.labeled_indices
        curves[strategy] = np.array(runs)
    # The rounds' label counts, the last one included when the budget is no multiple of 50.
    budgets = curve.n_labeled
    return (
        name,
        train,
        budgets,
        curves,
        acquired,
        (seconds_train, seconds_test, len(X), len(X_test)),
    )


def describe_picks(train, acquired, strategies, seeds, budget):
    """Mean word count and share of texts of at most 3 words among the acquired rows."""
    words = np.array([len(t.split()) for t in train.data])
    rows = []
    for strategy in strategies:
        picked = np.concatenate([acquired[(strategy, s)][50:budget] for s in range(seeds)])
        rows.append((strategy, words[picked].mean(), np.mean(words[picked] <= 3)))
    return words, rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--datasets", nargs="+", default=["trec", "ag_news", "sst2"], choices=list(LOADERS)
    )
    parser.add_argument(
        "--strategies", nargs="+", default=["random", "entropy", "margin", "least_confidence"]
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--report-at", nargs="+", type=int, default=[100, 250, 500, 1000])
    parser.add_argument("--cache-dir", default=str(HERE / ".cache"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--min-words",
        type=int,
        default=0,
        help="keep only training texts of at least this many words (SST-2 train holds phrases)",
    )
    parser.add_argument("--out", default=str(RESULTS / "strategies_real.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    report_at = [b for b in args.report_at if b <= args.budget]
    given = sys.argv[1:] if argv is None else list(argv)
    lines = [
        "# Acquisition functions on real data (PRepAL: LogisticRegression on frozen all-MiniLM-L6-v2)",
        "",
        f"Command: `{' '.join(['python benchmarks/strategies_real.py', *given])}` · "
        f"skprepal {skprepal.__version__} · "
        f"{platform.machine()}, {os.cpu_count()} cores · 50 initial random labels + 50 per round, "
        "LogisticRegression(max_iter=1000), mean ± std test accuracy over seeds.",
        "",
    ]
    for dataset in args.datasets:
        name, train, budgets, curves, acquired, sizes = run(
            dataset, args.strategies, args.seeds, args.budget, args.cache_dir, args.min_words
        )
        cols = [int(np.flatnonzero(budgets == b)[0]) for b in report_at]
        lines += [
            f"## {name}: pool {sizes[2]:,}, test {sizes[3]:,} (embedding {sizes[0]:.0f} s + {sizes[1]:.0f} s, cached after)",
            "",
            "| strategy | "
            + " | ".join(f"{b} labels" for b in report_at)
            + f" | gain over random at {report_at[-1]} |",
            "|---|" + "---:|" * (len(report_at) + 1),
        ]
        base = curves["random"][:, cols[-1]].mean() if "random" in curves else np.nan
        for strategy, curve in curves.items():
            cells = [f"{curve[:, c].mean():.4f} ± {curve[:, c].std():.4f}" for c in cols]
            gain = (curve[:, cols[-1]].mean() - base) * 100
            lines.append(f"| {strategy} | " + " | ".join(cells) + f" | {gain:+.1f} points |")
        words, rows = describe_picks(train, acquired, args.strategies, args.seeds, args.budget)
        lines += [
            "",
            f"What was acquired (rows 51..{args.budget}, all seeds): mean words per text and the "
            f"share of texts of ≤ 3 words (whole pool: {words.mean():.1f} words, "
            f"{np.mean(words <= 3):.1%} ≤ 3 words).",
            "",
            "| strategy | mean words | ≤ 3 words |",
            "|---|---:|---:|",
            *[f"| {s} | {w:.1f} | {short:.1%} |" for s, w, short in rows],
            "",
        ]
        print("\n".join(lines[-(len(rows) + len(curves) + 12) :]), flush=True)
    report = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(exist_ok=True)
    Path(args.out).write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
