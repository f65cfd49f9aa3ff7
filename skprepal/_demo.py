"""The main job run by ``make demo``: embed the shipped sample once, then again from the cache.

This is what exists so far of the full PRepAL run; the later phases (the active-learning loop
and the final fine-tune) join it as they are built.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from skprepal.datasets import load_sample_texts
from skprepal.embedding import DEFAULT_MODEL, FrozenLLMTransformer

__all__ = ["run_demo"]


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    return "\n".join([line, rule, *body])


def run_demo(
    *, model: str = DEFAULT_MODEL, cache_dir: str | None = None, echo: Callable[[str], None] = print
) -> dict[str, float]:
    """Embed the sample tickets twice and report throughput and the cache's effect.

    Parameters
    ----------
    model : str, default=DEFAULT_MODEL
        Encoder to use.
    cache_dir : str or None, default=None
        Cache folder to use; None uses a fresh temporary one, so the first pass is always cold.
    echo : callable, default=print
        Where the report lines go.

    Returns
    -------
    dict
        The measured seconds of each phase and the cross-validated accuracy.
    """
    X, y = load_sample_texts(return_X_y=True)
    echo(f"skprepal demo: {len(X)} support tickets, {len(set(y))} classes, model {model}")
    with tempfile.TemporaryDirectory(prefix="skprepal-demo-") as tmp:
        cache = cache_dir or str(Path(tmp) / "cache")
        embedder = FrozenLLMTransformer(model, cache_dir=cache)
        start = time.perf_counter()
        embedder.fit(X)
        load = time.perf_counter() - start
        start = time.perf_counter()
        first = embedder.transform(X)
        cold = time.perf_counter() - start
        again = FrozenLLMTransformer(model, cache_dir=cache).fit(X)
        start = time.perf_counter()
        second = again.transform(X)
        warm = time.perf_counter() - start
    if not np.array_equal(first, second):
        raise RuntimeError("the cached embeddings differ from the computed ones")
    accuracy = cross_val_score(LogisticRegression(max_iter=2000), first, y, cv=5).mean()
    rows = [
        ["load model", "", f"{load:.2f}", ""],
        ["embed (cold)", f"{len(X)}", f"{cold:.2f}", f"{len(X) / cold:,.0f}"],
        ["embed again (cache)", f"{len(X)}", f"{warm:.3f}", f"{len(X) / warm:,.0f}"],
    ]
    echo("")
    echo(_table(["phase", "texts", "seconds", "texts/s"], rows))
    echo("")
    echo(
        f"The cache served the repeat {cold / warm:,.0f}x faster than embedding "
        f"({embedder.embedding_dim_}-d vectors on {embedder.device_})."
    )
    echo(
        f"Logistic regression on the frozen embeddings, 5-fold accuracy over all {len(X)} "
        f"labels: {accuracy:.3f}"
    )
    return {"load": load, "cold": cold, "warm": warm, "accuracy": float(accuracy)}
