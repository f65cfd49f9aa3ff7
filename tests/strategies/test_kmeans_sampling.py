"""KMeansSampling against scikit-learn's k-means run as the strategy documents it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.extmath import safe_sparse_dot

from skprepal.strategies import KMeansSampling, _diversity


def reference(X, n, random_state, *, minibatch, max_iter=300, ordered=False):
    """The row nearest each centre; with ``ordered``, in the documented order (largest cluster
    first, equal sizes in k-means's cluster order), else sorted."""
    seed = int(np.random.RandomState(random_state).randint(np.iinfo(np.int32).max))
    kind = MiniBatchKMeans if minibatch else KMeans
    km = kind(n_clusters=n, n_init=1, max_iter=max_iter, random_state=seed).fit(X)
    dist = ((X[:, None, :] - km.cluster_centers_[None]) ** 2).sum(-1)
    clusters = np.unique(km.labels_)
    nearest = [np.flatnonzero(km.labels_ == c)[np.argmin(dist[km.labels_ == c, c])]
               for c in clusters]
    if not ordered:
        return sorted(int(r) for r in nearest)
    sizes = np.bincount(km.labels_)[clusters]
    return [int(nearest[i]) for i in np.lexsort((clusters, -sizes))]


def blobs(sizes, spacing=10.0, spread=0.1):
    """Tight, far-apart blobs of odd ``sizes`` on a line off the origin; each blob's first row is
    its mean (so no centre is orthogonal to its rows, and every row's distance counts).

    Returns the pool and each blob's first row: the row nearest the centre k-means finds.
    """
    rng = np.random.RandomState(0)
    parts, firsts, start = [], [], 0
    for b, size in enumerate(sizes):
        offsets = rng.normal(size=((size - 1) // 2, 2)) * spread
        # The blob's mean is its first row exactly: each offset comes with its opposite.
        parts.append([(b + 1) * spacing, 1.0] + np.r_[np.zeros((1, 2)), offsets, -offsets])
        firsts.append(start)
        start += size
    return np.concatenate(parts), firsts


@pytest.mark.parametrize(
    "threshold, minibatch, max_iter",
    # Mini-batch above the threshold. One iteration stops far from convergence on this pool, so
    # scikit-learn's default max_iter (300 for KMeans, 100 for MiniBatchKMeans) would differ.
    [(10_000, False, 50), (300, False, 50), (299, True, 50), (100, True, 50),
     (10_000, False, 1), (0, True, 1)],
)
def test_the_picks_are_the_rows_nearest_the_centres_of_the_documented_k_means(
    threshold, minibatch, max_iter
):
    X = np.random.RandomState(0).normal(size=(300, 5))
    strategy = KMeansSampling(minibatch_threshold=threshold, max_iter=max_iter)
    for seed in (0, 1):
        picks = strategy(None, X, 8, random_state=seed)
        assert picks.tolist() == reference(
            X, 8, seed, minibatch=minibatch, max_iter=max_iter, ordered=True
        )
        np.testing.assert_array_equal(picks, strategy(None, X, 8, random_state=seed))


def test_the_picks_come_largest_cluster_first():
    # Blob sizes in no order; the smallest blob's pick is row 0, the first row of the pool.
    sizes = [5, 21, 11, 15, 9]
    X, firsts = blobs(sizes)
    by_size = [firsts[b] for b in np.argsort(sizes)[::-1]]
    for seed in range(3):
        assert KMeansSampling()(None, X, 5, random_state=seed).tolist() == by_size


def test_clusters_of_equal_size_keep_k_means_cluster_order():
    # 24 clusters of 3 rows and 3 of 5: numpy's default (unstable) sort would shuffle the ties,
    # differently on different CPUs; a stable sort keeps them in k-means's cluster order.
    sizes = [3] * 10 + [5] + [3] * 7 + [5, 5] + [3] * 7
    X, _ = blobs(sizes)
    for seed in range(2):
        picks = KMeansSampling()(None, X, len(sizes), random_state=seed)
        assert picks.tolist() == reference(X, len(sizes), seed, minibatch=False, ordered=True)


def test_k_means_runs_one_initialisation():
    # With random_state=3 a second k-means++ initialisation ends at a lower inertia on this pool,
    # so n_init=2 would change the picks.
    X = np.random.RandomState(0).normal(size=(300, 5))
    picks = KMeansSampling()(None, X, 8, random_state=3)
    assert picks.tolist() == reference(X, 8, 3, minibatch=False, max_iter=100, ordered=True)


def test_a_pool_of_several_distance_blocks_is_scored_block_by_block(monkeypatch):
    # 512 clusters: a block holds (1 << 20) // 512 = 2048 rows, so the 2560 rows take two
    # blocks, the second one starting at row 2048.
    X, firsts = blobs([5] * 512)
    blocks = []

    def spy(a, b, **kwargs):
        blocks.append(a.shape[0])
        return safe_sparse_dot(a, b, **kwargs)

    monkeypatch.setattr(_diversity, "safe_sparse_dot", spy)
    picks = KMeansSampling()(None, X, 512, random_state=0)
    assert blocks == [2048, 512]
    assert sorted(picks.tolist()) == firsts


def test_only_the_convergence_warnings_of_k_means_are_silenced(monkeypatch):
    X = np.r_[np.zeros((6, 2)), np.ones((6, 2))]  # 2 distinct rows for 5 clusters
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        picks = KMeansSampling()(None, X, 5, random_state=0)
    assert len(set(picks.tolist())) == 5

    class NoisyKMeans(KMeans):
        def fit(self, X, y=None, sample_weight=None):
            warnings.warn("not about convergence", UserWarning)
            return super().fit(X, y, sample_weight)

    monkeypatch.setattr(_diversity, "KMeans", NoisyKMeans)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="not about convergence"):
            KMeansSampling()(None, X, 5, random_state=0)


def test_without_a_top_up_the_random_state_only_seeds_k_means():
    # A caller that shares its RandomState (a composite strategy, a hand-written loop) sees it
    # advanced by the k-means seed alone: no empty top-up draw shuffles the rest of the pool.
    X, _ = blobs([5, 7, 9])
    rng = np.random.RandomState(7)
    KMeansSampling()(None, X, 3, random_state=rng)
    expected = np.random.RandomState(7)
    expected.randint(np.iinfo(np.int32).max)
    assert rng.random_sample() == expected.random_sample()


def test_a_sparse_integer_pool_gives_the_picks_of_its_float_copy():
    # CountVectorizer counts: the centres were once cast to the pool's integer dtype, truncated.
    counts = np.random.RandomState(0).randint(0, 5, size=(400, 20))
    for seed in range(3):
        # k-means itself converts the counts to float64, so both fits are the same.
        as_int = KMeansSampling()(None, sp.csr_matrix(counts), 10, random_state=seed)
        as_float = KMeansSampling()(None, sp.csr_matrix(counts * 1.0), 10, random_state=seed)
        np.testing.assert_array_equal(as_int, as_float)
