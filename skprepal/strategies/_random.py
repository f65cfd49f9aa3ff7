"""Uniform sampling: the baseline every strategy is measured against."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from skprepal.strategies._base import QueryStrategy, n_rows
from skprepal.strategies._registry import register_strategy

__all__ = ["RandomSampling"]


@register_strategy("random", "uniform", "passive")
class RandomSampling(QueryStrategy):
    """Pick pool rows uniformly at random, without replacement.

    Uses the learner's ``random_state``; needs no fitted head, so it also serves cold starts.

    Examples
    --------
    >>> import numpy as np
    >>> RandomSampling()(None, np.zeros((10, 2)), 3, random_state=0).shape
    (3,)
    """

    def select(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        rng = check_random_state(context.get("random_state"))
        return rng.choice(n_rows(X_pool), size=n, replace=False)

    def select_rows(
        self, estimator: Any, X: Any, pool_mask: np.ndarray, n: int, **context: Any
    ) -> np.ndarray:
        """Draw from the pool's row numbers: the rows themselves are never read."""
        rows = np.flatnonzero(pool_mask).astype(np.intp)
        n = min(int(n), rows.shape[0])
        if n <= 0:
            return np.empty(0, dtype=np.intp)
        return rows[self.select(estimator, rows, n, **context)]
