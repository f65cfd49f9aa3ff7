"""PRepAL learning curves on the benchmark data sets, resumable per (data set, strategy, seed).

The paper's protocol scaled to this machine (DESIGN.md): a LogisticRegression head on frozen
all-MiniLM-L6-v2 embeddings, 50 random initial labels + 50 per round up to 2,000, 5 seeds, test
accuracy on each set's held-out split after every round. Every finished run is written to
``benchmarks/results/learning_curves/<data>/<strategy>-seed<k>.json`` and skipped when the
script runs again, so a long run can be stopped and continued. As a reference, not active
learning, ``<data>/full_pool.json`` holds the same head fit on every label of the pool.

Pools: the full training file of SST-2 (67,349), TREC-6 (5,452), IMDb (25,000) and the AG News
subset (10,001; the full 120k file is not available); QNLI has only its dev file here, so a fixed
random 1,000 pairs (seed 0) are held out and the other 4,463 form the pool; it is run twice, with
the pair encoded jointly (``qnli``, the default) and with each text embedded on its own and the
Sentence-BERT pair features ``[u, v, |u - v|, u * v]`` (``qnli_separate``). Test sets: SST-2 dev
(872), AG News test (7,600), TREC-6 test (500) and a fixed random 5,000 of IMDb's 25,000 test
reviews (embedding all of them would cost another 15 minutes for little extra precision).

Usage::

    python benchmarks/learning_curves.py                 # everything (hours: run it alone)
    python benchmarks/learning_curves.py --quick         # 2,000-row pools and tests, 300 labels, 2 seeds
    python benchmarks/learning_curves.py --datasets trec qnli --strategies random margin
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _records import load_record, provenance, save_record
from sklearn.linear_model import LogisticRegression

import skprepal
from skprepal import FrozenLLMTransformer, PRepALLearner
from skprepal.datasets import load_ag_news, load_imdb, load_qnli, load_sst2, load_trec
from skprepal.evaluation import format_mean_std, plot_learning_curves, simulation_curve

HERE = Path(__file__).resolve().parent
STRATEGIES = ["random", "margin", "entropy", "variation_ratio", "bald", "dal"]
#: FrozenLLMTransformer settings that differ from the default, per data set.
EMBEDDING = {"qnli_separate": {"pair_encoding": "separate"}}


def _imdb_test():
    data = load_imdb("test")
    keep = np.sort(np.random.default_rng(1).choice(len(data.target), 5000, replace=False))
    return data.data[keep], data.target[keep]


def _qnli():
    data = load_qnli("dev")
    rows = np.random.default_rng(0).permutation(len(data.target))
    test, pool = rows[:1000], rows[1000:]
    return (data.data[pool], data.target[pool]), (data.data[test], data.target[test])


DATASETS = {
    "sst2": (
        "SST-2",
        lambda: ((d := load_sst2("train")).data, d.target),
        lambda: ((d := load_sst2("dev")).data, d.target),
    ),
    "ag_news": (
        "AG News",
        lambda: ((d := load_ag_news("train")).data, d.target),
        lambda: ((d := load_ag_news("test")).data, d.target),
    ),
    "trec": (
        "TREC-6",
        lambda: ((d := load_trec("train")).data, d.target),
        lambda: ((d := load_trec("test")).data, d.target),
    ),
    "qnli": ("QNLI (dev split 4,463 / 1,000)", lambda: _qnli()[0], lambda: _qnli()[1]),
    "qnli_separate": (
        "QNLI, pair_encoding='separate' (dev split 4,463 / 1,000)",
        lambda: _qnli()[0],
        lambda: _qnli()[1],
    ),
    "imdb": ("IMDb", lambda: ((d := load_imdb("train")).data, d.target), _imdb_test),
}


class LazyEmbedding:
    """A pool's and test set's embeddings, computed on first use: finished runs need no model."""

    def __init__(self, embedder, texts, texts_test) -> None:
        self.embedder, self.texts, self.texts_test, self.seconds = embedder, texts, texts_test, None

    @functools.cached_property
    def vectors(self):
        start = time.perf_counter()
        vectors = self.embedder.fit_transform(self.texts), self.embedder.transform(self.texts_test)
        self.seconds = time.perf_counter() - start
        return vectors


def run_one(path: Path, X, y, X_test, y_test, strategy, seed, budget, batch_size=50) -> dict:
    """One simulation, written to ``path`` as JSON (atomically: a killed run leaves no file)."""
    start = time.perf_counter()
    learner = PRepALLearner(
        query_strategy=strategy,
        batch_size=batch_size,
        initial_size=50,
        budget=budget,
        random_state=seed,
    )
    curve = simulation_curve(learner, X, y, X_test, y_test)
    record = {
        "n_labeled": curve.n_labeled.tolist(),
        "score": curve.scores.tolist(),
        "fit_seconds": curve.total_fit_seconds,
        "query_seconds": curve.total_query_seconds,
        "wall_seconds": time.perf_counter() - start,
        "acquired": curve.labeled_indices.tolist(),
    }
    return save_record(path, record)


def full_pool_score(X, y, X_test, y_test) -> float:
    """The PRepAL head fit on every label of the pool: what the frozen representation allows."""
    return float(LogisticRegression(max_iter=1000).fit(X, y).score(X_test, y_test))


def fit_full_pool(path: Path, embedding: LazyEmbedding, y, y_test) -> dict:
    """:func:`full_pool_score` on a data set's embeddings, saved as a run record."""
    X, X_test = embedding.vectors
    start = time.perf_counter()
    score = full_pool_score(X, y, X_test, y_test)
    record = {
        "score": score,
        "fit_seconds": time.perf_counter() - start,
        "n_labeled": len(y),
        "embedding_seconds": embedding.seconds,
    }
    return save_record(path, record)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="2,000-row pools and test sets, 300 labels, 2 seeds"
    )
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--strategies", nargs="+", default=STRATEGIES)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--budget", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache-dir", default=str(HERE / ".cache"))
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="tabulate the runs already saved, running nothing (seeds not yet run are left out)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    seeds = args.seeds or (2 if args.quick else 5)
    budget = args.budget or (300 if args.quick else 2000)
    pool_cap = 2000 if args.quick else None
    results = HERE / "results" / ("learning_curves-quick" if args.quick else "learning_curves")
    given = sys.argv[1:] if argv is None else list(argv)
    command = " ".join(["python benchmarks/learning_curves.py", *given])
    lines = [
        f"# PRepAL learning curves ({'quick' if args.quick else 'full'} protocol)",
        "",
        f"Command: `{command}` · skprepal {skprepal.__version__} · {platform.machine()}, "
        f"{os.cpu_count()} cores, {args.threads} torch threads · head LogisticRegression on frozen "
        f"all-MiniLM-L6-v2 embeddings · 50 random initial labels + 50 per round to {budget} · "
        f"{seeds} seeds · test accuracy mean ± std"
        + (f" · pools and test sets subsampled to {pool_cap:,} rows" if pool_cap else "")
        + ".",
        "",
        "Each (data set, strategy, seed) is one saved run; the command above ran those that were "
        "missing and tabulated all. To redo one, delete its JSON file and run "
        "`python benchmarks/learning_curves.py --datasets <data> --strategies <strategy>`.",
        "",
    ]
    for key in args.datasets:
        name, load_train, load_test = DATASETS[key]
        # fp32 on every CPU, as the recorded curves were made ("auto" is bf16 where AMX is).
        embedder = FrozenLLMTransformer(
            cache_dir=args.cache_dir, batch_size=64, precision="fp32", **EMBEDDING.get(key, {})
        )
        (texts, y), (texts_test, y_test) = load_train(), load_test()
        if pool_cap and len(y) > pool_cap:
            keep = np.random.default_rng(0).choice(len(y), pool_cap, replace=False)
            texts, y = texts[keep], y[keep]
        if pool_cap and len(y_test) > pool_cap:
            keep = np.random.default_rng(1).choice(len(y_test), pool_cap, replace=False)
            texts_test, y_test = texts_test[keep], y_test[keep]
        embedding = LazyEmbedding(embedder, texts, texts_test)
        folder = results / key
        folder.mkdir(parents=True, exist_ok=True)
        curves, budgets, cost, saved = {}, None, {"fit": 0.0, "query": 0.0}, []
        for strategy in args.strategies:
            runs = []
            for seed in range(seeds):
                path = folder / f"{strategy}-seed{seed}.json"
                record = load_record(path)
                if record is None or record["n_labeled"][-1] != min(budget, len(y)):
                    if args.report_only:
                        continue
                    X, X_test = embedding.vectors
                    record = run_one(path, X, y, X_test, y_test, strategy, seed, budget)
                runs.append(record["score"])
                saved.append(record)
                budgets = record["n_labeled"]
                cost["fit"] += record["fit_seconds"]
                cost["query"] += record["query_seconds"]
            if not runs:
                continue
            curves[strategy] = np.array(runs)
            print(
                f"{name} {strategy}: {format_mean_std(curves[strategy][:, -1].mean(), curves[strategy][:, -1].std())}",
                flush=True,
            )
        full = load_record(folder / "full_pool.json")
        if full is None and not args.report_only:
            full = fit_full_pool(folder / "full_pool.json", embedding, y, y_test)
        if full is not None:
            saved.append(full)
        budgets = np.array(budgets)
        last = int(budgets[-1])
        report_at = sorted({b for b in (100, 500, 1000, 2000) if b <= last} | {last})
        cols = [int(np.flatnonzero(budgets == b)[0]) for b in report_at]
        base = curves.get("random")
        lines += [
            f"## {name}: pool {len(y):,}, test {len(y_test):,}",
            "",
            "| strategy | seeds | "
            + " | ".join(f"{b} labels" for b in report_at)
            + " | vs random at the last |",
            "|---|---:|" + "---:|" * (len(report_at) + 1),
        ]
        for strategy, curve in curves.items():
            cells = [format_mean_std(curve[:, c].mean(), curve[:, c].std()) for c in cols]
            gain = (
                ""
                if base is None
                else f"{(curve[:, cols[-1]].mean() - base[:, cols[-1]].mean()) * 100:+.1f} points"
            )
            lines.append(f"| {strategy} | {len(curve)} | " + " | ".join(cells) + f" | {gain} |")
        lines += [
            "",
            "Wall-clock: embedding "
            + (
                "not needed by this command"
                if embedding.seconds is None
                else f"{embedding.seconds:.1f} s (0 when cached)"
            )
            + f", head fits {cost['fit']:.1f} s, "
            f"queries {cost['query']:.1f} s over all runs.",
            "",
        ]
        if full is not None:
            lines += [
                f"Reference, not active learning: the same head fit on every one of the pool's "
                f"{len(y):,} labels scores {full['score']:.3f} (active learning with 2,000 labels "
                f"can match or pass it; fit {full['fit_seconds']:.1f} s; the pool and "
                f"test set embedded in {full['embedding_seconds']:.0f} s when it was made).",
                "",
            ]
        lines += [
            provenance(saved),
            "",
            f"![{name}]({key}.png)",
            "",
        ]
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ax = plot_learning_curves(curves, budgets, title=f"{name}: PRepAL (LR on frozen MiniLM)")
        if full is not None:
            ax.axhline(full["score"], color="gray", linestyle="--", label=f"all {len(y):,} labels")
            ax.legend()
        ax.figure.savefig(results / f"{key}.png", dpi=110, bbox_inches="tight")
        plt.close(ax.figure)
    (results / "README.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
