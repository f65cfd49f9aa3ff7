"""The active-learning loop: PRepALLearner vs modAL's recipe vs small-text, on the same arrays.

One run, side by side, same head (LogisticRegression) and same initial sample:

* a full entropy simulation: 50 initial labels, then 39 rounds of 50 (2,000 labels), on a
  20,000 x 384 float32 pool with 4 classes; wall time, final test accuracy and peak extra memory
  (tracemalloc) of each loop;
* one entropy query on the 20,000-row pool: ours vs a plain numpy reference
  (``predict_proba`` + ``argpartition``) vs modAL's ``entropy_sampling``;
* batch size 1 vs 50 at an equal budget of 500 labels.

Usage::

    python benchmarks/loop.py            # the sizes above, 2 repeats
    python benchmarks/loop.py --quick    # 5,000-row pool, 10 rounds, 1 repeat
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import tracemalloc
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

import skprepal
from skprepal import PRepALLearner
from skprepal.strategies import EntropySampling

RESULTS = Path(__file__).resolve().parent / "results"


def head() -> LogisticRegression:
    return LogisticRegression(max_iter=1000)


def make_data(n_pool: int, n_test: int, dim: int, seed: int = 0):
    """Embedding-like vectors: 12 Gaussian clusters in ``dim`` dimensions, 3 per class.

    Scaled so that a logistic regression on 2,000 random labels reaches about 0.87 test accuracy
    in about 20 L-BFGS iterations, as on real sentence embeddings.
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, dim)) * 0.1
    cluster = rng.integers(0, 12, n_pool + n_test)
    noise = rng.normal(size=(n_pool + n_test, dim)) * (8.0 / np.sqrt(dim))
    X = (centres[cluster] + noise).astype(np.float32)
    y = cluster % 4
    return X[:n_pool], y[:n_pool], X[n_pool:], y[n_pool:]


def run_skprepal(X, y, initial, rounds, batch):
    def fixed_start(estimator, X_pool, n):
        return initial  # at the start the pool is X itself, in order

    learner = PRepALLearner(
        head(),
        query_strategy="entropy",
        initial_strategy=fixed_start,
        batch_size=batch,
        initial_size=len(initial),
        budget=len(initial) + rounds * batch,
        random_state=0,
    ).fit(X, y)
    return learner, learner.labeled_indices_


def run_modal(X, y, initial, rounds, batch):
    """modAL's documented pool-based recipe, with the refit ``ActiveLearner.teach`` would do."""
    from modAL.uncertainty import entropy_sampling

    rows = np.arange(len(X))
    X_train, y_train = X[initial], y[initial]
    X_pool, y_pool, pool_rows = (
        np.delete(X, initial, 0),
        np.delete(y, initial),
        np.delete(rows, initial),
    )
    acquired = [initial]
    clf = head().fit(X_train, y_train)
    for _ in range(rounds):
        query, _ = entropy_sampling(clf, X_pool, n_instances=batch)
        X_train = np.concatenate([X_train, X_pool[query]])
        y_train = np.concatenate([y_train, y_pool[query]])
        acquired.append(pool_rows[query])
        X_pool, y_pool, pool_rows = (
            np.delete(X_pool, query, 0),
            np.delete(y_pool, query),
            np.delete(pool_rows, query),
        )
        clf = head().fit(X_train, y_train)
    return clf, np.concatenate(acquired)


def run_small_text(X, y, initial, rounds, batch):
    from small_text import PoolBasedActiveLearner, PredictionEntropy, SklearnClassifierFactory
    from small_text.data import SklearnDataset

    dataset = SklearnDataset(X, y)
    factory = SklearnClassifierFactory(head(), num_classes=4)
    learner = PoolBasedActiveLearner(factory, PredictionEntropy(), dataset)
    learner.initialize_data(initial, y[initial])
    for _ in range(rounds):
        query = learner.query(num_samples=batch)
        learner.update(y[query])
    return learner.classifier.model, learner.indices_labeled


def measure(fn, *args):
    start = time.perf_counter()
    model, acquired = fn(*args)
    return time.perf_counter() - start, model, acquired


