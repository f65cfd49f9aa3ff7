"""Pools of millions: candidate restriction (SEALS, AnchorAL), ANN libraries, Ray, projections.

Four parts, each saved as a JSON record under ``benchmarks/results/scale/`` (``scale-quick/``
for ``--quick``), so a stopped run continues where it stopped and ``--report-only`` rebuilds the
report (``benchmarks/results/scale.md``, ``scale-quick.md``) from what is saved:

``synthetic``
    A 1,000,000 x 384 embedding-like pool (the clustered-Gaussian recipe of ``loop.py``'s
    ``make_data``, 4 classes), written chunk by chunk with ``np.lib.format.open_memmap`` and
    opened read-only. The faiss index (``VectorIndex``: HNSW, M=32, efSearch=128) is built once;
    its build seconds and size are reported on their own. Then, on the same memmap, each run
    ``PRepALLearner(batch_size=50, initial_size=50, random_state=0)`` for a few rounds: exact
    margin over every row (chunked, running top-n), ``SEALS("margin", n_neighbors=100)`` and
    ``AnchorAL("margin", subpool_size=10_000)`` on that index; and modAL's recipe
    (``margin_sampling`` on ``X[pool]`` gathered every round, a fresh ``LogisticRegression``).
    Per-round query seconds from an untraced run, the peak Python/numpy heap (tracemalloc) of a
    second, traced run; faiss' own C++ allocations are not traced (the index's size is given).
    Beside it, usearch against faiss on the same pool: build seconds, seconds for 200 queries of
    100 neighbours, and recall@100 against exact search on those 200 queries.
``curves``
    Real pools, SST-2 train (67,349) and IMDb train (25,000), embedded once with the packaged
    all-MiniLM-L6-v2 through the benchmarks' embedding cache (``benchmarks/.cache``, shared with
    ``learning_curves.py``). Learning curves of SEALS and AnchorAL against full-pool margin: 5
    seeds, 50 random initial labels + 50 per round to 2,000, test accuracy after every round
    (SST-2 dev; a fixed 5,000 of IMDb's test reviews, as ``learning_curves.py``). Goal: within
    0.5 point of full-pool margin. One record per (data set, strategy, seed).
``ray``
    The same 20,000 SST-2 sentences embedded by one process (FrozenLLMTransformer, all threads)
    and by ``skprepal.integrations.ray.embed_with_ray`` on a local Ray cluster of the same CPUs
    (one actor per CPU, one torch thread each), no cache on either side: the overhead ratio,
    with and without starting the cluster.
``projection``
    Disk, memory and time per round for 10M and 100M rows, from the per-row costs measured above
    (every projected figure is marked as such).

Usage::

    python benchmarks/scale.py                     # everything (1-1.5 h on a quiet 2-core machine)
    python benchmarks/scale.py --quick             # 10,000-row pool, 2,000-row SST-2, 1,000 texts on Ray
    python benchmarks/scale.py --parts synthetic   # one part
    python benchmarks/scale.py --report-only       # tabulate what is saved
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch
from _records import load_record, provenance, save_record
from loop import (
    command_line,
    cpu_description,
    draw_rows,
    make_centres,
    skprepal_description,
    thread_description,
)
from pool_memory import read_through, run_modal, traced_modal
from threadpoolctl import threadpool_limits

from skprepal import FrozenLLMTransformer, PRepALLearner
from skprepal.evaluation import format_mean_std, simulation_curve
from skprepal.strategies import SEALS, AnchorAL, VectorIndex

HERE = Path(__file__).resolve().parent
PARTS = ("synthetic", "curves", "ray", "projection")
BATCH, INITIAL = 50, 50
N_TEST = 5_000
GEN_CHUNK = 20_000
ANN_K = 100
#: Untraced runs per method on the synthetic pool; the faster is reported (for every method).
REPEATS = 2
STRATEGIES = {
    "margin (full pool)": lambda index: "margin",
    "SEALS": lambda index: SEALS("margin", n_neighbors=100, index=index),
    "AnchorAL": lambda index: AnchorAL("margin", subpool_size=10_000, index=index),
    # On the same index with its neighbour table (built once, timed on its own): the neighbours
    # of new labels are read from the table, not searched.
    "SEALS, neighbour table": lambda index: SEALS("margin", n_neighbors=100, index=index),
}
TABLED = "SEALS, neighbour table"


# -- part 1: the synthetic pool ----------------------------------------------------------------


def write_pool(path: Path | None, n_rows: int, dim: int, seed: int = 0):
    """The pool as an ``.npy`` file, written chunk by chunk; labels and a test set in memory.

    With ``path=None`` nothing is written: the same draws give the labels and the test set of a
    pool written before (``--pool-dir``).
    """
    rng = np.random.default_rng(seed)
    centres = make_centres(rng, dim)
    X = None
    if path is not None:
        X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_rows, dim))
    y = np.empty(n_rows, dtype=np.int64)
    for start in range(0, n_rows, GEN_CHUNK):
        stop = min(start + GEN_CHUNK, n_rows)
        rows, y[start:stop] = draw_rows(rng, centres, stop - start)
        if X is not None:
            X[start:stop] = rows
    if X is not None:
        X.flush()
        del X
    X_test, y_test = draw_rows(rng, centres, N_TEST)
    return y, X_test, y_test


def learner(strategy, rounds: int, n_jobs: int | None = None) -> PRepALLearner:
    return PRepALLearner(
        query_strategy=strategy,
        batch_size=BATCH,
        initial_size=INITIAL,
        budget=INITIAL + rounds * BATCH,
        random_state=0,
        n_jobs=n_jobs,
    )


def run_strategy(name, open_index, X, y, X_test, y_test, rounds, threads) -> dict:
    """Untraced: per-round query and fit seconds, test accuracy; traced: the fit's peak heap.

    Every method scores on ``threads`` threads (the learner's ``n_jobs``), as faiss searches on
    ``threads`` OpenMP threads and modAL's recipe multiplies on ``threads`` BLAS threads. Each
    run gets an index freshly opened by ``open_index()``: a VectorIndex remembers the searches
    it made, which would spare a repeated SEALS run its searches.
    """
    fitted, wall = None, None
    for _ in range(REPEATS):  # the faster untraced run (by mean query seconds) is kept
        index = open_index()
        start = time.perf_counter()
        run = learner(STRATEGIES[name](index), rounds, threads).fit(X, y)
        seconds = time.perf_counter() - start
        if fitted is None or _mean_query(run) < _mean_query(fitted):
            fitted, wall = run, seconds
    rounds_ = fitted.history_[1:]  # the first record is the initial sample's
    record = {
        "query_seconds": [r["query_seconds"] for r in rounds_],
        "fit_seconds": [r["fit_seconds"] for r in fitted.history_],
        "wall_seconds": wall,
        "accuracy": float(fitted.score(X_test, y_test)),
        "initial": fitted.labeled_indices_[:INITIAL].tolist(),
    }
    index = open_index()
    tracemalloc.start()
    learner(STRATEGIES[name](index), rounds, threads).fit(X, y)
    record["peak_heap_bytes"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return record


def _mean_query(fitted: PRepALLearner) -> float:
    return float(np.mean([r["query_seconds"] for r in fitted.history_[1:]]))


def exact_neighbours(X, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k cosine neighbours of ``queries`` among the rows of ``X``, chunk by chunk."""
    q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    best_sim = np.full((len(q), k), -np.inf, dtype=np.float32)
    best_row = np.zeros((len(q), k), dtype=np.int64)
    for start in range(0, X.shape[0], 65_536):
        chunk = np.asarray(X[start : start + 65_536], dtype=np.float32)
        chunk = chunk / np.maximum(np.linalg.norm(chunk, axis=1, keepdims=True), 1e-12)
        sim = q @ chunk.T
        sims = np.concatenate([best_sim, sim], axis=1)
        rows = np.concatenate(
            [best_row, np.broadcast_to(np.arange(start, start + chunk.shape[0]), sim.shape)], axis=1
        )
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        best_sim = np.take_along_axis(sims, top, axis=1)
        best_row = np.take_along_axis(rows, top, axis=1)
    return best_row


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f.tolist()) & set(e.tolist())) / exact.shape[1]
                          for f, e in zip(found, exact, strict=True)]))


