"""Class-balanced margin: the batch shared out over the predicted classes, margin within each."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.utils import check_random_state

from skprepal._validation import check_params
from skprepal.strategies._base import (
    QueryStrategy,
    RunningTopN,
    _score_keys,
    _take,
    n_rows,
    score_chunk_rows,
)
from skprepal.strategies._registry import register_strategy
from skprepal.strategies._uncertainty import predict_proba_checked, uncertainty

__all__ = ["ClassBalancedMargin", "share_out"]


def share_out(n: int, capacity: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """Split ``n`` slots as evenly as ``capacity`` allows; leftovers go in ``priority`` order.

    Every group gets ``n // k`` slots (``k`` groups that can still take one), a group that
    cannot fill its share gives the rest to the others, and the last few slots go to the
    groups first in ``priority`` (lower first).

    Parameters
    ----------
    n : int
        Slots to share (at most ``capacity.sum()`` are given).
    capacity : ndarray of int, shape (n_groups,)
        The most each group can take.
    priority : ndarray, shape (n_groups,)
        Order of the groups for the slots that do not split evenly.

    Returns
    -------
    ndarray of int, shape (n_groups,)

    Examples
    --------
    >>> share_out(10, np.array([100, 2, 100]), np.array([0, 1, 2])).tolist()
    [4, 2, 4]
    >>> share_out(5, np.array([100, 100, 100]), np.array([2, 0, 1])).tolist()
    [1, 2, 2]
    """
    capacity = np.asarray(capacity, dtype=np.int64)
    quota = np.zeros(capacity.shape[0], dtype=np.int64)
    left = min(int(n), int(capacity.sum()))
    order = np.argsort(priority, kind="stable")
    while left > 0:
        open_ = order[quota[order] < capacity[order]]
        share = left // open_.shape[0]
        if share == 0:  # fewer slots than open groups: one each, by priority
            quota[open_[:left]] += 1
            break
        add = np.minimum(share, capacity[open_] - quota[open_])
        quota[open_] += add
        left -= int(add.sum())
    return quota


@register_strategy("class_balanced_margin", "balanced_margin")
class ClassBalancedMargin(QueryStrategy):
    """Margin sampling within each predicted class, the batch shared out over the classes.

    Every pool row is assigned to the class the head predicts for it and scored by its margin
    (``1 - (p_1 - p_2)``). The ``n`` picks are shared out evenly over the predicted classes: a
    class the head predicts for a few dozen rows gets as many picks as one it predicts for tens
    of thousands, so rare classes are asked about from the first rounds, where plain margin
    sampling spends the batch on the boundary between the frequent ones. A class with fewer
    predicted rows than its share gives the rest to the others; slots that do not split evenly
    go first to the classes with the fewest labels so far (``y_labeled``). Within each class the
    lowest-margin rows are taken. Picks are returned most uncertain first.

    Memory: one scoring chunk of the pool (the head's probabilities for it) and a running top
    ``n`` per class, ``O(chunk + n_classes * n)``; a ``np.memmap`` pool is read chunk by chunk,
    and the picks do not depend on the chunk size.

    Parameters
    ----------
    random_tie_break : bool, default=False
        Break ties between equal margins at random (the learner's ``random_state``) rather
        than by row.

    See Also
    --------
    MarginSampling : The same score over the whole pool.

    References
    ----------
    .. [1] U. Aggarwal, A. Popescu and C. Hudelot, "Active Learning for Imbalanced Datasets",
       WACV 2020.
    .. [2] J. Z. Bengar, J. van de Weijer, L. L. Fuentes and B. Raducanu, "Class-Balanced Active
       Learning for Image Classification", WACV 2022.

    Examples
    --------
    Ten rows predicted as class 0 and two as class 1; the class-1 rows are the most confident,
    yet two picks take one row of each class:

    >>> import numpy as np
    >>> class Head:
    ...     classes_ = np.array([0, 1])
    ...     def predict_proba(self, X):
    ...         p = np.asarray(X)[:, 0]
    ...         return np.column_stack([p, 1 - p])
    >>> X = np.array([[0.55]] * 10 + [[0.05], [0.1]])
    >>> ClassBalancedMargin()(Head(), X, 2).tolist()
    [0, 11]
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"random_tie_break": ["boolean"]}

    def __init__(self, *, random_tie_break: bool = False) -> None:
        self.random_tie_break = random_tie_break

    def select(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        context.pop("pool_indices", None)
        mask = np.ones(n_rows(X_pool), dtype=bool)
        return self.select_rows(estimator, X_pool, mask, n, **context)

    def select_rows(
        self,
        estimator: Any,
        X: Any,
        pool_mask: np.ndarray,
        n: int,
        *,
        chunk_rows: int | None = None,
        **context: Any,
    ) -> np.ndarray:
        """Score ``X`` chunk by chunk, keeping the ``n`` lowest margins of each predicted class."""
        check_params(self)
        n = min(int(n), int(np.count_nonzero(pool_mask)))
        if n <= 0:
            return np.empty(0, dtype=np.intp)
        rng = None
        if self.random_tie_break:
            given = context.get("random_state")
            rng = np.random.RandomState(0) if given is None else check_random_state(given)
        best: dict[int, RunningTopN] = {}
        step = score_chunk_rows(X) if chunk_rows is None else max(1, int(chunk_rows))
        n_samples = n_rows(X)
        for start in range(0, n_samples, step):
            stop = min(start + step, n_samples)
            inside = pool_mask[start:stop]
            # Tie keys for every row in row order: independent of the chunking, as ScoreStrategy.
            ties = np.zeros(stop - start) if rng is None else rng.random_sample(stop - start)
            if not inside.any():
                continue
            where = np.flatnonzero(inside)
            chunk = X[start:stop] if where.shape[0] == stop - start else _take(X, start + where)
            proba = predict_proba_checked(estimator, chunk, self._label)
            scores = _score_keys(uncertainty(proba, "margin"), where.shape[0], self._label)
            labels = proba.argmax(axis=1)
            for c in np.unique(labels):
                inside_c = labels == c
                best.setdefault(int(c), RunningTopN(n)).update(
                    scores[inside_c], ties[where][inside_c], start + where[inside_c]
                )
        classes = np.array(sorted(best), dtype=np.intp)
        capacity = np.array([best[c].rows.shape[0] for c in classes])
        quota = share_out(n, capacity, self._priority(classes, estimator, context))
        scores, tie_keys, rows = [], [], []
        for c, q in zip(classes, quota, strict=True):
            scores.append(best[c].scores[:q])
            tie_keys.append(best[c].ties[:q])
            rows.append(best[c].rows[:q])
        kept = np.concatenate(rows)
        order = np.lexsort((kept, np.concatenate(tie_keys), -np.concatenate(scores)))
        return kept[order].astype(np.intp)

    @staticmethod
    def _priority(classes: np.ndarray, estimator: Any, context: dict[str, Any]) -> np.ndarray:
        """Labels held per predicted class (head column ``classes``): fewer labels go first."""
        y_labeled = context.get("y_labeled")
        head_classes = getattr(estimator, "classes_", None)
        if y_labeled is None or head_classes is None or len(y_labeled) == 0:
            return np.zeros(classes.shape[0])
        names = np.asarray(head_classes)[classes]
        y_labeled = np.asarray(y_labeled)
        return np.array([np.count_nonzero(y_labeled == name) for name in names], dtype=float)