def peak_memory(fn, *args):
    """Peak memory allocated during a run, in MiB (a separate run: tracing slows Python down)."""
    tracemalloc.start()
    fn(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def time_query(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    n_pool, rounds, repeats = (5_000, 10, 1) if args.quick else (20_000, 39, 2)
    batch, dim = 50, 384
    X, y, X_test, y_test = make_data(n_pool, 5_000, dim)
    initial = np.random.default_rng(0).choice(n_pool, size=50, replace=False)
    lines = [
        "# The active-learning loop: skprepal vs modAL's recipe vs small-text",
        "",
        f"Command: `python benchmarks/loop.py{' --quick' if args.quick else ''}` · skprepal "
        f"{skprepal.__version__} · {platform.machine()}, {os.cpu_count()} cores, BLAS threads "
        f"{args.threads} · pool {n_pool:,} x {dim} float32, 4 classes (synthetic embedding-like "
        f"clusters), test 5,000 · head LogisticRegression(max_iter=1000) · entropy, "
        f"50 initial (the same rows for all) + {rounds} rounds of {batch} · best of {repeats}.",
        "",
    ]
    with threadpool_limits(args.threads):
        loops = {
            "skprepal PRepALLearner": run_skprepal,
            "modAL recipe": run_modal,
            "small-text PoolBasedActiveLearner": run_small_text,
        }
        for fn in loops.values():  # warm-up: imports, BLAS thread pools, first-call caches
            fn(X, y, initial, 2, batch)
        results = {name: [] for name in loops}
        for rep in range(repeats):
            names = list(loops) if rep % 2 == 0 else list(reversed(loops))
            for name in names:
                results[name].append(measure(loops[name], X, y, initial, rounds, batch))
        best = {name: min(runs, key=lambda r: r[0]) for name, runs in results.items()}
        # small-text's entropy loops over the pool in Python: under tracemalloc that run takes
        # tens of minutes, so its memory is not traced.
        memory = {
            name: peak_memory(loops[name], X, y, initial, rounds, batch)
            for name in ("skprepal PRepALLearner", "modAL recipe")
        }
        ours_seconds = best["skprepal PRepALLearner"][0]
        peers = {k: v for k, v in best.items() if k != "skprepal PRepALLearner"}
        fastest_peer = min(peers, key=lambda k: peers[k][0])
        lines += [
            "## Full simulation",
            "",
            "| loop | seconds | time relative to skprepal | test accuracy | labels | peak traced memory (MiB) |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, (seconds, model, acquired) in best.items():
            accuracy = model.score(X_test, y_test)
            peak = f"{memory[name]:.1f}" if name in memory else "not traced"
            lines.append(
                f"| {name} | {seconds:.2f} | {seconds / ours_seconds:.2f}x | {accuracy:.4f} | "
                f"{len(acquired):,} | {peak} |"
            )
        ours_rows = best["skprepal PRepALLearner"][2]
        modal_rows = best["modAL recipe"][2]
        lines += [
            "",
            f"skprepal vs the faster peer ({fastest_peer}): "
            f"**{best[fastest_peer][0] / ours_seconds:.2f}x**. Acquired sets, skprepal vs modAL: "
            f"Jaccard {len(np.intersect1d(ours_rows, modal_rows)) / len(np.union1d(ours_rows, modal_rows)):.3f} "
            "(warm-started vs cold refits differ within the solver's tolerance, so ties can flip).",
            "",
        ]

        # One query on the full pool with the same fitted head.
        from modAL.uncertainty import entropy_sampling

        clf = head().fit(X[ours_rows[:500]], y[ours_rows[:500]])

        def reference():
            proba = clf.predict_proba(X)
            entropy = -(proba * np.log(np.clip(proba, 1e-300, None))).sum(axis=1)
            return np.argpartition(-entropy, batch - 1)[:batch]

        strategy = EntropySampling()
        q_repeats = 5 if args.quick else 25
        t_ref, ref_idx = time_query(reference, q_repeats)
        t_ours, our_idx = time_query(lambda: strategy(clf, X, batch), q_repeats)
        t_modal, modal_idx = time_query(
            lambda: entropy_sampling(clf, X, n_instances=batch)[0], q_repeats
        )
        same = set(ref_idx.tolist()) == set(our_idx.tolist()) == set(np.asarray(modal_idx).tolist())
        lines += [
            f"## One entropy query ({n_pool:,} rows, 50 picks, head fit on 500 labels; median of {q_repeats})",
            "",
            "| query | milliseconds | ratio to the numpy reference |",
            "|---|---:|---:|",
            f"| numpy reference (predict_proba + argpartition) | {t_ref * 1e3:.1f} | 1.00 |",
            f"| skprepal EntropySampling | {t_ours * 1e3:.1f} | {t_ours / t_ref:.2f} |",
            f"| modAL entropy_sampling | {t_modal * 1e3:.1f} | {t_modal / t_ref:.2f} |",
            "",
            f"All three pick the same rows: {same}.",
            "",
        ]

        # Sequential labeling: batch 1 vs 50 at the same budget.
        budget = 200 if args.quick else 500
        seq = {}
        for b in (1, 50):
            start = time.perf_counter()
            learner = PRepALLearner(
                head(),
                query_strategy="entropy",
                batch_size=b,
                initial_size=50,
                budget=budget,
                random_state=0,
            ).fit(X, y)
            seq[b] = (
                time.perf_counter() - start,
                learner.score(X_test, y_test),
                len(learner.history_),
            )
        lines += [
            f"## Batch size 1 vs 50 at {budget} labels (50 random initial)",
            "",
            "| batch size | rounds | seconds | ms per round | test accuracy |",
            "|---:|---:|---:|---:|---:|",
        ]
        for b, (seconds, accuracy, n_rounds) in seq.items():
            lines.append(
                f"| {b} | {n_rounds - 1} | {seconds:.2f} | {seconds / n_rounds * 1e3:.1f} | {accuracy:.4f} |"
            )
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"loop{'-quick' if args.quick else ''}.md").write_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
