"""How the learner's queries score the pool: on several threads, without rechecking rows.

A margin query over a 100,000 x 384 pool is a pass over 150 MB of vectors, on the path between
a person's answer and the next item. :func:`pool_scoring` lets :class:`ScoreStrategy` chunks be
scored by several threads (the learner's ``n_jobs``) and turns off scikit-learn's finiteness
check of every chunk (``assume_finite``), which the learner made once, when the pool was given.

Inside it, :func:`linear_proba` gives a ``LogisticRegression`` head's probabilities with torch's
matrix product: the pool times ``coef_.T`` has only as many columns as classes, a shape on which
OpenBLAS ran at a third of the memory's pace here (51 ms for 100,000 x 384 rows by 5 columns,
against 22 ms for torch's ``matmul`` of the same arrays). The formula is scikit-learn's
(``expit`` of the one decision column for two classes, ``softmax`` otherwise), and the tests
hold the two to 1e-6.
"""

from __future__ import annotations

import contextlib
import contextvars
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import sklearn
from joblib import effective_n_jobs
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

__all__ = ["in_pool_scoring", "linear_proba", "pool_scoring", "scoring_threads"]

# Threads scoring the pool's chunks; None outside pool_scoring.
_THREADS: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "skprepal_scoring_threads", default=None
)


@contextlib.contextmanager
def pool_scoring(n_jobs: int | None = None) -> Iterator[None]:
    """Score rows that were checked to be finite when the pool was given, on ``n_jobs`` threads.

    ``n_jobs`` follows scikit-learn: None is 1, -1 every CPU. Chunks are scored by that many
    threads (each with one BLAS thread, so no thread spins waiting for another), their results
    merged in row order, so the picks do not depend on ``n_jobs``.
    """
    token = _THREADS.set(max(1, int(effective_n_jobs(n_jobs))))
    try:
        with sklearn.config_context(assume_finite=True):
            yield
    finally:
        _THREADS.reset(token)


def in_pool_scoring() -> bool:
    """Whether this thread scores a pool for the learner (see :func:`pool_scoring`)."""
    return _THREADS.get() is not None


def scoring_threads() -> int:
    """How many threads score pool chunks here (1 outside :func:`pool_scoring`)."""
    return _THREADS.get() or 1


def linear_proba(estimator: Any, X: Any) -> np.ndarray | None:
    """``estimator.predict_proba(X)`` for a fitted ``LogisticRegression`` on dense float32 or
    float64 rows, multiplied by torch; None for anything else (the caller asks the estimator).
    """
    if type(estimator) is not LogisticRegression or not isinstance(X, np.ndarray):
        return None
    coef, intercept = getattr(estimator, "coef_", None), getattr(estimator, "intercept_", None)
    if X.ndim != 2 or X.dtype not in (np.float32, np.float64) or not isinstance(coef, np.ndarray):
        return None
    if coef.ndim != 2 or X.shape[1] != coef.shape[1]:
        return None  # the estimator's own call says what is wrong
    import torch

    with warnings.catch_warnings():
        # A read-only memmap is only read here.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        rows = torch.from_numpy(X)
    weights = np.array(coef, dtype=X.dtype, order="C")
    # A feature that is ~0 in every row (all-MiniLM-L6-v2 has two, at 1e-32) gets a coefficient
    # as small (1e-34), and MKL's product ran 3.5x slower with such numbers in it. Below
    # max|w| * eps**2 a coefficient changes no decision by as much as its rounding error.
    magnitude = np.abs(weights)
    weights[magnitude < magnitude.max() * np.finfo(X.dtype).eps ** 2] = 0.0
    weights = torch.from_numpy(weights)
    bias = torch.from_numpy(np.asarray(intercept, dtype=X.dtype).reshape(-1))
    with torch.no_grad():
        decision = torch.addmm(bias, rows, weights.T).numpy()
    if coef.shape[0] == 1:  # two classes: scikit-learn's expit of the one decision column
        positive = expit(decision[:, 0])
        return np.stack([1.0 - positive, positive], axis=1)
    # scikit-learn's softmax, class by class: with a few classes a row is too short for a
    # vector unit, while a class's column of a chunk is thousands of numbers (a row-wise softmax
    # cost as much as the product itself).
    by_class = np.ascontiguousarray(decision.T)
    by_class -= by_class.max(axis=0)
    np.exp(by_class, out=by_class)
    by_class /= by_class.sum(axis=0)
    return by_class.T
