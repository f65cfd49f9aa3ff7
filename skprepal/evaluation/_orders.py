"""Acquisition orders: checking them, replaying one with any classifier, comparing two.

An order is the row numbers of the labeled rows, in the order they were labeled.
"""

from __future__ import annotations

import difflib
import logging
import time
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.metrics import get_scorer, get_scorer_names

from skprepal.exceptions import InvalidInputError

__all__ = ["acquisition_overlap", "check_scoring", "learning_curve_from_order"]

logger = logging.getLogger(__name__)


def _check_order(order: Any, n_samples: int | None, name: str = "order") -> np.ndarray:
    arr = np.asarray(order)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise InvalidInputError(
            f"{name} must be a 1-D array of integer row numbers, got dtype {arr.dtype} and shape "
            f"{arr.shape}."
        )
    arr = arr.astype(np.intp, copy=False)
    if n_samples is not None and arr.size and (arr.min() < 0 or arr.max() >= n_samples):
        raise InvalidInputError(
            f"{name} holds row numbers from {arr.min()} to {arr.max()}, but X has {n_samples} rows."
        )
    if np.unique(arr).size != arr.size:
        raise InvalidInputError(
            f"{name} lists the same row more than once; an acquisition order labels each row once."
        )
    return arr


def _check_budgets(budgets: Any, max_budget: int, what: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(budgets))
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu":
        raise InvalidInputError(
            f"budgets must be a non-empty 1-D array of ints (numbers of labels), got {budgets!r}."
        )
    arr = arr.astype(np.intp, copy=False)
    if arr.min() < 1:
        raise InvalidInputError(f"budgets must be >= 1, got {arr.min()}.")
    if arr.max() > max_budget:
        raise InvalidInputError(
            f"budget {arr.max()} is larger than {what} ({max_budget}); use budgets up to "
            f"{max_budget} or run the active-learning loop further."
        )
    return arr


def _as_indexable(X: Any) -> Any:
    """Arrays, sparse matrices and pandas objects as they are; lists as numpy arrays."""
    if isinstance(X, np.ndarray) or hasattr(X, "tocsr") or hasattr(X, "iloc"):
        return X
    arr = np.asarray(X) if len(X) else np.empty(0)
    if arr.dtype.kind not in "fiubc":
        arr = np.empty(len(X), dtype=object)  # texts: keep Python str, no '<U' copy
        arr[:] = list(X)
    return arr


