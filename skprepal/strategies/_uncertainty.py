"""Uncertainty sampling: least confidence, margin (breaking ties) and entropy.

:func:`uncertainty` is the one place where a row's uncertainty is computed from its class
probabilities: the strategies here rank by it, and :class:`skprepal.stopping.UncertaintyThreshold`
stops on it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from skprepal._validation import check_option
from skprepal.exceptions import InvalidInputError
from skprepal.strategies._base import ScoreStrategy
from skprepal.strategies._pool_scoring import in_pool_scoring, linear_proba
from skprepal.strategies._registry import register_strategy

__all__ = [
    "LeastConfidence",
    "MarginSampling",
    "EntropySampling",
    "UNCERTAINTY_MEASURES",
    "predict_proba_checked",
    "uncertainty",
]

UNCERTAINTY_MEASURES = ("max_probability", "entropy", "margin")


def uncertainty(proba: np.ndarray, measure: str = "max_probability") -> np.ndarray:
    """Per-row uncertainty in [0, 1] from class probabilities; higher is less sure.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Class probabilities, rows summing to 1.
    measure : {"max_probability", "entropy", "margin"}, default="max_probability"
        ``1 - max p`` (least confidence, the variation ratio), entropy / log(n_classes), or
        ``1 - (p_1 - p_2)`` for the two most likely classes (breaking ties).

    Returns
    -------
    ndarray of float, shape (n_samples,)
        0 for a certain prediction (always 0 with one class).

    Examples
    --------
    >>> uncertainty(np.array([[0.5, 0.5], [1.0, 0.0]]), "entropy")
    array([1., 0.])
    >>> uncertainty(np.array([[0.6, 0.3, 0.1]]), "margin").round(2)
    array([0.7])
    """
    check_option("measure", measure, UNCERTAINTY_MEASURES)
    proba = np.asarray(proba, dtype=np.float64)
    n_classes = proba.shape[1]
    if n_classes < 2:
        return np.zeros(proba.shape[0])
    if measure == "max_probability":
        return 1.0 - proba.max(axis=1)
    if measure == "entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.where(proba > 0, np.log(proba), 0.0)
        # "+ 0.0" turns the -0.0 of certain rows into 0.0.
        return np.clip(-(proba * logs).sum(axis=1) / np.log(n_classes), 0.0, 1.0) + 0.0
    first, second = _top_two(proba)
    return 1.0 - (first - second)


def _top_two(proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's highest and second-highest probability (equal when the top is tied).

    Class by class rather than row by row: a partition of every row cost more than the head's
    product with the pool, as rows have only a few entries.
    """
    by_class = proba.T
    first = by_class.max(axis=0)
    at_first = by_class == first
    second = np.where(at_first, -np.inf, by_class).max(axis=0)
    tied = np.count_nonzero(at_first, axis=0) > 1
    second[tied] = first[tied]
    return first, second


def predict_proba_checked(estimator: Any, X_pool: Any, strategy: str) -> np.ndarray:
    """``estimator.predict_proba(X_pool)`` as a float array, with a clear error if it is missing."""
    if not hasattr(estimator, "predict_proba"):
        raise InvalidInputError(
            f"query strategy {strategy!r} needs class probabilities, but "
            f"{type(estimator).__name__} has no predict_proba; use a probabilistic classifier "
            "(e.g. LogisticRegression) or query_strategy='random'."
        )
    proba = linear_proba(estimator, X_pool) if in_pool_scoring() else None
    if proba is None:
        proba = estimator.predict_proba(X_pool)
    return np.asarray(proba, dtype=np.float64)


@register_strategy("least_confidence", "variation_ratio", "uncertainty")
class LeastConfidence(ScoreStrategy):
    """Pick the rows whose most likely class is least likely: score ``1 - max_c p(c|x)``.

    The variation ratio of the paper's acquisition functions is the same score.

    Parameters
    ----------
    random_tie_break : bool, default=False
        Break ties between equal scores at random rather than by position.

    References
    ----------
    .. [1] D. Lewis and W. Gale, "A sequential algorithm for training text classifiers",
       SIGIR 1994.
    .. [2] L. Freeman, "Elementary Applied Statistics", 1965 (variation ratio).
    """

    parallel_chunks = True

    def score(self, estimator: Any, X_pool: Any, **context: Any) -> np.ndarray:
        return uncertainty(predict_proba_checked(estimator, X_pool, self.name), "max_probability")


@register_strategy("margin", "breaking_ties", "smallest_margin")
class MarginSampling(ScoreStrategy):
    """Pick the rows with the smallest gap between the two most likely classes.

    The score is ``1 - (p_1 - p_2)``; for two classes it orders rows exactly as entropy does.

    Parameters
    ----------
    random_tie_break : bool, default=False
        Break ties between equal scores at random rather than by position.

    References
    ----------
    .. [1] T. Luo et al., "Active learning to recognize multiple types of plankton", JMLR 2005
       ("breaking ties").
    .. [2] T. Scheffer, C. Decomain and S. Wrobel, "Active hidden Markov models for information
       extraction", IDA 2001.
    """

    parallel_chunks = True

    def score(self, estimator: Any, X_pool: Any, **context: Any) -> np.ndarray:
        return uncertainty(predict_proba_checked(estimator, X_pool, self.name), "margin")


@register_strategy("entropy", "max_entropy", "maxentropy")
class EntropySampling(ScoreStrategy):
    """Pick the rows whose predicted class distribution has the highest Shannon entropy.

    Parameters
    ----------
    random_tie_break : bool, default=False
        Break ties between equal scores at random rather than by position.

    References
    ----------
    .. [1] C. Shannon, "A mathematical theory of communication", 1948.
    .. [2] B. Settles, "Active Learning Literature Survey", 2009.
    """

    parallel_chunks = True

    def score(self, estimator: Any, X_pool: Any, **context: Any) -> np.ndarray:
        return uncertainty(predict_proba_checked(estimator, X_pool, self.name), "entropy")
