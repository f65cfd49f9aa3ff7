"""A pool that does not fit twice: margin sampling on a 1,000,000 x 384 float32 memmap.

A synthetic, embedding-like pool (the clustered-Gaussian recipe of ``loop.py``'s ``make_data``,
4 classes) is written to a ``np.memmap`` file chunk by chunk, so that writing it never holds the
pool in memory, and opened read-only (``mode="r"``). On it, side by side in one run:

* skprepal: ``PRepALLearner(query_strategy="margin", batch_size=50, initial_size=50,
  budget=50 + 10 * 50, random_state=0).fit(pool, y)``: margin, 10 rounds of 50. The query and
  fit seconds of every round (``history_``) come from an untraced run; the peak heap of the
  whole fit (tracemalloc) from a second, traced run, reported as a fraction of the pool's size
  (goal: <= 0.3x) and per phase;
* modAL's recipe on the same file and the same 50 initial rows: a boolean pool mask,
  ``X_pool = X[pool]`` gathered every round, ``margin_sampling(clf, X_pool, n_instances=50)``,
  a fresh ``LogisticRegression(max_iter=1000)`` fit on the labeled rows. Timed untraced, peak
  heap from a separate traced run;
* the fitted learner pickled: its size, whether any pool row is in it, whether the unpickled
  learner's ``query(50)`` (which maps the file again) gives the rows the original's does, and
  the size after ``drop_pool()``.

The file is deleted at the end unless ``--keep``.

Usage::

    python benchmarks/pool_memory.py            # 1,000,000 rows (a 1.43 GiB file), 10 rounds
    python benchmarks/pool_memory.py --quick    # 100,000 rows, 3 rounds
    python benchmarks/pool_memory.py --workdir /big/disk --keep
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from _records import save_record
from loop import (
    command_line,
    cpu_description,
    draw_rows,
    make_centres,
    skprepal_description,
    thread_description,
)
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from skprepal import PRepALLearner

RESULTS = Path(__file__).resolve().parent / "results"
GOAL = 0.3  # peak heap of the whole fit, as a fraction of the pool's size
BATCH = 50
INITIAL = 50
N_TEST = 5_000
GEN_CHUNK = 20_000  # rows generated at once: 61 MiB of float64 noise


def write_pool(path: Path, n_rows: int, dim: int, seed: int = 0):
    """Write the pool to ``path`` chunk by chunk; return its labels and a test set in memory."""
    rng = np.random.default_rng(seed)
    centres = make_centres(rng, dim)
    X = np.memmap(path, dtype=np.float32, mode="w+", shape=(n_rows, dim))
    y = np.empty(n_rows, dtype=np.int64)
    for start in range(0, n_rows, GEN_CHUNK):
        stop = min(start + GEN_CHUNK, n_rows)
        X[start:stop], y[start:stop] = draw_rows(rng, centres, stop - start)
    X.flush()
    del X
    X_test, y_test = draw_rows(rng, centres, N_TEST)
    return y, X_test, y_test


class PhasePeaks(BaseEstimator):
    """A stopping criterion that never stops: it records the peak heap since its last call.

    The learner asks it after every head fit, so each entry is one phase (the start: checks,
    initial sample and first fit; then one query and one fit per round). The learner draws
    the criterion's randomness from its own stream, so adding it changes no pick (checked).
    """

    peaks: list[int] = []  # class-level: the learner fits a clone

    def should_stop(self, estimator, X, **context):
        PhasePeaks.peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.reset_peak()
        return False


def skprepal_learner(rounds: int, **extra) -> PRepALLearner:
    return PRepALLearner(
        query_strategy="margin",
        batch_size=BATCH,
        initial_size=INITIAL,
        budget=INITIAL + rounds * BATCH,
        random_state=0,
        **extra,
    )


def run_skprepal(X, y, rounds):
    start = time.perf_counter()
    learner = skprepal_learner(rounds).fit(X, y)
    return learner, time.perf_counter() - start


def traced_skprepal(X, y, rounds):
    """The same fit under tracemalloc: the whole fit's peak, and the peak of each phase."""
    PhasePeaks.peaks = []
    tracemalloc.start()
    start = time.perf_counter()
    learner = skprepal_learner(rounds, stopping=PhasePeaks()).fit(X, y)
    seconds = time.perf_counter() - start
    PhasePeaks.peaks.append(tracemalloc.get_traced_memory()[1])  # after the last check: the end
    tracemalloc.stop()
    phases = list(PhasePeaks.peaks)
    return learner, max(phases), phases, seconds


