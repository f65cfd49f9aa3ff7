"""Uncertainty sampling: least confidence, margin (breaking ties) and entropy."""

from __future__ import annotations

from typing import Any

import numpy as np

from skprepal.strategies._base import ScoreStrategy
from skprepal.strategies._registry import register_strategy

__all__ = ["LeastConfidence", "MarginSampling", "EntropySampling", "predict_proba_checked"]


def predict_proba_checked(estimator: Any, X_pool: Any, strategy: str) -> np.ndarray:
    """``estimator.predict_proba(X_pool)`` as a float array, with a clear error if it is missing."""
    if not hasattr(estimator, "predict_proba"):
        from skprepal.exceptions import InvalidInputError

        raise InvalidInputError(
            f"query strategy {strategy!r} needs class probabilities, but "
            f"{type(estimator).__name__} has no predict_proba; use a probabilistic classifier "
            "(e.g. LogisticRegression) or query_strategy='random'."
        )
    return np.asarray(estimator.predict_proba(X_pool), dtype=np.float64)


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

    def score(self, estimator: Any, X_pool: Any, **context: Any) -> np.ndarray:
        proba = predict_proba_checked(estimator, X_pool, self.name)
        return 1.0 - proba.max(axis=1)


@register_strategy("margin", "breaking_ties", "smallest_margin")
class MarginSampling(ScoreStrategy):
    """Pick the rows with the smallest gap between the two most likely classes.

    The score is ``-(p_1 - p_2)``; for two classes it orders rows exactly as entropy does.

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

    def score(self, estimator: Any, X_pool: Any, **context: Any) -> np.ndarray:
        proba = predict_proba_checked(estimator, X_pool, self.name)
        if proba.shape[1] < 2:
            return np.zeros(proba.shape[0])
        top2 = np.partition(proba, proba.shape[1] - 2, axis=1)[:, -2:]
        return top2[:, 0] - top2[:, 1]


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

    def score(self, estimator: Any, X_pool: Any, **context: Any) -> np.ndarray:
        proba = predict_proba_checked(estimator, X_pool, self.name)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.where(proba > 0, np.log(proba), 0.0)
        return -(proba * logs).sum(axis=1)