def _rows(X: Any, rows: np.ndarray) -> Any:
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def check_scoring(scoring: Any) -> None:
    """Fail before any fit on a scorer name scikit-learn does not know, with a "did you mean"."""
    if scoring is None or callable(scoring):
        return
    try:
        get_scorer(scoring)
    except (ValueError, TypeError):
        close = difflib.get_close_matches(str(scoring), get_scorer_names(), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InvalidInputError(
            f"scoring={scoring!r} is not a scikit-learn scorer: pass a name from "
            f"sklearn.metrics.get_scorer_names(), a callable scorer(estimator, X, y), or None "
            f"for accuracy.{hint}"
        ) from None


def _fit_and_score(
    estimator: Any, X_train: Any, y_train: np.ndarray, X_test: Any, y_test: Any, scoring: Any
) -> tuple[float, float, bool]:
    fallback = np.unique(y_train).size < 2
    model = DummyClassifier(strategy="most_frequent") if fallback else clone(estimator)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    if scoring is None:
        score = model.score(X_test, y_test)
    else:
        score = get_scorer(scoring)(model, X_test, y_test)
    return float(score), seconds, fallback


def learning_curve_from_order(
    estimator: Any,
    X: Any,
    y: Any,
    order: Any,
    budgets: Any,
    X_test: Any,
    y_test: Any,
    *,
    scoring: Any = None,
    n_jobs: int | None = None,
) -> dict[str, np.ndarray]:
    """Score a classifier trained on the first ``k`` rows of an acquisition order, for each ``k``.

    For each budget ``k``, a clone of ``estimator`` is fitted on ``X[order[:k]], y[order[:k]]``
    and scored on ``(X_test, y_test)``. When those ``k`` labels hold a single class (common for
    small budgets), no classifier can be fitted; the score is then that of always predicting the
    class seen, from a ``DummyClassifier(strategy="most_frequent")``, and ``majority_fallback``
    says so. Its ``fit_seconds`` is the dummy's. Scorers that need a probability for every class
    (``"roc_auc"``, ``"neg_log_loss"``) are undefined for such a guess and raise.

    Parameters
    ----------
    estimator : classifier
        Unfitted estimator, cloned for every budget (it may be a Pipeline that embeds texts).
    X : ndarray, sparse matrix, DataFrame, or list of texts
        Every row the order refers to.
    y : array-like of shape (n_samples,)
        Labels of the rows of ``X``.
    order : array-like of int
        Row numbers of ``X`` in the order they were labeled (e.g. the learner's query order).
    budgets : array-like of int
        Numbers of labels to score at, each in ``[1, len(order)]``.
    X_test, y_test : array-like
        Held-out rows and labels.
    scoring : str, callable or None, default=None
        A scikit-learn scorer name or callable (``sklearn.metrics.get_scorer``); None uses
        ``estimator.score`` (accuracy for classifiers).
    n_jobs : int or None, default=None
        Budgets fitted in parallel with ``joblib``; None is 1, -1 uses every core.

    Returns
    -------
    dict
        ``"budget"`` (ndarray of int), ``"score"`` and ``"fit_seconds"`` (ndarray of float) and
        ``"majority_fallback"`` (ndarray of bool), one entry per budget, in the order given.

    Raises
    ------
    InvalidInputError
        If ``order`` repeats or exceeds rows of ``X``, a budget is < 1 or > ``len(order)``, or
        ``scoring`` names no scikit-learn scorer.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [0.1], [0.9], [0.2], [0.8]])
    >>> y = np.array([0, 1, 0, 1, 0, 1])
    >>> curve = learning_curve_from_order(LogisticRegression(), X, y, [0, 2, 1, 3], [1, 2, 4],
    ...                                   X, y)
    >>> curve["budget"], curve["score"], curve["majority_fallback"]
    (array([1, 2, 4]), array([0.5, 0.5, 1. ]), array([ True,  True, False]))
    """
    X = _as_indexable(X)
    n_samples = X.shape[0]
    y = np.asarray(y)
    if y.shape[0] != n_samples:
        raise InvalidInputError(f"X has {n_samples} rows but y has {y.shape[0]} labels.")
    order = _check_order(order, n_samples)
    budgets = _check_budgets(budgets, order.size, "the order's length")
    check_scoring(scoring)
    jobs = (
        delayed(_fit_and_score)(
            estimator, _rows(X, order[:k]), y[order[:k]], X_test, y_test, scoring
        )
        for k in budgets
    )
    results = Parallel(n_jobs=n_jobs)(jobs)
    scores, seconds, fallback = (np.array(col) for col in zip(*results, strict=True))
    for k in budgets[fallback]:
        logger.info("budget %d: the first %d labels hold one class; scored a majority guess", k, k)
    return {
        "budget": budgets,
        "score": scores.astype(np.float64),
        "fit_seconds": seconds.astype(np.float64),
        "majority_fallback": fallback.astype(bool),
    }


def acquisition_overlap(order_a: Any, order_b: Any, budgets: Any) -> np.ndarray:
    """Jaccard similarity of the first ``k`` rows acquired by two orders, for each ``k``.

    Parameters
    ----------
    order_a, order_b : array-like of int
        Two acquisition orders (row numbers of the same data).
    budgets : array-like of int
        Values of ``k``, each in ``[1, min(len(order_a), len(order_b))]``.

    Returns
    -------
    ndarray of float, shape (n_budgets,)
        ``|A_k ∩ B_k| / |A_k ∪ B_k|``: 1 for the same rows, 0 for disjoint ones.

    Examples
    --------
    >>> acquisition_overlap([0, 1, 2, 3], [1, 0, 4, 5], [1, 2, 4])
    array([0.        , 1.        , 0.33333333])
    """
    a = _check_order(order_a, None, "order_a")
    b = _check_order(order_b, None, "order_b")
    budgets = _check_budgets(budgets, min(a.size, b.size), "the shorter order's length")
    out = np.empty(budgets.size, dtype=np.float64)
    for i, k in enumerate(budgets):
        inter = np.intersect1d(a[:k], b[:k], assume_unique=True).size
        out[i] = inter / (2 * k - inter)
    return out
