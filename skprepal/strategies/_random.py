"""Uniform sampling: the baseline every strategy is measured against."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from skprepal.strategies._base import QueryStrategy
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
        n_pool = X_pool.shape[0] if hasattr(X_pool, "shape") else len(X_pool)
        return rng.choice(n_pool, size=n, replace=False)