def compare_ann(X, faiss_index: VectorIndex, threads: int, n_queries: int) -> dict:
    """usearch's default index against the faiss HNSW index already built, on the same rows."""
    from usearch.index import Index

    rng = np.random.default_rng(1)
    rows = np.sort(rng.choice(X.shape[0], n_queries, replace=False))
    queries = np.asarray(X[rows], dtype=np.float32)
    start = time.perf_counter()
    exact = exact_neighbours(X, queries, ANN_K)
    exact_seconds = time.perf_counter() - start

    start = time.perf_counter()
    faiss_rows, _ = faiss_index.search(queries, ANN_K)
    faiss_query = time.perf_counter() - start

    index = Index(ndim=X.shape[1], metric="cos", dtype="f32")
    start = time.perf_counter()
    for s in range(0, X.shape[0], 65_536):
        block = np.ascontiguousarray(X[s : s + 65_536], dtype=np.float32)
        index.add(np.arange(s, s + block.shape[0]), block, threads=threads)
    usearch_build = time.perf_counter() - start
    start = time.perf_counter()
    matches = index.search(queries, ANN_K, threads=threads)
    usearch_query = time.perf_counter() - start
    usearch_rows = np.asarray(matches.keys, dtype=np.int64)
    return {
        "queries": n_queries,
        "exact_seconds": exact_seconds,
        "faiss_query_seconds": faiss_query,
        "faiss_recall": recall(faiss_rows, exact),
        "usearch_build_seconds": usearch_build,
        "usearch_query_seconds": usearch_query,
        "usearch_recall": recall(usearch_rows, exact),
        "usearch_bytes": int(index.memory_usage),
        "usearch_settings": f"connectivity {index.connectivity}, expansion_add "
        f"{index.expansion_add}, expansion_search {index.expansion_search}, f32",
    }


