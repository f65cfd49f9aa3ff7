"""TypiClust and its typicality measure against the algorithm its docstring describes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans

from skprepal.exceptions import InvalidInputError
from skprepal.strategies import TypiClust
from skprepal.strategies._typiclust import typicality

OFFSETS = np.array([-2.0, -1.0, -0.5, -0.2, 0.0, 0.2, 0.5, 1.0, 2.0])  # densest at 0 (index 4)


def line(centre, scale=1.0):
    """Nine rows on a line around ``centre``, densest at the middle one (index 4)."""
    return np.column_stack([centre + scale * OFFSETS, np.zeros(9)])


def mean_distance(X, k):
    """Brute-force mean Euclidean distance of each row to its ``k`` nearest other rows."""
    d = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, :k].mean(axis=1)


def reference(X, pool, n, seed, *, X_labeled=None, n_neighbors=20, min_cluster_size=5,
              max_clusters=500, sample_size=20_000):
    """TypiClust as its docstring describes it, with the seeds drawn as KMeansSampling's test does.

    The learner's random state draws the k-means sample of a pool larger than ``sample_size``
    first, then the k-means seed, then the sample of any cluster larger than ``sample_size``.
    """
    rng = np.random.RandomState(seed)
    sample = pool
    if pool.size > sample_size:
        sample = np.sort(rng.choice(pool, size=sample_size, replace=False))
    fit = X[sample] if X_labeled is None else np.vstack([X[sample], X_labeled])
    n_labeled = 0 if X_labeled is None else X_labeled.shape[0]
    n_clusters = min(n_labeled + n, max_clusters, fit.shape[0])
    seed = int(rng.randint(np.iinfo(np.int32).max))
    km = KMeans(n_clusters=n_clusters, n_init=1, random_state=seed).fit(fit)
    cluster = km.predict(X[pool])
    covered = np.zeros(n_clusters, dtype=int)
    if X_labeled is not None:
        covered = np.bincount(km.predict(X_labeled), minlength=n_clusters)
    size = np.bincount(cluster, minlength=n_clusters) + covered
    order = sorted(range(n_clusters), key=lambda c: (covered[c], -size[c], c))
    members = {c: list(pool[cluster == c]) for c in order}
    picks = []
    for tier in ([c for c in order if size[c] > min_cluster_size],
                 [c for c in order if size[c] <= min_cluster_size]):
        while len(picks) < n and any(members[c] for c in tier):
            for c in tier:
                rows = members[c]
                if not rows:
                    continue
                among = np.arange(len(rows))
                if len(rows) > sample_size:
                    among = np.sort(rng.choice(len(rows), size=sample_size, replace=False))
                best = 0
                if len(rows) > 1:
                    k = min(n_neighbors, max(1, among.size // 2))
                    best = among[np.argmin(mean_distance(X[np.asarray(rows)[among]], k))]
                picks.append(int(rows.pop(best)))
                if len(picks) == n:
                    break
    return picks


# -- typicality ----------------------------------------------------------------------------------


def test_typicality_is_the_inverse_mean_distance_to_the_nearest_other_rows():
    X = np.random.RandomState(0).normal(size=(12, 3)) * 10  # mean distances of several units
    for k in (1, 2, 5, 11):
        # The measure adds a tiny guard against zero distances, well inside this tolerance.
        np.testing.assert_allclose(typicality(X, k), 1.0 / mean_distance(X, k), rtol=1e-4)


def test_typicality_caps_the_neighbours_at_the_other_rows():
    X = np.random.RandomState(1).normal(size=(4, 2))
    np.testing.assert_array_equal(typicality(X, 10), typicality(X, 3))


def test_typicality_of_a_lone_row_is_zero():
    t = typicality(np.array([[3.0, 4.0]]), 5)
    assert t.shape == (1,)  # one value per row, not a bare scalar
    assert t[0] == 0.0


def test_typicality_ranks_exact_duplicates_densest():
    # Rows 0 and 1 are at distance 0 from their nearest neighbour: the densest, and finite.
    t = typicality(np.array([[0.0], [0.0], [3.0]]), 1)
    assert np.isfinite(t).all()
    assert t[0] == t[1] > t[2] > 0


# -- TypiClust -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sample_size", [10, 47, 48, 20_000])  # the pool has 48 rows
def test_picks_follow_the_documented_algorithm(sample_size):
    X = np.random.RandomState(0).normal(size=(60, 3))
    pool_mask = np.ones(60, dtype=bool)
    pool_mask[::5] = False  # 12 labeled rows, 4 of them given as X_labeled
    X_labeled = X[::5][:4]
    strategy = TypiClust(n_neighbors=4, min_cluster_size=3, sample_size=sample_size)
    for seed in (0, 1):
        picks = strategy.select_rows(
            None, X, pool_mask, 6, X_labeled=X_labeled, random_state=seed
        )
        expected = reference(X, np.flatnonzero(pool_mask), 6, seed, X_labeled=X_labeled,
                             n_neighbors=4, min_cluster_size=3, sample_size=sample_size)
        assert picks.tolist() == expected


def test_a_pool_of_exactly_sample_size_rows_is_not_sampled():
    # Unsampled, the pool is clustered exactly as with a larger sample_size, same seed and all.
    X = np.random.RandomState(2).normal(size=(40, 2))
    for seed in range(3):
        np.testing.assert_array_equal(
            TypiClust(sample_size=40)(None, X, 5, random_state=seed),
            TypiClust(sample_size=1000)(None, X, 5, random_state=seed),
        )


def test_there_are_as_many_clusters_as_labeled_rows_plus_picks():
    # Four groups, a label in each of the first three: four clusters leave the fourth uncovered.
    # With one cluster fewer, the groups at 200 and 215 would share one, whose most typical row
    # lies in the denser group at 200.
    X = np.vstack([line(0), line(100), line(200, scale=0.5), line(215)])
    # Three labeled rows of two features: the count is of rows, not of features.
    X_labeled = np.array([[0.1, 0.0], [100.1, 0.0], [200.1, 0.0]])
    for seed in range(3):
        assert TypiClust()(None, X, 1, X_labeled=X_labeled, random_state=seed).tolist() == [31]


def test_max_clusters_caps_the_clusters():
    # One cluster: the picks are the most typical rows of the whole pool, one after another.
    X = np.random.RandomState(3).normal(size=(30, 2))
    rows, expected = list(range(30)), []
    for _ in range(4):
        k = min(20, len(rows) // 2)
        expected.append(rows.pop(int(np.argmin(mean_distance(X[rows], k)))))
    assert TypiClust(max_clusters=1)(None, X, 4, random_state=0).tolist() == expected


def test_more_picks_than_sampled_rows_go_round_the_clusters_again():
    # Two sampled rows fit two clusters only; five picks still come, all distinct.
    X = np.vstack([line(0), line(50)])
    picks = TypiClust(sample_size=2)(None, X, 5, random_state=0)
    assert picks.shape == (5,) and np.unique(picks).size == 5


def test_labeled_rows_count_towards_a_cluster_size():
    # Group near 0: 4 pool rows and 2 labeled rows, 6 in all, more than min_cluster_size=5, so
    # a region; it comes after the uncovered group near 100, and gives the second pick.
    X = np.vstack([np.column_stack([[-1.0, 0.0, 0.1, 1.0], np.zeros(4)]), line(100)])
    X_labeled = np.array([[0.3, 0.0], [-0.3, 0.0]])
    for seed in range(3):
        picks = TypiClust(max_clusters=2)(None, X, 2, X_labeled=X_labeled, random_state=seed)
        assert (X[picks, 0] > 50).tolist() == [True, False]


def test_a_cluster_of_exactly_min_cluster_size_rows_is_an_outlier():
    # Five rows near 0 against nine near 100: every pick comes from the region near 100.
    X = np.vstack([np.column_stack([[-1.0, -0.5, 0.0, 0.5, 1.0], np.zeros(5)]), line(100)])
    for seed in range(3):
        picks = TypiClust(max_clusters=2, min_cluster_size=5)(None, X, 3, random_state=seed)
        assert (X[picks, 0] > 50).all()


@pytest.mark.parametrize("n, mask", [(0, "all"), (3, "none")])
def test_nothing_to_pick_returns_an_empty_index_array(n, mask):
    X = np.vstack([line(0), line(50)])
    pool_mask = np.full(X.shape[0], mask == "all")
    rows = TypiClust().select_rows(None, X, pool_mask, n, random_state=0)
    assert rows.shape == (0,) and rows.dtype == np.intp
    assert X[rows].shape == (0, 2)  # usable as an index


def test_rows_that_are_not_vectors_are_reported_with_the_strategy_name():
    texts = np.array(["a cat", "a dog", "a bird"])
    with pytest.raises(InvalidInputError, match="'typiclust'.*numeric vectors"):
        TypiClust().select_rows(None, texts, np.ones(3, dtype=bool), 1, random_state=0)


def test_labeled_rows_of_another_width_are_reported_with_the_strategy_name():
    X = np.vstack([line(0), line(50)])
    with pytest.raises(InvalidInputError, match="'typiclust': X_labeled has 3 features"):
        TypiClust()(None, X, 2, X_labeled=np.zeros((1, 3)), random_state=0)
