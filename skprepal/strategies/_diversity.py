"""Diversity sampling on the vectors: core-set (greedy k-center), k-means and BADGE.

These strategies compute distances between rows, so they need numeric vectors (the output of a
:class:`~skprepal.FrozenLLMTransformer`), never raw texts. None of them forms an
``n_pool x n_labeled`` or ``n_pool x n_pool`` matrix: distances to the labeled rows are reduced in
chunks, and each pick only needs the distances from the new pick to the pool.
"""

from __future__ import annotations

import warnings
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn import config_context
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances_argmin_min
from sklearn.utils import check_random_state
from sklearn.utils.extmath import row_norms, safe_sparse_dot

from skprepal._compat import Interval
from skprepal.exceptions import InvalidInputError
from skprepal.strategies._base import QueryStrategy, check_vectors
from skprepal.strategies._registry import register_strategy
from skprepal.strategies._uncertainty import predict_proba_checked

__all__ = ["CoreSet", "KMeansSampling", "BADGE", "labeled_vectors"]

#: Memory (MiB) a chunk of pool-to-labeled distances may take, where scikit-learn chunks by memory.
_WORKING_MEMORY_MB = 64


def labeled_vectors(context: dict[str, Any], X_pool: Any, strategy: str) -> Any:
    """The context's ``X_labeled`` as vectors comparable with ``X_pool``, or None if there are none.

    A dense ``X_labeled`` is cast to a dense float ``X_pool``'s dtype (it is small), so that
    distance routines never upcast, i.e. copy, the pool. Beside an integer pool, which is scored
    as float64, it stays float.
    """
    X_labeled = context.get("X_labeled")
    if X_labeled is None:
        return None
    n_labeled = X_labeled.shape[0] if hasattr(X_labeled, "shape") else len(X_labeled)
    if n_labeled == 0:
        return None
    X_labeled = check_vectors(X_labeled, strategy)
    if X_labeled.shape[1] != X_pool.shape[1]:
        raise InvalidInputError(
            f"query strategy {strategy!r}: X_labeled has {X_labeled.shape[1]} features but the "
            f"pool has {X_pool.shape[1]}; both must come from the same embedding."
        )
    dense = not hasattr(X_labeled, "toarray") and not hasattr(X_pool, "toarray")
    if dense and X_pool.dtype.kind == "f":
        X_labeled = X_labeled.astype(X_pool.dtype, copy=False)
    return X_labeled


def _row_dot(X: Any, i: int) -> np.ndarray:
    """``X @ X[i]`` as a 1-D float64 array (dense or sparse ``X``), without copying ``X``."""
    return np.asarray(
        safe_sparse_dot(X, X[i : i + 1].T, dense_output=True), dtype=np.float64
    ).ravel()


