"""How the learner's queries score the pool: on several threads, without rechecking rows.

A margin query over a 100,000 x 384 pool is a pass over 150 MB of vectors, on the path between
a person's answer and the next item. :func:`pool_scoring` lets :class:`ScoreStrategy` chunks be
scored by several threads (the learner's ``n_jobs``) and turns off scikit-learn's finiteness
check of every chunk (``assume_finite``), which the learner made once, when the pool was given.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

import sklearn
from joblib import effective_n_jobs

__all__ = ["pool_scoring", "scoring_threads"]

_THREADS: contextvars.ContextVar[int] = contextvars.ContextVar("skprepal_scoring_threads", default=1)


@contextlib.contextmanager
def pool_scoring(n_jobs: int | None = None) -> Iterator[None]:
    """Score rows that were checked to be finite when the pool was given, on ``n_jobs`` threads.

    ``n_jobs`` follows scikit-learn: None is 1, -1 every CPU. Chunks are scored by that many
    threads (each with one BLAS thread, so no thread spins waiting for another), their results
    merged in row order, so the picks do not depend on ``n_jobs``.
    """
    threads = max(1, int(effective_n_jobs(n_jobs)))
    token = _THREADS.set(threads)
    try:
        with sklearn.config_context(assume_finite=True):
            yield
    finally:
        _THREADS.reset(token)


def scoring_threads() -> int:
    """How many threads score pool chunks here (1 outside :func:`pool_scoring`)."""
    return _THREADS.get()
