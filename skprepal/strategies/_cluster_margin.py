"""Cluster-Margin: the lowest-margin rows, spread over clusters, smallest cluster first."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.utils import check_random_state

from skprepal._compat import Interval
from skprepal._validation import check_params
from skprepal.strategies._base import QueryStrategy, check_dense_vectors
from skprepal.strategies._registry import register_strategy
from skprepal.strategies._uncertainty import MarginSampling

__all__ = ["ClusterMargin", "round_robin"]


def round_robin(groups: list[np.ndarray], n: int) -> np.ndarray:
    """Take one member from each group in turn, in the given group order, until ``n`` are taken.

    Parameters
    ----------
    groups : list of ndarray
        The groups, in the order they are visited; each group's members in the order taken.
    n : int
        How many to take (at most the total size).

    Returns
    -------
    ndarray of intp

    Examples
    --------
    >>> round_robin([np.array([7]), np.array([1, 2, 3]), np.array([4, 5])], 5).tolist()
    [7, 1, 4, 2, 5]
    """
    taken: list[int] = []
    depth = 0
    while len(taken) < n:
        level = [int(g[depth]) for g in groups if g.shape[0] > depth]
        if not level:
            break
        taken.extend(level[: n - len(taken)])
        depth += 1
    return np.asarray(taken, dtype=np.intp)


@register_strategy("cluster_margin", "clustermargin")
class ClusterMargin(QueryStrategy):
    """Cluster-Margin: take the lowest-margin rows, cluster them, pick round-robin over clusters.

    Each query takes the ``candidate_factor * n`` pool rows with the smallest margin between the
    two most likely classes (:class:`MarginSampling`, scored chunk by chunk), clusters those
    candidates by hierarchical agglomerative clustering with average linkage on the vectors,
    and then picks round-robin over the clusters, smallest cluster first, taking a random member
    of each cluster on every pass. Small clusters hold the uncertain rows that are unlike the
    rest, so the batch covers every kind of uncertainty before it takes a second row of a
    crowded one: margin's informativeness without its redundant batches.

    The paper clusters the whole pool once, before the first round, and reuses the clustering;
    here the candidates are clustered at every query, which keeps the strategy free of state
    and its cost bounded by the candidates (the linkage of the paper, on the rows that matter).

    Memory: one scoring chunk of the pool (as :class:`MarginSampling`), the
    ``candidate_factor * n`` candidate vectors, and the linkage's condensed distance matrix of
    ``(candidate_factor * n)^2 / 2`` floats: 1 MiB for a batch of 50 with the default factor,
    400 MiB for a batch of 1,000 (lower ``candidate_factor`` for batches that large). A
    ``np.memmap`` pool is never read whole into memory.

    Parameters
    ----------
    candidate_factor : float, default=10.0
        Candidates per pick (the paper's ``k_m / k_t``); 1 is plain margin sampling.
    n_clusters : int or None, default=None
        Clusters of the candidates; None means one per pick (``n``), so that every cluster
        gives one row. Fewer clusters than picks take several rows of the larger clusters.

    See Also
    --------
    MarginSampling : The candidates' score.
    BADGE : Another way to make an uncertainty batch diverse.

    References
    ----------
    .. [1] G. Citovsky, G. DeSalvo, C. Gentile, L. Karydas, A. Rajagopalan, A. Rostamizadeh
       and S. Kumar, "Batch Active Learning at Scale", NeurIPS 2021.

    Examples
    --------
    Twelve equally uncertain rows (a head that says 50/50 everywhere) in three tight groups of
    sizes 6, 4 and 2: with three picks, each group gives one.

    >>> import numpy as np
    >>> class Unsure:
    ...     classes_ = np.array([0, 1])
    ...     def predict_proba(self, X):
    ...         return np.full((len(X), 2), 0.5)
    >>> X = np.repeat([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], [6, 4, 2], axis=0)
    >>> X = X + np.random.RandomState(0).normal(scale=0.01, size=X.shape)
    >>> picks = ClusterMargin(candidate_factor=4)(Unsure(), X, 3, random_state=0)
    >>> sorted(np.searchsorted([6, 10], picks, side="right").tolist())
    [0, 1, 2]
    """

    needs_vectors = True

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "candidate_factor": [Interval(Real, 1, None, closed="left")],
        "n_clusters": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, *, candidate_factor: float = 10.0, n_clusters: int | None = None) -> None:
        self.candidate_factor = candidate_factor
        self.n_clusters = n_clusters

    def select(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        context.pop("pool_indices", None)
        mask = np.ones(X_pool.shape[0], dtype=bool)
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
        """Margin candidates chunk by chunk (``chunk_rows`` as in :class:`ScoreStrategy`), then
        the clustering, on the candidates only."""
        check_params(self)
        n_pool = int(np.count_nonzero(pool_mask))
        n = min(int(n), n_pool)
        if n <= 0:
            return np.empty(0, dtype=np.intp)
        n_candidates = min(n_pool, max(n, int(np.ceil(float(self.candidate_factor) * n))))
        margin = MarginSampling()
        candidates = np.asarray(
            margin.select_rows(
                estimator, X, pool_mask, n_candidates, chunk_rows=chunk_rows, **context
            ),
            dtype=np.intp,
        )
        if candidates.shape[0] <= n:
            return candidates
        rng = check_random_state(context.get("random_state"))
        n_clusters = n if self.n_clusters is None else int(self.n_clusters)
        n_clusters = min(n_clusters, candidates.shape[0])
        # Sorted row numbers read a memmap front to back; positions map back to margin ranks.
        by_row = np.argsort(candidates, kind="stable")
        vectors = check_dense_vectors(X[candidates[by_row]], self._label)
        if n_clusters == 1:
            labels = np.zeros(candidates.shape[0], dtype=np.intp)
        else:
            labels = np.empty(candidates.shape[0], dtype=np.intp)
            labels[by_row] = AgglomerativeClustering(
                n_clusters=n_clusters, linkage="average"
            ).fit_predict(vectors)
        # Smallest cluster first; equal sizes by their most uncertain member (the lower rank).
        sizes = np.bincount(labels, minlength=n_clusters)
        best_rank = np.full(n_clusters, candidates.shape[0])
        np.minimum.at(best_rank, labels, np.arange(candidates.shape[0]))
        order = np.lexsort((best_rank, sizes))
        groups = [candidates[rng.permutation(np.flatnonzero(labels == c))] for c in order]
        return round_robin([g for g in groups if g.shape[0]], n)
