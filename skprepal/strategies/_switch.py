"""ColdStartSwitch: one strategy for the first labels, another after them."""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn.base import clone

from skprepal._compat import Interval
from skprepal._validation import check_params
from skprepal.strategies._base import QueryStrategy, n_rows
from skprepal.strategies._registry import register_strategy, resolve_strategy

__all__ = ["ColdStartSwitch"]


def _n_labeled(context: dict[str, Any]) -> int:
    """Labels the learner holds: ``labeled_indices`` if given, else the rows of ``X_labeled``."""
    labeled = context.get("labeled_indices")
    if labeled is not None:
        return len(labeled)
    X_labeled = context.get("X_labeled")
    return 0 if X_labeled is None else n_rows(X_labeled)


@register_strategy("cold_start_switch", "typiclust_margin", "typiclust_then_margin")
class ColdStartSwitch(QueryStrategy):
    """Use ``cold`` until the learner holds ``switch_at`` labels, then ``warm``.

    Low-budget and high-budget active learning want opposite things: with a few labels per
    class the most typical, representative rows teach the head most (:class:`TypiClust`); with
    more, the uncertain ones do (:class:`MarginSampling`). This wrapper makes the hand-over a
    setting. It counts the labels in the query's context (``labeled_indices``, which
    :class:`~skprepal.PRepALLearner` passes; else the rows of ``X_labeled``). A query asked
    for while fewer than ``switch_at`` labels are held takes ``switch_at - n_labeled`` rows
    (at most ``n``) from ``cold`` and the rest from ``warm`` among the rows ``cold`` left, so
    exactly the first ``switch_at`` labels come from ``cold`` whatever the batch size. A query
    made without a head (``estimator=None``: as the learner's ``initial_strategy``, or before
    two classes are labeled) is ``cold``'s alone.

    Use it as ``query_strategy``; the learner uses ``initial_strategy`` until two classes are
    labeled, so for a cold start from the very first label give ``cold`` there too:
    ``PRepALLearner(initial_strategy="typiclust", query_strategy=ColdStartSwitch())``.

    Memory: that of ``cold`` or ``warm``, whichever runs (both, one after the other, in the
    query that crosses ``switch_at``).

    Parameters
    ----------
    cold : str, strategy object or callable, default="typiclust"
        The strategy of the first ``switch_at`` labels; one that needs no head (typiclust,
        kmeans, coreset, random) also works without one.
    warm : str, strategy object or callable, default="margin"
        The strategy once ``switch_at`` labels are held.
    switch_at : int, default=200
        Labels held (the initial ones included) from which ``warm`` answers.

    See Also
    --------
    TypiClust : The default ``cold`` strategy.

    References
    ----------
    .. [1] G. Hacohen, A. Dekel and D. Weinshall, "Active Learning on a Budget: Opposite
       Strategies Suit High and Low Budgets", ICML 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from skprepal import PRepALLearner
    >>> X, y = make_blobs(n_samples=600, centers=4, n_features=8, random_state=0)
    >>> learner = PRepALLearner(
    ...     initial_strategy="typiclust",
    ...     query_strategy=ColdStartSwitch(cold="typiclust", warm="margin", switch_at=60),
    ...     initial_size=20, batch_size=20, budget=100, random_state=0,
    ... ).fit(X, y)
    >>> learner.labeled_indices_.shape
    (100,)
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "cold": [str, callable],
        "warm": [str, callable],
        "switch_at": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, cold: Any = "typiclust", warm: Any = "margin", *, switch_at: int = 200):
        self.cold = cold
        self.warm = warm
        self.switch_at = switch_at

    def _phases(self) -> tuple[QueryStrategy, QueryStrategy]:
        # Clones: the query never writes to the strategies it was given.
        return (
            clone(resolve_strategy(self.cold), safe=False),
            clone(resolve_strategy(self.warm), safe=False),
        )

    def n_cold(self, n: int, *, n_labeled: int, has_head: bool = True) -> int:
        """How many of a query's ``n`` rows ``cold`` picks, with ``n_labeled`` labels held.

        Examples
        --------
        >>> switch = ColdStartSwitch(switch_at=200)
        >>> switch.n_cold(50, n_labeled=150), switch.n_cold(50, n_labeled=180)
        (50, 20)
        >>> switch.n_cold(50, n_labeled=200), switch.n_cold(50, n_labeled=300, has_head=False)
        (0, 50)
        """
        if not has_head:
            return int(n)
        return int(min(max(int(self.switch_at) - int(n_labeled), 0), int(n)))

    def select(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        context.pop("pool_indices", None)
        mask = np.ones(n_rows(X_pool), dtype=bool)
        return self.select_rows(estimator, X_pool, mask, n, **context)

    def select_rows(
        self, estimator: Any, X: Any, pool_mask: np.ndarray, n: int, **context: Any
    ) -> np.ndarray:
        """``cold``'s rows up to ``switch_at`` labels, then ``warm``'s, on the same pool."""
        check_params(self)
        n = min(int(n), int(np.count_nonzero(pool_mask)))
        if n <= 0:
            return np.empty(0, dtype=np.intp)
        cold, warm = self._phases()
        for strategy in (cold, warm):
            check_params(strategy)
        first = self.n_cold(n, n_labeled=_n_labeled(context), has_head=estimator is not None)
        picked = np.empty(0, dtype=np.intp)
        if first:
            picked = np.asarray(
                cold.select_rows(estimator, X, pool_mask, first, **context), dtype=np.intp
            )
        if picked.shape[0] < n:
            rest = pool_mask.copy()
            rest[picked] = False
            more = warm.select_rows(estimator, X, rest, n - picked.shape[0], **context)
            picked = np.concatenate([picked, np.asarray(more, dtype=np.intp)])
        return picked