def run_modal(X, y, initial, rounds):
    """modAL's recipe: gather ``X[pool]`` every round, ``margin_sampling`` on it, refit fresh.

    ``X_pool`` is released as soon as the query is made (before the next round gathers a new
    one): the lowest peak this recipe can have.
    """
    from modAL.uncertainty import margin_sampling

    pool = np.ones(X.shape[0], dtype=bool)
    pool[initial] = False
    labeled = np.asarray(initial, dtype=np.intp)
    start = time.perf_counter()
    clf = LogisticRegression(max_iter=1000).fit(X[labeled], y[labeled])
    fits, queries = [time.perf_counter() - start], []
    for _ in range(rounds):
        start = time.perf_counter()
        pool_idx = np.flatnonzero(pool)
        X_pool = X[pool_idx]
        query, _ = margin_sampling(clf, X_pool, n_instances=BATCH)
        picked = pool_idx[query]
        del X_pool
        queries.append(time.perf_counter() - start)
        pool[picked] = False
        labeled = np.concatenate([labeled, picked])
        start = time.perf_counter()
        clf = LogisticRegression(max_iter=1000).fit(X[labeled], y[labeled])
        fits.append(time.perf_counter() - start)
    return clf, labeled, queries, fits


def traced_modal(X, y, initial, rounds):
    tracemalloc.start()
    start = time.perf_counter()
    run_modal(X, y, initial, rounds)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, seconds


def read_through(X) -> float:
    """Read the whole file once (page cache warm for every loop alike); return the seconds."""
    start = time.perf_counter()
    for s in range(0, X.shape[0], GEN_CHUNK):
        float(X[s : s + GEN_CHUNK].sum(dtype=np.float64))
    return time.perf_counter() - start


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.1f}"


def size_text(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:,.2f} MiB" if n_bytes >= 2**20 else f"{n_bytes / 2**10:,.1f} KiB"


