"""Contrastive active learning: pool rows whose prediction differs from their labeled
neighbours'."""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

from skprepal._compat import Interval
from skprepal.exceptions import InvalidInputError
from skprepal.strategies._base import ScoreStrategy, n_rows
from skprepal.strategies._diversity import labeled_vectors
from skprepal.strategies._registry import register_strategy
from skprepal.strategies._uncertainty import predict_proba_checked

__all__ = ["ContrastiveAL"]

#: Probabilities are clipped to this before taking logs, so a zero cannot make a score infinite.
_EPS = 1e-12


@register_strategy("cal", "contrastive")
class ContrastiveAL(ScoreStrategy):
    """Contrastive Active Learning: rows close to labeled rows in the vector space but predicted
    differently from them.

    For each pool row, its ``n_neighbors`` nearest labeled rows (Euclidean, on the vectors) are
    found with :class:`sklearn.neighbors.NearestNeighbors`; the score is the mean over those
    neighbours of ``KL(p(neighbour) || p(row))``, with ``p = estimator.predict_proba`` (the model's
    predictions for the labeled neighbours, as in the paper, not their gold labels). Needs labeled
    rows.

    Parameters
    ----------
    n_neighbors : int, default=10
        Labeled neighbours per pool row (at most the number of labeled rows).
    random_tie_break : bool, default=False
        Break ties between equal scores at random rather than by position.

    References
    ----------
    .. [1] K. Margatina, G. Vernikos, L. Barrault and N. Aletras, "Active Learning by Acquiring
       Contrastive Examples", EMNLP 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 3))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> clf = LogisticRegression().fit(X[:30], y[:30])
    >>> ContrastiveAL(n_neighbors=5)(clf, X[30:], 4, X_labeled=X[:30]).shape
    (4,)
    """

    needs_vectors = True
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "random_tie_break": ["boolean"],
    }

    def __init__(self, *, n_neighbors: int = 10, random_tie_break: bool = False) -> None:
        self.n_neighbors = n_neighbors
        self.random_tie_break = random_tie_break

    def score(self, estimator: Any, X_pool: Any, **context: Any) -> np.ndarray:
        return self.scorer(estimator, **context)(X_pool)

    def scorer(self, estimator: Any, **context: Any) -> Any:
        """Index the labeled rows and predict on them once per query, then score chunks."""
        X_labeled = context.get("X_labeled")
        if X_labeled is None or n_rows(X_labeled) == 0:
            raise InvalidInputError(
                f"query strategy {self.name!r} compares each pool row with its nearest labeled "
                "rows and needs X_labeled in the context (with at least one row); for a cold "
                "start use query_strategy='random' or 'coreset'."
            )
        k = min(int(self.n_neighbors), n_rows(X_labeled))
        index: NearestNeighbors | None = None
        labeled: dict[str, np.ndarray] = {}

        def score_chunk(X_chunk: Any) -> np.ndarray:
            nonlocal index
            X_lab = labeled_vectors(context, X_chunk, self.name)
            if index is None:
                index = NearestNeighbors(n_neighbors=k).fit(X_lab)
                p_labeled = predict_proba_checked(estimator, X_lab, self.name)
                labeled["p"] = p_labeled
                labeled["neg_entropy"] = (p_labeled * np.log(np.clip(p_labeled, _EPS, 1.0))).sum(
                    axis=1
                )
            neighbours = index.kneighbors(X_chunk, return_distance=False)
            p_pool = predict_proba_checked(estimator, X_chunk, self.name)
            # Averages over each row's neighbours as a sparse (n_rows x n_labeled) product: no
            # (n_rows x k x n_classes) array.
            n_rows = neighbours.shape[0]
            weights = sp.csr_matrix(
                (np.full(n_rows * k, 1.0 / k), neighbours.ravel(), np.arange(0, n_rows * k + 1, k)),
                shape=(n_rows, X_lab.shape[0]),
            )
            mean_p = weights @ labeled["p"]
            # mean_j KL(p_j || p_i) = mean_j sum_c p_jc log p_jc - sum_c (mean_j p_jc) log p_ic
            return weights @ labeled["neg_entropy"] - (
                mean_p * np.log(np.clip(p_pool, _EPS, 1.0))
            ).sum(axis=1)

        return score_chunk
