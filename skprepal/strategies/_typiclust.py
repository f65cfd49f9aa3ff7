"""TypiClust: a cold start on the most typical row of every cluster no label covers yet."""

from __future__ import annotations

import warnings
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state

from skprepal._compat import Interval
from skprepal._validation import check_params
from skprepal.strategies._base import QueryStrategy, check_dense_vectors, score_chunk_rows
from skprepal.strategies._diversity import labeled_vectors
from skprepal.strategies._registry import register_strategy

__all__ = ["TypiClust", "typicality"]

#: Up to this many clusters, full-batch k-means; above, mini-batch k-means (as the authors' code).
_FULL_KMEANS_UP_TO = 50


def typicality(X: np.ndarray, n_neighbors: int) -> np.ndarray:
    """Inverse mean Euclidean distance of each row to its ``n_neighbors`` nearest other rows.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The rows (one cluster's, in TypiClust).
    n_neighbors : int
        Neighbours averaged over (capped at ``n_samples - 1``).

    Returns
    -------
    ndarray of float, shape (n_samples,)
        Higher is denser; a lone row gets 0.

    Examples
    --------
    >>> X = np.array([[0.0], [1.0], [2.0], [10.0]])
    >>> typicality(X, 2).argmax()
    np.int64(1)
    """
    n_samples = X.shape[0]
    k = min(int(n_neighbors), n_samples - 1)
    if k < 1:
        return np.zeros(n_samples)
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    # Column 0 is the row itself (distance 0), or an exact duplicate of it: either way at 0.
    return 1.0 / (distances[:, 1:].mean(axis=1) + 1e-5)