def part_synthetic(args, folder: Path) -> dict:
    import faiss

    faiss.omp_set_num_threads(args.threads)
    keep = args.pool_dir is not None
    workdir = args.pool_dir or Path(tempfile.mkdtemp(prefix="scale-", dir=args.workdir))
    workdir.mkdir(parents=True, exist_ok=True)
    path, index_path = workdir / "vectors.npy", workdir / "index.faiss"
    earlier = load_record(workdir / "pool.json") if keep else None
    if earlier is not None and not (path.exists() and index_path.exists()):
        earlier = None
    try:
        if earlier is not None:
            # The pool and index a --pool-dir run wrote: their build figures are that run's.
            y, X_test, y_test = write_pool(None, args.rows, args.dim)
            record = {k: earlier[k] for k in POOL_FIGURES}
            record["pool_reused_from"] = earlier["made"]
            X = np.load(path, mmap_mode="r")
            index = VectorIndex.open(index_path, neighbour_table=False)
            print(f"pool and index reused from {workdir}", flush=True)
        else:
            record = build_pool(args, path, index_path)
            y, X_test, y_test = record.pop("_labels")
            if keep:
                made = time.strftime("%Y-%m-%d %H:%M")
                save_record(workdir / "pool.json", {**record, "made": made})
            X = np.load(path, mmap_mode="r")
            index = VectorIndex.open(index_path, neighbour_table=False)
        record["rounds"], record["repeats"] = args.rounds, REPEATS
        with threadpool_limits(args.threads):
            record.update(neighbour_table(X, index_path, workdir / "pool.json" if keep else None))
            def open_index(name: str):
                if name == "margin (full pool)":
                    return lambda: None
                return lambda: VectorIndex.open(index_path, neighbour_table=name == TABLED)

            runs = {}
            for name in STRATEGIES:
                runs[name] = run_strategy(name, open_index(name), X, y, X_test, y_test,
                                          args.rounds, args.threads)
                print(f"{name}: {np.mean(runs[name]['query_seconds']):.3f} s per query, "
                      f"accuracy {runs[name]['accuracy']:.3f}", flush=True)
            initial = np.asarray(runs["margin (full pool)"]["initial"])
            clf, labeled, queries, fits = min(
                (run_modal(X, y, initial, args.rounds) for _ in range(REPEATS)),
                key=lambda run: np.mean(run[2]),
            )
            peak, _ = traced_modal(X, y, initial, args.rounds)
            runs["modAL margin_sampling on X[pool]"] = {
                "query_seconds": queries, "fit_seconds": fits, "peak_heap_bytes": peak,
                "accuracy": float(clf.score(X_test, y_test)),
            }
            print(f"modAL: {np.mean(queries):.3f} s per query", flush=True)
        record["runs"] = runs
        if earlier is not None and "ann" in earlier:
            record["ann"] = earlier["ann"]  # the ANN comparison is a figure of the pool's run
        else:
            record["ann"] = compare_ann(X, index, args.threads, args.ann_queries)
            if keep:
                save_record(workdir / "pool.json", {**load_record(workdir / "pool.json"),
                                                    "ann": record["ann"]})
        print(f"ANN: faiss recall {record['ann']['faiss_recall']:.3f}, usearch "
              f"{record['ann']['usearch_recall']:.3f} (built in "
              f"{record['ann']['usearch_build_seconds']:.1f} s)", flush=True)
        del X
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    record["threads"] = args.threads
    return save_record(folder / "synthetic.json", record)