@register_strategy("coreset", "core_set", "k_center", "kcenter")
class CoreSet(QueryStrategy):
    """Core-set selection: greedy k-center on the vectors.

    Repeatedly picks the pool row farthest (Euclidean) from its nearest labeled or already picked
    row, so the picks cover the pool. Without labeled rows the first pick is a random pool row
    (the learner's ``random_state``); after that the procedure is deterministic.

    The distances to the labeled rows are reduced in chunks
    (:func:`sklearn.metrics.pairwise_distances_argmin_min`); each pick then updates the
    per-row minimum distance with the distances to the new pick only, i.e. ``O(n_pool * d)`` per
    pick and no ``n_pool x n_labeled`` matrix.

    References
    ----------
    .. [1] O. Sener and S. Savarese, "Active Learning for Convolutional Neural Networks: A Core-Set
       Approach", ICLR 2018.

    Examples
    --------
    >>> import numpy as np
    >>> X_pool = np.array([[0.0, 0.1], [0.1, 0.0], [5.0, 5.0], [0.0, -0.1]])
    >>> CoreSet()(None, X_pool, 1, X_labeled=np.zeros((1, 2)))
    array([2])
    """

    needs_vectors = True

    def select(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        X_labeled = labeled_vectors(context, X_pool, self.name)
        sq_norms = row_norms(X_pool, squared=True).astype(np.float64, copy=False)
        picked = np.empty(n, dtype=np.intp)
        if X_labeled is None:
            rng = check_random_state(context.get("random_state"))
            min_dist = np.full(X_pool.shape[0], np.inf)
            c = int(rng.randint(X_pool.shape[0]))
        else:
            with config_context(working_memory=_WORKING_MEMORY_MB):
                _, dist = pairwise_distances_argmin_min(X_pool, X_labeled)
            min_dist = np.square(dist, dtype=np.float64)
            c = int(np.argmax(min_dist))
        for k in range(n):
            picked[k] = c
            if k == n - 1:
                break
            d2 = sq_norms - 2.0 * _row_dot(X_pool, c) + sq_norms[c]
            np.minimum(min_dist, d2, out=min_dist)
            # Never pick a row twice, even where rounding leaves it a tiny positive distance.
            min_dist[c] = -np.inf
            c = int(np.argmax(min_dist))
        return picked


@register_strategy("kmeans", "k_means")
class KMeansSampling(QueryStrategy):
    """Cluster the pool into ``n`` clusters and pick the row nearest each centroid.

    Uses :class:`sklearn.cluster.KMeans` (one k-means++ initialisation, ``n_init=1``), or
    :class:`sklearn.cluster.MiniBatchKMeans` for pools larger than ``minibatch_threshold``. The
    picks are distinct: each is the member of its own cluster nearest to the centroid. Should
    k-means find fewer than ``n`` non-empty clusters (duplicate rows), the remaining picks are
    drawn at random from the rest of the pool. Picks are ordered by cluster size, largest first.

    ``KMeans`` centres a copy of the pool (``copy_x=True``), so this strategy holds one extra copy
    of the pool while it runs; the pool itself is never modified.

    Parameters
    ----------
    minibatch_threshold : int, default=50_000
        Pools with more rows than this are clustered with ``MiniBatchKMeans``.
    max_iter : int, default=100
        Maximum number of k-means iterations.

    References
    ----------
    .. [1] F. Zhdanov, "Diverse mini-batch Active Learning", arXiv:1901.05954, 2019.

    Examples
    --------
    >>> import numpy as np
    >>> X_pool = np.array([[0.0, 0.0], [0.1, 0.0], [9.0, 9.0], [9.1, 9.0]])
    >>> sorted((KMeansSampling()(None, X_pool, 2, random_state=0) // 2).tolist())
    [0, 1]
    """

    needs_vectors = True

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "minibatch_threshold": [Interval(Integral, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, minibatch_threshold: int = 50_000, max_iter: int = 100) -> None:
        self.minibatch_threshold = minibatch_threshold
        self.max_iter = max_iter

    def select(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        rng = check_random_state(context.get("random_state"))
        seed = int(rng.randint(np.iinfo(np.int32).max))
        n_pool = X_pool.shape[0]
        if n_pool > self.minibatch_threshold:
            km: Any = MiniBatchKMeans(
                n_clusters=n, n_init=1, max_iter=self.max_iter, random_state=seed
            )
        else:
            km = KMeans(n_clusters=n, n_init=1, max_iter=self.max_iter, random_state=seed)
        with warnings.catch_warnings():
            # Fewer distinct rows than clusters: handled below by filling at random.
            warnings.simplefilter("ignore", ConvergenceWarning)
            km.fit(X_pool)
        labels = km.labels_
        centers = np.asarray(km.cluster_centers_, dtype=np.float64)
        # ||x - c||^2 up to the per-cluster constant ||c||^2, chunked to bound memory.
        dist = row_norms(X_pool, squared=True).astype(np.float64, copy=False)
        # A float32 pool is multiplied at its own precision (no float64 copy of a chunk); other
        # dtypes (sparse integer counts, float16) would truncate or round the centres.
        float_dtype = X_pool.dtype if X_pool.dtype in (np.float32, np.float64) else np.float64
        centers_t = centers.T.astype(float_dtype)
        chunk = max(1, (1 << 20) // n)
        for lo in range(0, n_pool, chunk):
            hi = min(lo + chunk, n_pool)
            dots = safe_sparse_dot(X_pool[lo:hi], centers_t, dense_output=True)
            dist[lo:hi] -= 2.0 * np.asarray(dots)[np.arange(hi - lo), labels[lo:hi]]
        order = np.lexsort((dist, labels))
        sorted_labels = labels[order]
        first_of_cluster = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
        picks = order[first_of_cluster]
        sizes = np.bincount(labels, minlength=n)[labels[picks]]
        picks = picks[np.argsort(-sizes, kind="stable")]
        if picks.shape[0] < n:
            rest = np.setdiff1d(np.arange(n_pool), picks)
            extra = rng.choice(rest, size=n - picks.shape[0], replace=False)
            picks = np.concatenate([picks, extra])
        return picks.astype(np.intp)


@register_strategy("badge")
class BADGE(QueryStrategy):
    """Batch Active learning by Diverse Gradient Embeddings.

    Each pool row gets the gradient of the cross-entropy loss, at the predicted label, with
    respect to the head's last linear layer: ``g = (p - onehot(argmax p)) ⊗ h``, where ``p`` is
    ``estimator.predict_proba`` and ``h`` is the head's penultimate representation:
    ``estimator.hidden_representation(X_pool)`` when the estimator has that method (the torch MLP
    head), else the input vector itself, which is exact for a linear head such as
    ``LogisticRegression`` (the bias term is left out, as in the paper). The ``n`` rows are then
    chosen by k-means++ seeding on ``g``: the first is the row with the largest gradient norm, as
    in the authors' code, and each next one is drawn with probability proportional to its squared
    distance to the nearest row chosen so far (D² sampling with the learner's ``random_state``).

    The gradient embeddings are never formed: ``<g_i, g_j> = (a_i·a_j)(h_i·h_j)`` with
    ``a = p - onehot``, so each pick costs ``O(n_pool * (n_classes + d))`` and no
    ``n_pool x (n_classes * d)`` matrix is built (which is why this does not call
    :func:`sklearn.cluster.kmeans_plusplus`, whose greedy variant also differs from BADGE's plain
    D² sampling).

    References
    ----------
    .. [1] J. Ash, C. Zhang, A. Krishnamurthy, J. Langford and A. Agarwal, "Deep Batch Active
       Learning by Diverse, Uncertain Gradient Lower Bounds", ICLR 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 4))
    >>> clf = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    >>> BADGE()(clf, X, 5, random_state=0).shape
    (5,)
    """

    needs_vectors = True

    def select(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        rng = check_random_state(context.get("random_state"))
        proba = predict_proba_checked(estimator, X_pool, self.name)
        A = proba.copy()
        A[np.arange(A.shape[0]), A.argmax(axis=1)] -= 1.0
        if hasattr(estimator, "hidden_representation"):
            H = estimator.hidden_representation(X_pool)
            H = H if hasattr(H, "toarray") else np.asarray(H)
        else:
            H = X_pool
        if H.shape[0] != A.shape[0]:
            raise InvalidInputError(
                f"query strategy {self.name!r}: hidden_representation returned {H.shape[0]} rows "
                f"for a pool of {A.shape[0]}."
            )
        sq_norms = row_norms(A, squared=True) * row_norms(H, squared=True).astype(np.float64)
        n_pool = A.shape[0]
        picked = np.full(n, -1, dtype=np.intp)  # -1: no row, for the fallback's set difference
        min_dist = np.full(n_pool, np.inf)
        c = int(np.argmax(sq_norms))
        for k in range(n):
            picked[k] = c
            if k == n - 1:
                break
            gram = (A @ A[c]) * _row_dot(H, c)
            d2 = np.maximum(sq_norms - 2.0 * gram + sq_norms[c], 0.0)
            np.minimum(min_dist, d2, out=min_dist)
            min_dist[c] = 0.0
            cumulative = np.cumsum(min_dist)
            total = cumulative[-1]
            if total > 0.0 and np.isfinite(total):
                c = int(np.searchsorted(cumulative, rng.uniform(0.0, total), side="right"))
                c = min(c, n_pool - 1)
                if min_dist[c] <= 0.0:  # rounding at the edge of the last bin
                    c = int(np.flatnonzero(min_dist > 0.0)[-1])
            else:  # every remaining row coincides with a picked one
                rest = np.setdiff1d(np.arange(n_pool), picked[: k + 1])
                c = int(rng.choice(rest))
        return picked