@register_strategy("typiclust", "typi_clust")
class TypiClust(QueryStrategy):
    """TypiClust: the most typical row of each of the largest clusters that hold no label yet.

    Made for the first rounds, when a head trained on a few dozen labels cannot tell what is
    uncertain: the pool and the labeled rows are clustered by k-means into ``n_labeled + n``
    clusters (at most ``max_clusters``); the clusters with the fewest labeled rows come first,
    the largest of them first. Each cluster in turn gives its most typical unpicked pool row,
    the one with the highest inverse mean distance to its ``n_neighbors`` nearest neighbours
    within the cluster (fewer in small clusters: at most half the cluster), until ``n`` rows
    are picked; with fewer clusters than picks the turn goes round again. Clusters of
    ``min_cluster_size`` rows or fewer are outliers rather than regions: the authors leave them
    out, and here they give rows only once every larger cluster has run out. The head is not
    used, so TypiClust also serves as ``initial_strategy``.

    It is a low-budget strategy: its authors find it ahead of uncertainty sampling at budgets of
    a few labels per class and behind it at larger ones. Use :class:`ColdStartSwitch` to hand
    over to an uncertainty strategy once enough labels are in.

    Memory: k-means runs on at most ``sample_size`` pool rows (a random sample of a larger pool;
    ``sample_size * n_features`` floats) plus the labeled rows; every pool row is then assigned
    to its nearest centre chunk by chunk, which keeps one cluster index per pool row; the
    typicality of a cluster needs its rows (at most ``sample_size`` of them, sampled). A
    ``np.memmap`` pool is never read whole into memory.

    Parameters
    ----------
    n_neighbors : int, default=20
        Neighbours in the typicality measure (the paper's K).
    min_cluster_size : int, default=5
        Clusters of this many rows or fewer (labeled and pool rows) give rows only after every
        larger cluster has run out.
    max_clusters : int, default=500
        The most clusters, whatever the number of labels.
    sample_size : int, default=20_000
        Pool rows the k-means is fit on, and the most rows of a cluster its typicality is
        computed over; larger pools are sampled (with the learner's ``random_state``).

    See Also
    --------
    ColdStartSwitch : TypiClust for the first labels, then another strategy.
    KMeansSampling : The row nearest each centre, with no regard to labeled rows.

    References
    ----------
    .. [1] G. Hacohen, A. Dekel and D. Weinshall, "Active Learning on a Budget: Opposite
       Strategies Suit High and Low Budgets", ICML 2022.

    Examples
    --------
    Two groups of points on a line, each denser towards its middle: the picks are the two
    middles.

    >>> import numpy as np
    >>> offsets = np.array([-2.0, -1.0, -0.5, -0.2, 0.0, 0.2, 0.5, 1.0, 2.0])
    >>> X = np.c_[np.r_[offsets, offsets + 50.0], np.zeros(18)]
    >>> sorted(TypiClust()(None, X, 2, random_state=0).tolist())
    [4, 13]
    """

    needs_vectors = True

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "min_cluster_size": [Interval(Integral, 0, None, closed="left")],
        "max_clusters": [Interval(Integral, 1, None, closed="left")],
        "sample_size": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(
        self,
        *,
        n_neighbors: int = 20,
        min_cluster_size: int = 5,
        max_clusters: int = 500,
        sample_size: int = 20_000,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.min_cluster_size = min_cluster_size
        self.max_clusters = max_clusters
        self.sample_size = sample_size

    def select(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        context.pop("pool_indices", None)
        mask = np.ones(X_pool.shape[0], dtype=bool)
        return self.select_rows(estimator, X_pool, mask, n, **context)

    def select_rows(
        self, estimator: Any, X: Any, pool_mask: np.ndarray, n: int, **context: Any
    ) -> np.ndarray:
        """Cluster a sample of the pool with the labeled rows; pick per uncovered cluster."""
        check_params(self)
        pool = np.flatnonzero(pool_mask).astype(np.intp)
        n = min(int(n), pool.shape[0])
        if n <= 0:
            return np.empty(0, dtype=np.intp)
        check_dense_vectors(X[:1], self._label)
        rng = check_random_state(context.get("random_state"))
        X_labeled = labeled_vectors(context, X[:1], self._label)
        n_labeled = 0 if X_labeled is None else X_labeled.shape[0]
        sample = pool
        if pool.shape[0] > self.sample_size:
            sample = np.sort(rng.choice(pool, size=int(self.sample_size), replace=False))
        fit_rows = check_dense_vectors(X[sample], self._label)
        if X_labeled is not None:
            fit_rows = np.concatenate([fit_rows, np.asarray(X_labeled, dtype=fit_rows.dtype)])
        n_clusters = min(n_labeled + n, int(self.max_clusters), fit_rows.shape[0])
        centres = self._centres(fit_rows, n_clusters, rng)
        del fit_rows
        cluster = self._assign(X, pool, centres)
        covered = np.zeros(n_clusters, dtype=np.int64)
        if X_labeled is not None:
            covered = np.bincount(self._assign(X_labeled, None, centres), minlength=n_clusters)
        size = np.bincount(cluster, minlength=n_clusters) + covered
        small = size <= int(self.min_cluster_size)
        # The fewest labels first, then the largest, then the lowest id.
        order = np.lexsort((np.arange(n_clusters), -size, covered))
        members = {int(c): pool[cluster == c] for c in order}
        picked: list[int] = []
        # Regions first, round after round; outlier clusters only once the regions run dry.
        for tier in (order[~small[order]], order[small[order]]):
            while len(picked) < n and any(members[int(c)].shape[0] for c in tier):
                for c in tier:
                    rows = members[int(c)]
                    if rows.shape[0] == 0:
                        continue
                    best = self._most_typical(X, rows, rng)
                    picked.append(int(rows[best]))
                    members[int(c)] = np.delete(rows, best)
                    if len(picked) == n:
                        break
        return np.asarray(picked, dtype=np.intp)

    def _centres(self, rows: np.ndarray, n_clusters: int, rng: np.random.RandomState) -> Any:
        seed = int(rng.randint(np.iinfo(np.int32).max))
        if n_clusters <= _FULL_KMEANS_UP_TO:
            km: Any = KMeans(n_clusters=n_clusters, n_init=1, random_state=seed)
        else:
            # scikit-learn's default batch of 1,024 rows (k-means++ then seeds on 3,072 of them):
            # with the authors' 5,000 the seeding, most of a query's time, made one query of 350
            # clusters on 5,400 rows 1.6 times slower here (7.2 s against 4.4 s).
            km = MiniBatchKMeans(n_clusters=n_clusters, n_init=1, random_state=seed)
        with warnings.catch_warnings():
            # Fewer distinct rows than clusters: empty clusters simply give no pick.
            warnings.simplefilter("ignore", ConvergenceWarning)
            km.fit(rows)
        return km

    @staticmethod
    def _assign(X: Any, rows: np.ndarray | None, km: Any) -> np.ndarray:
        """Nearest centre of ``X[rows]`` (every row of ``X`` for None), chunk by chunk."""
        total = X.shape[0] if rows is None else rows.shape[0]
        out = np.empty(total, dtype=np.intp)
        step = score_chunk_rows(X)
        for start in range(0, total, step):
            stop = min(start + step, total)
            chunk = X[start:stop] if rows is None else X[rows[start:stop]]
            chunk = np.asarray(chunk, dtype=km.cluster_centers_.dtype)
            out[start:stop] = km.predict(chunk)
        return out

    def _most_typical(self, X: Any, rows: np.ndarray, rng: np.random.RandomState) -> int:
        """Position in ``rows`` of the most typical one (of a sample, for a huge cluster)."""
        if rows.shape[0] == 1:
            return 0
        among = np.arange(rows.shape[0])
        if rows.shape[0] > self.sample_size:
            among = np.sort(rng.choice(rows.shape[0], size=int(self.sample_size), replace=False))
        vectors = np.asarray(X[rows[among]], dtype=np.float64)
        k = min(int(self.n_neighbors), max(1, among.shape[0] // 2))
        return int(among[np.argmax(typicality(vectors, k))])