def neighbour_table(X, index_path: Path, pool_record: Path | None) -> dict:
    """The index's neighbour table (``ANN_K`` per row), built and timed unless a kept pool has
    it; its build figures, also saved to the kept pool's record."""
    earlier = load_record(pool_record) if pool_record is not None else None
    table = VectorIndex.table_path(index_path)
    if earlier is not None and "table_build_seconds" in earlier and table.exists():
        return {k: earlier[k] for k in TABLE_FIGURES}
    table.unlink(missing_ok=True)
    start = time.perf_counter()
    VectorIndex.open(index_path, neighbour_table=False).build_neighbour_table(
        X, ANN_K, path=index_path, progress=True
    )
    figures = {"table_build_seconds": time.perf_counter() - start,
               "table_bytes": table.stat().st_size}
    print(f"neighbour table built in {figures['table_build_seconds']:.1f} s", flush=True)
    if pool_record is not None:
        save_record(pool_record, {**load_record(pool_record), **figures})
    return figures


TABLE_FIGURES = ("table_build_seconds", "table_bytes")
POOL_FIGURES = ("rows", "dim", "write_seconds", "pool_bytes", "read_seconds",
                "index_build_seconds", "index_bytes", "index")


def build_pool(args, path: Path, index_path: Path) -> dict:
    """Write the pool and build its faiss index; their figures (and, under ``_labels``, the
    labels and the test set)."""
    start = time.perf_counter()
    labels = write_pool(path, args.rows, args.dim)
    record = {"rows": args.rows, "dim": args.dim, "write_seconds": time.perf_counter() - start}
    X = np.load(path, mmap_mode="r")
    record["pool_bytes"] = int(X.nbytes)
    record["read_seconds"] = read_through(X)
    print(f"pool {args.rows:,} x {args.dim} written in {record['write_seconds']:.1f} s",
          flush=True)
    start = time.perf_counter()
    # exact_below=1: HNSW even for a small --quick pool, so the same index kind is measured.
    index = VectorIndex.build(X, path=index_path, exact_below=1)
    record["index_build_seconds"] = time.perf_counter() - start
    record["index_bytes"] = index_path.stat().st_size
    record["index"] = repr(index)
    print(f"faiss index built in {record['index_build_seconds']:.1f} s", flush=True)
    return {**record, "_labels": labels}


# -- part 2: learning curves on real pools -----------------------------------------------------


def _imdb_test():
    from skprepal.datasets import load_imdb

    data = load_imdb("test")
    keep = np.sort(np.random.default_rng(1).choice(len(data.target), 5000, replace=False))
    return data.data[keep], data.target[keep]


def _datasets():
    from skprepal.datasets import load_imdb, load_sst2

    return {
        "sst2": ("SST-2", lambda: ((d := load_sst2("train")).data, d.target),
                 lambda: ((d := load_sst2("dev")).data, d.target)),
        "imdb": ("IMDb", lambda: ((d := load_imdb("train")).data, d.target), _imdb_test),
    }