def pickle_parts(learner, top: int = 4) -> str:
    """The largest entries of the learner's pickled state, with their pickled sizes."""
    sizes = {k: len(pickle.dumps(v)) for k, v in learner.__getstate__().items()}
    biggest = sorted(sizes.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"`{k}` {size_text(v)}" for k, v in biggest)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows, 3 rounds")
    parser.add_argument("--rows", type=int, help="pool rows (default 1,000,000; --quick 100,000)")
    parser.add_argument("--rounds", type=int, help="margin rounds of 50 (default 10; --quick 3)")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads (threadpoolctl)")
    parser.add_argument(
        "--workdir", type=Path, help="where the pool file goes (default: a temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the pool file (and its labels)")
    args = parser.parse_args(argv)
    n_rows = args.rows or (100_000 if args.quick else 1_000_000)
    rounds = args.rounds or (3 if args.quick else 10)
    dim = args.dim
    load = os.getloadavg()[0]
    started = time.perf_counter()

    workdir = Path(tempfile.mkdtemp(prefix="pool_memory-", dir=args.workdir))
    path = workdir / f"pool-{n_rows}x{dim}-float32.mmap"
    try:
        start = time.perf_counter()
        y, X_test, y_test = write_pool(path, n_rows, dim)
        write_seconds = time.perf_counter() - start
        X = np.memmap(path, dtype=np.float32, mode="r", shape=(n_rows, dim))
        pool_bytes = X.nbytes
        if args.keep:
            np.save(workdir / "labels.npy", y)
        with threadpool_limits(args.threads):
            read_seconds = read_through(X)
            # Warm-up on the in-memory test rows: imports, BLAS thread pools, first-call caches.
            skprepal_learner(1).fit(X_test, y_test)
            run_modal(X_test, y_test, np.arange(INITIAL), 1)

            learner, our_seconds = run_skprepal(X, y, rounds)
            initial = learner.history_[0]["queried"]
            modal_clf, modal_rows, modal_queries, modal_fits = run_modal(X, y, initial, rounds)
            modal_seconds = sum(modal_queries) + sum(modal_fits)
            traced, our_peak, phases, our_traced_seconds = traced_skprepal(X, y, rounds)
            modal_peak, modal_traced_seconds = traced_modal(X, y, initial, rounds)
            same_run = np.array_equal(traced.labeled_indices_, learner.labeled_indices_)

            # One margin query with skprepal's final head: chunked vs modAL on X[pool].
            from modAL.uncertainty import margin_sampling

            ours_next = learner.query(BATCH)
            pool_idx = np.flatnonzero(~np.isin(np.arange(n_rows), learner.labeled_indices_))
            X_pool = X[pool_idx]
            modal_next = pool_idx[margin_sampling(learner.estimator_, X_pool, n_instances=BATCH)[0]]
            del X_pool
            common = len(np.intersect1d(ours_next, modal_next))

            # The pickle.
            blob = pickle.dumps(learner)
            probe_rng = np.random.default_rng(1)
            probe = np.concatenate(
                [learner.labeled_indices_[:10], probe_rng.choice(n_rows, 10, replace=False)]
            )
            rows_inside = sum(X[r].tobytes() in blob for r in probe)
            parts = pickle_parts(learner)
            restored = pickle.loads(blob)
            start = time.perf_counter()
            again = restored.query(BATCH)
            requery_seconds = time.perf_counter() - start
            same_query = np.array_equal(again, ours_next)
            restored.drop_pool()
            slim = pickle.dumps(restored)
            slim_predicts = np.array_equal(
                pickle.loads(slim).predict(X_test), learner.predict(X_test)
            )
        del X, restored, traced
    finally:
        if args.keep:
            print(f"pool kept: {path} (labels: {workdir / 'labels.npy'})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    history = learner.history_
    our_queries = [h["query_seconds"] for h in history[1:]]
    our_fits = [h["fit_seconds"] for h in history]
    our_accuracy = learner.score(X_test, y_test)
    modal_accuracy = modal_clf.score(X_test, y_test)
    ratio = our_peak / pool_bytes
    worst_round = int(np.argmax(phases[1:])) + 1 if len(phases) > 1 else 0
    lines = [
        f"# Pool memory: margin sampling on a {n_rows:,} x {dim} float32 memmap pool",
        "",
        f"Command: `{command_line()}` · {skprepal_description()} · CPU {cpu_description()} · "
        f"{thread_description(args.threads)} · load average at start {load:.2f}.",
        "",
        f"Pool: {n_rows:,} x {dim} float32 = {mib(pool_bytes)} MiB, synthetic embedding-like "
        f"clusters (4 classes), written to a np.memmap file in {write_seconds:.1f} s (chunks of "
        f'{GEN_CHUNK:,} rows) and opened with `mode="r"`; one read through the file '
        f"{read_seconds:.2f} s (the page cache is warm for every loop). Test set {N_TEST:,} rows "
        f"in memory. Margin, {INITIAL} initial + {rounds} rounds of {BATCH} "
        f"({INITIAL + rounds * BATCH} labels); the same {INITIAL} initial rows for both loops.",
        "",
        "## Peak heap (tracemalloc, separate traced runs)",
        "",
        "| loop | peak heap (MiB) | x the pool's size | seconds under tracing | seconds untraced |",
        "|---|---:|---:|---:|---:|",
        f"| skprepal `PRepALLearner(...).fit(pool, y)` | {mib(our_peak)} | {ratio:.3f}x | "
        f"{our_traced_seconds:.1f} | {our_seconds:.1f} |",
        f"| modAL recipe (`X[pool]` every round) | {mib(modal_peak)} | "
        f"{modal_peak / pool_bytes:.3f}x | {modal_traced_seconds:.1f} | {modal_seconds:.1f} |",
        "",
        f"skprepal's goal, peak ≤ {GOAL}x the pool: **{'met' if ratio <= GOAL else 'NOT MET'}** "
        f"({ratio:.3f}x). Per phase (peak since the previous head fit, MiB): start (checks, "
        f"initial sample, first fit) {mib(phases[0])}; rounds "
        f"{', '.join(mib(p) for p in phases[1:])}; the largest round is {worst_round}. The "
        f"traced run (with a never-stopping criterion that reads the peaks) acquired the same "
        f"rows as the untraced one: {same_run}. modAL's `X_pool` is released right after each "
        "query, so its peak is one gathered pool plus what `predict_proba` needs on it.",
        "",
        "## Per round (untraced runs)",
        "",
        "| round | skprepal query s | modAL query s | modAL / skprepal | skprepal fit s | modAL fit s |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| 0 (initial {INITIAL}) | – | – | – | {our_fits[0]:.3f} | {modal_fits[0]:.3f} |",
    ]
    for i, (ours, theirs) in enumerate(zip(our_queries, modal_queries, strict=True), start=1):
        lines.append(
            f"| {i} | {ours:.3f} | {theirs:.3f} | {theirs / ours:.1f}x | {our_fits[i]:.3f} | {modal_fits[i]:.3f} |"
        )
    lines += [
        f"| total | {sum(our_queries):.3f} | {sum(modal_queries):.3f} | "
        f"{sum(modal_queries) / sum(our_queries):.1f}x | {sum(our_fits):.3f} | {sum(modal_fits):.3f} |",
        "",
        f"Whole fit: skprepal {our_seconds:.1f} s (its `fit` call, checks included), modAL's recipe "
        f"{modal_seconds:.1f} s (queries + fits). Test accuracy at {INITIAL + rounds * BATCH} labels: "
        f"skprepal {our_accuracy:.4f} (default head, tol=1e-3, warm-started), modAL "
        f"{modal_accuracy:.4f} (`LogisticRegression(max_iter=1000)`, cold: the same model to "
        "another tolerance, so "
        f"near-ties flip and the acquired sets part: Jaccard "
        f"{len(np.intersect1d(learner.labeled_indices_, modal_rows)) / len(np.union1d(learner.labeled_indices_, modal_rows)):.3f}).",
        "",
        f"One more margin query with skprepal's final head: `learner.query(50)` (chunked, running "
        f"top 50) and modAL's `margin_sampling` on `X[pool]` share {common} of 50 rows.",
        "",
        "## The pickle",
        "",
        "| learner | pickle size | x the pool's size |",
        "|---|---:|---:|",
        f"| fitted, after the run | {size_text(len(blob))} | {len(blob) / pool_bytes:.4f}x |",
        f"| after `drop_pool()` | {size_text(len(slim))} | {len(slim) / pool_bytes:.6f}x |",
        "",
        f"Pool rows found in the pickle: {rows_inside} of {len(probe)} probed (10 labeled, 10 "
        f"random; each row's bytes searched for). Largest parts: {parts}. The unpickled learner's "
        f"`query(50)` maps the file again ({requery_seconds:.2f} s) and returns the original's "
        f"rows: {same_query}. After `drop_pool()` it predicts the test set as the original does: "
        f"{slim_predicts}.",
        "",
        f"Whole benchmark: {time.perf_counter() - started:.0f} s.",
    ]
    report = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    name = "pool_memory-quick" if args.quick else "pool_memory"
    (RESULTS / f"{name}.md").write_text(report)
    record = {
        "rows": n_rows,
        "dim": dim,
        "rounds": rounds,
        "threads": args.threads,
        "pool_bytes": int(pool_bytes),
        "skprepal": {
            "peak_bytes": int(our_peak),
            "peak_fraction": ratio,
            "phase_peaks": [int(p) for p in phases],
            "query_seconds": our_queries,
            "fit_seconds": our_fits,
            "seconds": our_seconds,
            "traced_seconds": our_traced_seconds,
            "accuracy": our_accuracy,
        },
        "modal": {
            "peak_bytes": int(modal_peak),
            "query_seconds": modal_queries,
            "fit_seconds": modal_fits,
            "seconds": modal_seconds,
            "traced_seconds": modal_traced_seconds,
            "accuracy": modal_accuracy,
        },
        "pickle_bytes": len(blob),
        "pickle_bytes_after_drop_pool": len(slim),
        "pool_rows_in_pickle": int(rows_inside),
        "unpickled_query_same": bool(same_query),
    }
    # save_record adds the version and the command line; the record's own "skprepal" key holds
    # the learner's figures, so they are nested one level down.
    save_record(RESULTS / f"{name}.json", {"figures": record})
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
