"""Do bf16 embeddings change the active-learning curves? fp32 against bf16, side by side (issue 17).

Where ``precision="auto"`` resolves to bf16 (a CPU with AMX-BF16, an Ampere or later
GPU), the pool is embedded in bf16 instead of fp32. This script embeds the same texts both ways
(on a CPU without native bf16 the bf16 run is emulated: slow, but the same number format) and runs
margin sampling on each, same seeds, same head, reading test accuracy at 500 and 1,000 labels.
The verdict per cell: the two means differ by no more than the pooled seed standard deviation.

Data: TREC-6 (train 5,452, test 500) whole; AG News as a fixed random subset of its train and test
files (``--ag-pool`` / ``--ag-test``: emulated bf16 embeds a few dozen texts a second). fp32
vectors come from the embedding cache where ``learning_curves.py`` put them.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/precision_curves.py            # TREC-6 + AG News 4,000/2,000, 5 seeds
    OMP_NUM_THREADS=2 python benchmarks/precision_curves.py --quick    # TREC-6 only, 2 seeds, 500 labels
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from loop import cpu_description

import skprepal
from skprepal import FrozenLLMTransformer, PRepALLearner
from skprepal.datasets import load_ag_news, load_trec
from skprepal.evaluation import simulation_curve

HERE = Path(__file__).resolve().parent


def load(name: str, pool: int | None, test: int | None):
    """Texts and labels of a set's pool and test split, subsampled with fixed seeds."""
    loader = {"trec": load_trec, "ag_news": load_ag_news}[name]
    train, held_out = loader("train"), loader("test")
    parts = []
    for data, cap, seed in ((train, pool, 0), (held_out, test, 1)):
        texts, y = np.asarray(data.data, dtype=object), np.asarray(data.target)
        if cap and cap < len(y):
            keep = np.sort(np.random.default_rng(seed).choice(len(y), cap, replace=False))
            texts, y = texts[keep], y[keep]
        parts.append((texts, y))
    return parts


def embed(precision: str, texts, texts_test, cache_dir: str):
    start = time.perf_counter()
    embedder = FrozenLLMTransformer(precision=precision, cache_dir=cache_dir, batch_size=64)
    X = embedder.fit_transform(list(texts))
    X_test = embedder.transform(list(texts_test))
    return X, X_test, time.perf_counter() - start


def accuracies(X, y, X_test, y_test, seeds, budgets) -> np.ndarray:
    """Test accuracy at each budget (columns) for each seed (rows), margin sampling."""
    out = np.empty((len(seeds), len(budgets)))
    for i, seed in enumerate(seeds):
        learner = PRepALLearner(query_strategy="margin", batch_size=50, initial_size=50,
                                budget=max(budgets), random_state=seed)
        curve = simulation_curve(learner, X, y, X_test, y_test)
        at = dict(zip(curve.n_labeled.tolist(), curve.scores.tolist(), strict=True))
        out[i] = [at[b] for b in budgets]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="TREC-6, 2 seeds, 500 labels")
    parser.add_argument("--datasets", nargs="+", default=["trec", "ag_news"],
                        choices=["trec", "ag_news"], help="(default: both)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--ag-pool", type=int, default=4000, help="AG News pool rows (default 4000)")
    parser.add_argument("--ag-test", type=int, default=2000, help="AG News test rows (default 2000)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--cache-dir", default=str(HERE / ".cache"),
                        help="embedding cache (default benchmarks/.cache)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    datasets = ["trec"] if args.quick else args.datasets
    seeds = list(range(2 if args.quick else args.seeds))
    budgets = [500] if args.quick else [500, 1000]
    suffix = "-quick" if args.quick else ""
    record = {"command": "python " + " ".join(sys.argv), "cpu": cpu_description(),
              "skprepal": skprepal.__version__, "seeds": seeds, "budgets": budgets, "sets": {}}
    for name in datasets:
        caps = (None, None) if name == "trec" else (args.ag_pool, args.ag_test)
        (texts, y), (texts_test, y_test) = load(name, *caps)
        entry = {"pool": len(y), "test": len(y_test)}
        vectors = {}
        for precision in ("fp32", "bf16"):
            X, X_test, seconds = embed(precision, texts, texts_test, args.cache_dir)
            vectors[precision] = (X, X_test)
            entry[f"{precision}_embed_seconds"] = seconds
            print(f"{name}: {precision} embedded in {seconds:.0f} s", flush=True)
        a, b = vectors["fp32"][0], vectors["bf16"][0]
        cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        entry["cosine_mean"], entry["cosine_min"] = float(cosine.mean()), float(cosine.min())
        for precision, (X, X_test) in vectors.items():
            entry[precision] = accuracies(X, y, X_test, y_test, seeds, budgets).tolist()
        record["sets"][name] = entry
    (HERE / "results" / f"precision_curves{suffix}.json").write_text(json.dumps(record, indent=1))
    lines = report(record)
    (HERE / "results" / f"precision_curves{suffix}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def report(record: dict) -> list[str]:
    lines = [
        "# Active-learning curves on fp32 and bf16 embeddings",
        "",
        f"Command: `{record['command']}` · skprepal {record['skprepal']} · {record['cpu']}.",
        "",
        "all-MiniLM-L6-v2, margin sampling, LogisticRegression head (the learner's default), 50 "
        f"initial labels + 50 a round, seeds {record['seeds'][0]}-{record['seeds'][-1]}; test "
        "accuracy, mean ± sample std over the seeds. Within noise: |bf16 − fp32| ≤ the pooled "
        "seed std, sqrt((s_fp32² + s_bf16²) / 2).",
        "",
        "| set (pool / test) | cosine bf16 to fp32 (mean / min) | labels | fp32 | bf16 | "
        "bf16 − fp32 | pooled std | within noise |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, entry in record["sets"].items():
        fp32, bf16 = np.asarray(entry["fp32"]), np.asarray(entry["bf16"])
        for j, budget in enumerate(record["budgets"]):
            ddof = 1 if fp32.shape[0] > 1 else 0
            s1, s2 = fp32[:, j].std(ddof=ddof), bf16[:, j].std(ddof=ddof)
            pooled = float(np.sqrt((s1**2 + s2**2) / 2))
            diff = float(bf16[:, j].mean() - fp32[:, j].mean())
            lines.append(
                f"| {name} ({entry['pool']:,} / {entry['test']:,}) | "
                f"{entry['cosine_mean']:.5f} / {entry['cosine_min']:.5f} | {budget:,} | "
                f"{fp32[:, j].mean():.3f} ± {s1:.3f} | {bf16[:, j].mean():.3f} ± {s2:.3f} | "
                f"{diff * 100:+.1f} points | {pooled * 100:.1f} points | "
                f"{'yes' if abs(diff) <= pooled else 'no'} |"
            )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