def part_curves(args, folder: Path) -> dict:
    from skprepal.exceptions import DataNotFoundError

    summary = {}
    for key in args.datasets:
        name, load_train, load_test = _datasets()[key]
        try:
            (texts, y), (texts_test, y_test) = load_train(), load_test()
        except DataNotFoundError as exc:
            print(f"{name}: skipped ({exc})", flush=True)
            summary[key] = {"skipped": str(exc)}
            continue
        if args.pool_cap and len(y) > args.pool_cap:
            keep = np.random.default_rng(0).choice(len(y), args.pool_cap, replace=False)
            texts, y = texts[keep], y[keep]
        if args.pool_cap and len(y_test) > args.pool_cap // 4:
            keep = np.random.default_rng(1).choice(len(y_test), args.pool_cap // 4, replace=False)
            texts_test, y_test = texts_test[keep], y_test[keep]
        sub = folder / "curves" / key
        sub.mkdir(parents=True, exist_ok=True)
        wanted = [(s, seed) for s in STRATEGIES for seed in range(args.seeds)]
        missing = [(s, seed) for s, seed in wanted if not _curve_done(sub, s, seed, args.budget)]
        info = load_record(sub / "pool.json")
        if missing or info is None:
            embedder = FrozenLLMTransformer(cache_dir=args.cache_dir, batch_size=64)
            start = time.perf_counter()
            X = embedder.fit_transform(texts)
            X_test = embedder.transform(texts_test)
            embed_seconds = time.perf_counter() - start
            start = time.perf_counter()
            index = VectorIndex.build(X)
            info = save_record(sub / "pool.json", {
                "name": name, "pool": len(y), "test": len(y_test),
                "embedding_seconds": embed_seconds,
                "index_build_seconds": time.perf_counter() - start, "index": repr(index),
            })
            with threadpool_limits(args.threads):
                for strategy, seed in missing:
                    run = learner(STRATEGIES[strategy](index), 0).set_params(
                        budget=args.budget, random_state=seed
                    )
                    curve = simulation_curve(run, X, y, X_test, y_test)
                    save_record(_curve_path(sub, strategy, seed), {
                        "n_labeled": curve.n_labeled.tolist(),
                        "score": curve.scores.tolist(),
                        "query_seconds": curve.total_query_seconds,
                        "fit_seconds": curve.total_fit_seconds,
                        "rounds": len(curve.n_labeled) - 1,
                    })
                    print(f"{name} {strategy} seed {seed}: {curve.scores[-1]:.3f}", flush=True)
        summary[key] = info
    return summary


def _curve_path(sub: Path, strategy: str, seed: int) -> Path:
    slug = strategy.split(" ")[0].lower()
    return sub / f"{slug}-seed{seed}.json"


def _curve_done(sub: Path, strategy: str, seed: int, budget: int) -> bool:
    record = load_record(_curve_path(sub, strategy, seed))
    return record is not None and record["n_labeled"][-1] >= budget


# -- part 3: Ray against one process -----------------------------------------------------------


def part_ray(args, folder: Path) -> dict:
    try:
        import ray
    except ImportError:
        return save_record(folder / "ray.json", {"skipped": "ray is not installed"})
    from skprepal.datasets import load_sst2
    from skprepal.exceptions import DataNotFoundError
    from skprepal.integrations.ray import embed_with_ray

    try:
        texts = [str(t) for t in load_sst2("train").data[: args.ray_texts]]
    except DataNotFoundError as exc:
        return save_record(folder / "ray.json", {"skipped": str(exc)})
    workdir = Path(tempfile.mkdtemp(prefix="scale-ray-", dir=args.workdir))
    try:
        path = workdir / "texts.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text"])
            writer.writerows([t] for t in texts)
        torch.set_num_threads(args.threads)
        start = time.perf_counter()
        single = FrozenLLMTransformer(batch_size=64, device="cpu").fit(texts[:1])
        load_seconds = time.perf_counter() - start
        start = time.perf_counter()
        vectors = single.transform(texts)
        single_seconds = time.perf_counter() - start
        print(f"one process: {len(texts)} texts in {single_seconds:.1f} s", flush=True)

        start = time.perf_counter()
        ray.init(num_cpus=args.threads, include_dashboard=False, log_to_driver=False)
        init_seconds = time.perf_counter() - start
        try:
            start = time.perf_counter()
            store = embed_with_ray(
                path, workdir / "store", embedder=FrozenLLMTransformer(batch_size=64, device="cpu"),
                num_actors=args.threads, num_cpus_per_actor=1, batch_size=256,
            )
            ray_seconds = time.perf_counter() - start
            max_diff = float(np.abs(np.asarray(store.vectors) - vectors).max())
        finally:
            ray.shutdown()
        print(f"Ray: {ray_seconds:.1f} s (+ {init_seconds:.1f} s to start the cluster)", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return save_record(folder / "ray.json", {
        "texts": len(texts), "threads": args.threads, "single_load_seconds": load_seconds,
        "single_seconds": single_seconds, "ray_init_seconds": init_seconds,
        "ray_seconds": ray_seconds, "max_abs_diff": max_diff, "ray": ray.__version__,
    })


# -- the report --------------------------------------------------------------------------------


def gib(n: float) -> str:
    return f"{n / 2**30:,.2f} GiB" if n >= 2**30 else f"{n / 2**20:,.1f} MiB"


def seconds(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:,.1f} h"
    if s >= 120:
        return f"{s / 60:,.1f} min"
    return f"{s:,.2f} s" if s < 10 else f"{s:,.0f} s"


def synthetic_lines(rec: dict) -> list[str]:
    rows = rec["rows"]
    exact = np.mean(rec["runs"]["margin (full pool)"]["query_seconds"])
    lines = [
        f"## Synthetic pool: {rows:,} x {rec['dim']} float32 ({gib(rec['pool_bytes'])}), "
        f"{rec['rounds']} rounds of {BATCH}",
        "",
        f"Written in {rec['write_seconds']:.1f} s, read through once in "
        f"{rec['read_seconds']:.1f} s (page cache warm for every method alike). faiss index "
        f"({rec['index']}, M=32, efSearch=128) built once in {seconds(rec['index_build_seconds'])}, "
        f"{gib(rec['index_bytes'])} on disk: **not** in the per-round figures below."
        + (f" Its neighbour table ({ANN_K} neighbours per row, int32, searched once per row at "
           f"efSearch 128: the same lists SEALS searches for round by round) built once in "
           f"{seconds(rec['table_build_seconds'])}, {gib(rec['table_bytes'])} on disk: not in "
           "the per-round figures either." if "table_build_seconds" in rec else "")
        + (f" The pool and index were made by the run of {rec['pool_reused_from']} (its write, "
           "build and ANN figures); the rounds below were measured in this one."
           if rec.get("pool_reused_from") else "")
        + (f" Each method ran {rec['repeats']} times untraced; the faster run (by mean query "
           "seconds) is the one reported, for every method alike." if "repeats" in rec else "")
        + f" Each method on {rec.get('threads', 1)} threads (the learner's `n_jobs`, faiss' "
        "OpenMP threads, modAL's BLAS threads).",
        "",
        "| method | query s / round (mean) | speed-up over exact margin | peak heap (tracemalloc) | "
        f"test accuracy after {rec['rounds']} rounds |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, run in rec["runs"].items():
        q = float(np.mean(run["query_seconds"]))
        lines.append(
            f"| {name} | {q:.3f} | {exact / q:.1f}x | {gib(run['peak_heap_bytes'])} | "
            f"{run['accuracy']:.3f} |"
        )
    ann = rec["ann"]
    lines += [
        "",
        "Peak heap counts Python and numpy allocations; faiss' C++ memory (the index, held while "
        "SEALS/AnchorAL run, about its size on disk) is not traced.",
        "",
        f"### ANN libraries on the same pool ({ann['queries']} queries, {ANN_K} neighbours, "
        "cosine)",
        "",
        "| library | index | build | query time (all queries) | recall@100 vs exact | size |",
        "|---|---|---:|---:|---:|---:|",
        f"| faiss-cpu | HNSW M=32, efConstruction 40, efSearch 128, f32 | "
        f"{seconds(rec['index_build_seconds'])} | {ann['faiss_query_seconds']:.3f} s | "
        f"{ann['faiss_recall']:.3f} | {gib(rec['index_bytes'])} |",
        f"| usearch | default ({ann['usearch_settings']}) | "
        f"{seconds(ann['usearch_build_seconds'])} | {ann['usearch_query_seconds']:.3f} s | "
        f"{ann['usearch_recall']:.3f} | {gib(ann['usearch_bytes'])} |",
        "",
        f"Exact search for the {ann['queries']} queries (numpy, chunked): "
        f"{seconds(ann['exact_seconds'])}.",
        "",
    ]
    return lines


def curve_lines(folder: Path, summary_keys, budget: int, seeds: int) -> tuple[list[str], list]:
    lines, saved = [], []
    for key in summary_keys:
        sub = folder / "curves" / key
        info = load_record(sub / "pool.json")
        if info is None:
            lines += [f"## {key}: no saved runs (data absent or not run yet)", ""]
            continue
        saved.append(info)
        curves, query = {}, {}
        for strategy in STRATEGIES:
            runs = [load_record(_curve_path(sub, strategy, s)) for s in range(seeds)]
            runs = [r for r in runs if r is not None and r["n_labeled"][-1] >= budget]
            if runs:
                saved += runs
                curves[strategy] = (np.array(runs[0]["n_labeled"]),
                                    np.array([r["score"] for r in runs]))
                query[strategy] = np.mean([r["query_seconds"] / r["rounds"] for r in runs])
        if not curves:
            continue
        budgets = next(iter(curves.values()))[0]
        report_at = sorted({b for b in (100, 500, 1000, 2000) if b <= budgets[-1]}
                           | {int(budgets[-1])})
        cols = [int(np.flatnonzero(budgets == b)[0]) for b in report_at]
        reference = curves.get("margin (full pool)")
        lines += [
            f"## {info['name']}: pool {info['pool']:,}, test {info['test']:,}",
            "",
            f"Embedded in {seconds(info['embedding_seconds'])} (0 when cached); index "
            f"{info['index']} built in {seconds(info['index_build_seconds'])}. Test accuracy, "
            "mean ± std over seeds:",
            "",
            "| strategy | seeds | " + " | ".join(f"{b} labels" for b in report_at)
            + " | vs full-pool margin at the last | query s / round |",
            "|---|---:|" + "---:|" * (len(report_at) + 2),
        ]
        for strategy, (_, scores) in curves.items():
            cells = [format_mean_std(scores[:, c].mean(), scores[:, c].std()) for c in cols]
            gap = ("" if reference is None or strategy == "margin (full pool)" else
                   f"{(scores[:, cols[-1]].mean() - reference[1][:, cols[-1]].mean()) * 100:+.1f}"
                   " points")
            lines.append(f"| {strategy} | {len(scores)} | " + " | ".join(cells)
                         + f" | {gap} | {query[strategy]:.3f} |")
        lines.append("")
    return lines, saved


def ray_lines(rec: dict) -> list[str]:
    if "skipped" in rec:
        return ["## Ray against one process", "", f"Skipped: {rec['skipped']}.", ""]
    ratio = rec["ray_seconds"] / rec["single_seconds"]
    with_init = (rec["ray_seconds"] + rec["ray_init_seconds"]) / rec["single_seconds"]
    return [
        f"## Ray against one process: {rec['texts']:,} SST-2 sentences, {rec['threads']} CPUs",
        "",
        "| engine | seconds | texts/s | vs one process |",
        "|---|---:|---:|---:|",
        f"| one process (FrozenLLMTransformer.transform, {rec['threads']} torch threads) | "
        f"{rec['single_seconds']:.1f} | {rec['texts'] / rec['single_seconds']:,.0f} | 1.00x |",
        f"| Ray Data, {rec['threads']} actors x 1 thread (read, number, embed, Parquet shards, "
        f"compact) | {rec['ray_seconds']:.1f} | {rec['texts'] / rec['ray_seconds']:,.0f} | "
        f"{ratio:.2f}x |",
        f"| the same + starting the local cluster ({rec['ray_init_seconds']:.1f} s) | "
        f"{rec['ray_seconds'] + rec['ray_init_seconds']:.1f} | | {with_init:.2f}x |",
        "",
        f"Overhead ratio (Ray / one process, embedding only): **{ratio:.2f}**. The vectors agree "
        f"to {rec['max_abs_diff']:.1e}. Model loading of the single process "
        f"({rec['single_load_seconds']:.1f} s) is outside its figure, inside Ray's (each actor "
        f"loads its encoder). Ray {rec['ray']}.",
        "",
    ]


def projection_lines(syn: dict | None, ray_rec: dict | None) -> list[str]:
    if syn is None:
        return []
    n, dim = syn["rows"], syn["dim"]
    runs = syn["runs"]
    exact_q = np.mean(runs["margin (full pool)"]["query_seconds"]) / n
    seals_q = np.mean(runs["SEALS"]["query_seconds"])
    anchor_q = np.mean(runs["AnchorAL"]["query_seconds"])
    tabled_q = np.mean(runs[TABLED]["query_seconds"]) if TABLED in runs else None
    table_row = syn["table_bytes"] / n if "table_bytes" in syn else None
    table_build_row = syn["table_build_seconds"] / n if "table_build_seconds" in syn else None
    exact_peak = runs["margin (full pool)"]["peak_heap_bytes"]
    modal_peak = runs["modAL margin_sampling on X[pool]"]["peak_heap_bytes"] / n
    index_row = syn["index_bytes"] / n
    build_row = syn["index_build_seconds"] / n
    embed_row = None
    if ray_rec and "single_seconds" in ray_rec:
        embed_row = ray_rec["single_seconds"] / ray_rec["texts"]
    lines = [
        "## Projection to 10M and 100M rows",
        "",
        f"From the per-row costs measured on the {n:,}-row pool (M = measured there, P = "
        "projected: measured per-row cost x rows, linear; HNSW build and search grow a little "
        "faster, as n log n and log n, so P figures for them are lower bounds).",
        "",
        "| rows | vectors float32 / float16 on disk | faiss HNSW index | index build | neighbour "
        f"table ({ANN_K} per row): disk / build | embedding, one process | exact margin query / "
        "round | its peak heap | modAL recipe's peak heap | SEALS with the table / SEALS / "
        "AnchorAL query / round |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows in (n, 10_000_000, 100_000_000):
        tag = "M" if rows == n else "P"
        embed = "" if embed_row is None else f"{seconds(embed_row * rows)} ({'P'})"
        table = "" if table_row is None else (
            f"{gib(table_row * rows)} (exact) / {seconds(table_build_row * rows)} ({tag})")
        tabled = "" if tabled_q is None else f"{tabled_q:.3f} s / "
        lines.append(
            f"| {rows:,} | {gib(rows * dim * 4)} / {gib(rows * dim * 2)} (exact) | "
            f"{gib(index_row * rows)} ({tag}) | {seconds(build_row * rows)} ({tag}) | {table} | "
            f"{embed} | {seconds(exact_q * rows)} ({tag}) | {gib(exact_peak)} (M: chunk-bound, "
            f"not row-bound) | {gib(modal_peak * rows)} ({tag}) | {tabled}{seals_q:.3f} s / "
            f"{anchor_q:.3f} s (M at {n:,}; grows with labels, not rows) |"
        )
    lines += [
        "",
        "The embedding column uses the single-process rate of the Ray part (SST-2 sentences, "
        "short); k machines divide it by about k times the Ray overhead ratio. Long texts "
        "(IMDb reviews, 256 tokens) cost about 10 times more per row.",
        "",
    ]
    return lines


def report(args, folder: Path, quick: bool) -> str:
    syn = load_record(folder / "synthetic.json")
    ray_rec = load_record(folder / "ray.json")
    lines = [
        f"# Pools of millions ({'quick' if quick else 'full'} run)",
        "",
        f"Command: `{command_line()}` · {skprepal_description()} · {cpu_description()} · "
        f"{thread_description(args.threads)}; torch threads {args.threads}; faiss OpenMP "
        f"threads {args.threads}; usearch threads {args.threads} · load average at the start "
        f"{args.load:.1f}.",
        "",
    ]
    saved = [r for r in (syn, ray_rec) if r is not None]
    if syn is not None:
        lines += synthetic_lines(syn)
    more, runs = curve_lines(folder, args.datasets, args.budget, args.seeds)
    lines += more
    saved += runs
    if ray_rec is not None:
        lines += ray_lines(ray_rec)
    lines += projection_lines(syn, ray_rec)
    lines += [provenance(saved), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="10,000-row pool, 3 rounds, 50 ANN queries; SST-2 only, 2,000 rows "
                        "(500 test), 2 seeds, 300 labels; 1,000 texts on Ray")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--rows", type=int, help="synthetic pool rows (default 1,000,000)")
    parser.add_argument("--rounds", type=int, help="synthetic rounds of 50 (default 10)")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--ann-queries", type=int, default=200)
    parser.add_argument("--datasets", nargs="+", choices=["sst2", "imdb"], default=None)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--budget", type=int, default=None)
    parser.add_argument("--ray-texts", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache-dir", default=str(HERE / ".cache"))
    parser.add_argument("--workdir", type=Path, help="where the pool file goes (a temp dir)")
    parser.add_argument(
        "--pool-dir", type=Path, default=None,
        help="keep the synthetic pool and its index here and reuse them in later runs (their "
        "write and build figures are those of the run that made them); default: a temp dir, "
        "removed after the part")
    parser.add_argument("--report-only", action="store_true", help="tabulate what is saved")
    parser.add_argument("--redo", action="store_true", help="run the parts again, not resume")
    args = parser.parse_args(argv)
    q = args.quick
    args.rows = args.rows or (10_000 if q else 1_000_000)
    args.rounds = args.rounds or (3 if q else 10)
    args.datasets = args.datasets or (["sst2"] if q else ["sst2", "imdb"])
    args.seeds = args.seeds or (2 if q else 5)
    args.budget = args.budget or (300 if q else 2000)
    args.ray_texts = args.ray_texts or (1_000 if q else 20_000)
    args.pool_cap = 2_000 if q else None
    args.ann_queries = min(args.ann_queries, 50) if q else args.ann_queries
    args.load = os.getloadavg()[0]
    torch.set_num_threads(args.threads)
    folder = HERE / "results" / ("scale-quick" if q else "scale")
    folder.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        if "synthetic" in args.parts and (args.redo or load_record(folder / "synthetic.json") is None):
            part_synthetic(args, folder)
        if "curves" in args.parts:
            part_curves(args, folder)
        if "ray" in args.parts and (args.redo or load_record(folder / "ray.json") is None):
            part_ray(args, folder)
    text = report(args, folder, q)
    out = HERE / "results" / ("scale-quick.md" if q else "scale.md")
    out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
