"""Discriminative active learning: pick the pool rows that look least like the labeled ones."""

from __future__ import annotations

import warnings
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state

from skprepal._compat import HasMethods, Interval
from skprepal.exceptions import InvalidInputError
from skprepal.strategies._base import QueryStrategy, top_n
from skprepal.strategies._diversity import labeled_vectors
from skprepal.strategies._registry import register_strategy

__all__ = ["DiscriminativeAL"]


def _stack(blocks: list[Any]) -> Any:
    blocks = [b for b in blocks if b is not None and b.shape[0] > 0]
    if any(sp.issparse(b) for b in blocks):
        return sp.vstack(blocks, format="csr")
    return np.concatenate(blocks, axis=0)


@register_strategy("dal", "discriminative")
class DiscriminativeAL(QueryStrategy):
    """Discriminative Active Learning: label what a classifier can tell apart from the labeled set.

    A binary classifier (the *discriminator*) is trained on the vectors to tell labeled rows
    (class 0) from unlabeled ones (class 1); the pool rows with the highest ``P(unlabeled)`` are
    the ones least represented by the labeled set. The ``n`` picks are made in ``n_subqueries``
    sub-rounds of about ``n / n_subqueries`` rows, retraining the discriminator after each, with
    the rows picked in earlier sub-rounds counted as labeled, so the batch does not collapse onto
    one region.

    For speed, each sub-round trains on the labeled rows and a random subsample of at most
    ``max_unlabeled`` unpicked pool rows (as the authors' code does), but scores the whole pool.
    With no labeled rows yet, every pool row is equally "unlabeled": the first sub-round is drawn
    at random (the learner's ``random_state``) and the later ones use it as the labeled set.
    ``ConvergenceWarning`` of the discriminator is silenced: an approximate discriminator ranks
    rows well enough.

    Parameters
    ----------
    discriminator : classifier or None, default=None
        Cloned for each sub-round. Needs ``predict_proba`` (else ``decision_function``).
        None uses ``LogisticRegression(class_weight="balanced")``.
    n_subqueries : int, default=10
        Number of sub-rounds (at most ``n``).
    max_unlabeled : int or None, default=5000
        Unlabeled rows the discriminator is trained on per sub-round; None uses the whole pool.

    References
    ----------
    .. [1] D. Gissin and S. Shalev-Shwartz, "Discriminative Active Learning",
       arXiv:1907.06347, 2019.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> X_labeled = rng.normal(size=(30, 2))
    >>> X_pool = np.vstack([rng.normal(size=(30, 2)), rng.normal(size=(5, 2)) + 8.0])
    >>> picks = DiscriminativeAL(n_subqueries=1)(None, X_pool, 5, X_labeled=X_labeled)
    >>> sorted(picks.tolist())
    [30, 31, 32, 33, 34]
    """

    needs_vectors = True
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "discriminator": [HasMethods(["fit"]), None],
        "n_subqueries": [Interval(Integral, 1, None, closed="left")],
        "max_unlabeled": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        *,
        discriminator: Any = None,
        n_subqueries: int = 10,
        max_unlabeled: int | None = 5000,
    ) -> None:
        self.discriminator = discriminator
        self.n_subqueries = n_subqueries
        self.max_unlabeled = max_unlabeled

    def select(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        rng = check_random_state(context.get("random_state"))
        X_labeled = labeled_vectors(context, X_pool, self.name)
        n_pool = X_pool.shape[0]
        is_picked = np.zeros(n_pool, dtype=bool)
        picked: list[np.ndarray] = []
        sizes = [s.shape[0] for s in np.array_split(np.arange(n), min(int(self.n_subqueries), n))]
        for size in sizes:
            if X_labeled is None and not picked:
                chosen = rng.choice(n_pool, size=size, replace=False)
            else:
                scores = self._p_unlabeled(X_pool, X_labeled, is_picked, rng)
                scores[is_picked] = -np.inf
                chosen = top_n(scores, size)
            picked.append(chosen)
            is_picked[chosen] = True
        return np.concatenate(picked).astype(np.intp)

    def _p_unlabeled(
        self,
        X_pool: Any,
        X_labeled: Any,
        is_picked: np.ndarray,
        rng: np.random.RandomState,
    ) -> np.ndarray:
        unpicked = np.flatnonzero(~is_picked)
        if self.max_unlabeled is not None and unpicked.shape[0] > int(self.max_unlabeled):
            unpicked = np.sort(rng.choice(unpicked, size=int(self.max_unlabeled), replace=False))
        labeled_part = _stack([X_labeled, X_pool[np.flatnonzero(is_picked)]])
        X_train = _stack([labeled_part, X_pool[unpicked]])
        y_train = np.r_[np.zeros(labeled_part.shape[0], dtype=int), np.ones(unpicked.shape[0], int)]
        if self.discriminator is None:
            model = LogisticRegression(class_weight="balanced")
        else:
            model = clone(self.discriminator)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        if hasattr(model, "predict_proba"):
            column = int(np.flatnonzero(np.asarray(model.classes_) == 1)[0])
            return np.asarray(model.predict_proba(X_pool), dtype=np.float64)[:, column]
        if hasattr(model, "decision_function"):
            return np.asarray(model.decision_function(X_pool), dtype=np.float64).ravel()
        raise InvalidInputError(
            f"discriminator {type(model).__name__} has neither predict_proba nor "
            "decision_function; DiscriminativeAL ranks pool rows by P(unlabeled)."
        )
