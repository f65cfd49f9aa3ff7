"""What every query strategy is: a callable ``f(estimator, X_pool, n, **context) -> indices``.

Strategy objects are scikit-learn style (parameters in ``__init__``, ``get_params``, ``clone``),
so ``al__query_strategy__n_members`` works in a grid search. The learner calls them with the
fitted head, the unlabeled rows and how many to pick, plus keyword context that a strategy may
use or ignore:

``X_labeled``, ``y_labeled``
    The labeled rows and their labels (for committees, coresets, discriminators).
``classes``
    The labels the head knows, in ``predict_proba`` column order.
``random_state``
    A ``numpy.random.RandomState`` owned by the learner, for reproducible draws.
``pool_indices``
    Row numbers, in the learner's ``X``, of the rows of ``X_pool``.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from skprepal.exceptions import InvalidInputError

__all__ = ["QueryStrategy", "ScoreStrategy", "top_n", "check_vectors", "check_query_result"]


def check_vectors(X_pool: Any, strategy: str) -> np.ndarray:
    """Return ``X_pool`` as a 2-D float array, or explain that ``strategy`` needs vectors."""
    arr = np.asarray(X_pool) if not hasattr(X_pool, "toarray") else X_pool
    if hasattr(arr, "toarray"):
        return arr
    if arr.ndim != 2 or arr.dtype.kind not in "fiub":
        raise InvalidInputError(
            f"query strategy {strategy!r} measures distances between samples and needs numeric "
            f"vectors of shape (n_samples, n_features), but got an array of shape {arr.shape} and "
            f"dtype {arr.dtype}. For texts, put a FrozenLLMTransformer before the learner, "
            "e.g. Pipeline([('embed', FrozenLLMTransformer()), ('al', PRepALLearner())])."
        )
    return arr.astype(np.float64, copy=False) if arr.dtype.kind != "f" else arr


def top_n(scores: np.ndarray, n: int, random_state: Any = None) -> np.ndarray:
    """Positions of the ``n`` highest scores, highest first.

    Parameters
    ----------
    scores : ndarray of shape (n_pool,)
        Informativeness: higher is picked first. NaN counts as the lowest.
    n : int
        How many to return (at most ``len(scores)``).
    random_state : None, int or RandomState
        None breaks ties by position (lowest first); otherwise ties are broken at random.

    Returns
    -------
    ndarray of intp, shape (min(n, n_pool),)

    Examples
    --------
    >>> top_n(np.array([0.1, 0.9, 0.5]), 2)
    array([1, 2])
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = min(int(n), scores.shape[0])
    if n <= 0:
        return np.empty(0, dtype=np.intp)
    keys = np.where(np.isnan(scores), -np.inf, scores)
    if random_state is not None:
        # A random permutation first makes the stable sort below break ties at random.
        perm = check_random_state(random_state).permutation(keys.shape[0])
        return perm[top_n(keys[perm], n)]
    if n < keys.shape[0]:
        part = np.argpartition(-keys, n - 1)[:n]
        # Break ties at the boundary by position, as a full stable sort would.
        threshold = keys[part].min()
        above = np.flatnonzero(keys > threshold)
        at = np.flatnonzero(keys == threshold)[: n - above.shape[0]]
        part = np.concatenate([above, at])
    else:
        part = np.arange(keys.shape[0])
    return part[np.argsort(-keys[part], kind="stable")].astype(np.intp)


def check_query_result(result: Any, n: int, n_pool: int, strategy: str) -> np.ndarray:
    """Validate what a strategy returned: distinct positions into the pool, at most ``n``."""
    if isinstance(result, tuple):
        raise InvalidInputError(
            f"query strategy {strategy!r} returned a tuple; a strategy returns an array of pool "
            "positions. (modAL functions are recognised and adapted automatically.)"
        )
    idx = np.asarray(result)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise InvalidInputError(
            f"query strategy {strategy!r} returned {idx.dtype} values of shape {idx.shape}; "
            "expected a 1-D array of integer pool positions."
        )
    idx = idx.astype(np.intp, copy=False)
    if idx.size and (idx.min() < 0 or idx.max() >= n_pool):
        raise InvalidInputError(
            f"query strategy {strategy!r} returned positions outside the pool of {n_pool} rows "
            f"(min {idx.min()}, max {idx.max()})."
        )
    if np.unique(idx).size != idx.size:
        raise InvalidInputError(f"query strategy {strategy!r} returned the same position twice.")
    if idx.size > n:
        raise InvalidInputError(
            f"query strategy {strategy!r} returned {idx.size} positions; {n} were asked for."
        )
    return idx


class QueryStrategy(BaseEstimator):
    """Base class of strategy objects.

    Subclasses implement :meth:`select`; calling the object validates its arguments and result.
    Set ``needs_vectors = True`` on strategies that compute distances on ``X_pool``.
    """

    needs_vectors: ClassVar[bool] = False
    #: Registry name, used in messages.
    name: ClassVar[str] = ""

    def __call__(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        """Pick up to ``n`` positions of ``X_pool`` to label next.

        Parameters
        ----------
        estimator : fitted classifier
            The current head.
        X_pool : array-like of shape (n_pool, ...)
            The unlabeled rows.
        n : int
            How many to pick; more than the pool returns the whole pool.
        **context
            See the module's documentation.

        Returns
        -------
        ndarray of intp
            Distinct positions into ``X_pool``, most informative first where there is an order.
        """
        n_pool = len(X_pool) if not hasattr(X_pool, "shape") else X_pool.shape[0]
        n = min(int(n), n_pool)
        if n <= 0:
            return np.empty(0, dtype=np.intp)
        if self.needs_vectors:
            X_pool = check_vectors(X_pool, self.name or type(self).__name__)
        picked = self.select(estimator, X_pool, n, **context)
        return check_query_result(picked, n, n_pool, self.name or type(self).__name__)

    @abstractmethod
    def select(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        """Return ``n`` distinct positions into ``X_pool`` (``1 <= n <= len(X_pool)``)."""


class ScoreStrategy(QueryStrategy):
    """A strategy that scores each pool row independently and takes the ``n`` best.

    Parameters
    ----------
    random_tie_break : bool, default=False
        Break ties between equal scores at random (with the learner's ``random_state``) rather
        than by position.
    """

    def __init__(self, *, random_tie_break: bool = False) -> None:
        self.random_tie_break = random_tie_break

    @abstractmethod
    def score(self, estimator: Any, X_pool: Any, **context: Any) -> np.ndarray:
        """Informativeness of every pool row: higher is picked first."""

    def select(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        scores = self.score(estimator, X_pool, **context)
        rng = context.get("random_state") if self.random_tie_break else None
        if self.random_tie_break and rng is None:
            rng = np.random.RandomState(0)
        return top_n(scores, n, rng)
