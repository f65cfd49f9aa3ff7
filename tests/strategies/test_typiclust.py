"""TypiClust and its typicality measure against the algorithm its docstring describes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.cluster import KMeans, MiniBatchKMeans

import skprepal.strategies._base
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
    # Full-batch k-means up to 50 clusters, mini-batch above (as the authors' code).
    model = KMeans if n_clusters <= 50 else MiniBatchKMeans
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reference's own warnings are not under test
        km = model(n_clusters=n_clusters, n_init=1, random_state=seed).fit(fit)
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


@pytest.mark.parametrize("n", [50, 51])
def test_full_kmeans_up_to_50_clusters_mini_batch_above(n):
    # No labels: n clusters. At 50 the reference runs KMeans, at 51 MiniBatchKMeans (with its
    # own n_clusters and a single init); n overlapping blobs of eight rows make the picks depend
    # on which. (Eight rows a blob keep clusters of two or three rows rare: their closest pair
    # ties in typicality, and scikit-learn's rounding, not the reference, breaks the tie.)
    rng = np.random.RandomState(4)
    X = (rng.uniform(0, 10, size=(n, 1, 3)) + rng.normal(size=(n, 8, 3))).reshape(-1, 3)
    pool = np.arange(X.shape[0])
    for seed in (0, 1):
        picks = TypiClust(n_neighbors=4)(None, X, n, random_state=seed)
        assert picks.tolist() == reference(X, pool, n, seed, n_neighbors=4)


def test_every_labeled_row_counts_towards_its_cluster_not_one_per_feature():
    # Three labeled rows of two features: one in the group near 0, two in the larger group near
    # 100. The group near 0 has fewer labels, so it comes first and gives the pick (its middle).
    # Counting only the first two labeled rows would tie the labels and put the larger first.
    X = np.vstack([line(0), line(100), line(100)[:3] + [0.0, 1.0]])
    X_labeled = np.array([[0.1, 0.0], [100.1, 0.0], [100.2, 0.0]])
    for seed in range(3):
        picks = TypiClust(max_clusters=2)(None, X, 1, X_labeled=X_labeled, random_state=seed)
        assert picks.tolist() == [4]


def test_the_pool_is_assigned_once_in_chunks_of_score_chunk_bytes(monkeypatch):
    # SCORE_CHUNK_BYTES holds 256 rows of 4 float64 features: the 700 pool rows reach the
    # k-means in three chunks, each row once (and not the whole pool at once, which with wide
    # embeddings would be the whole pool in memory).
    monkeypatch.setattr(skprepal.strategies._base, "SCORE_CHUNK_BYTES", 256 * 4 * 8)
    chunks = []
    predict = KMeans.predict

    def recording_predict(self, X, *args, **kwargs):
        chunks.append(X.shape[0])
        return predict(self, X, *args, **kwargs)

    monkeypatch.setattr(KMeans, "predict", recording_predict)
    X = np.random.RandomState(5).normal(size=(700, 4))
    TypiClust()(None, X, 3, random_state=0)
    assert chunks == [256, 256, 188]


@pytest.mark.parametrize("seed", range(4))
def test_a_cluster_larger_than_sample_size_is_sampled_without_replacement(seed):
    # Two groups, 30 and 14 rows; sample_size=12: the larger is sampled on every turn, the
    # smaller once it is down from 14 to 12 rows no longer (12 rows are not a sample), so the
    # learner's random state draws exactly the reference's samples, and no row twice.
    rng = np.random.RandomState(6)
    X = np.vstack([rng.normal(size=(30, 2)), rng.normal(size=(14, 2)) + [20.0, 0.0]])
    pool = np.arange(44)
    picks = TypiClust(n_neighbors=3, max_clusters=2, sample_size=12)(None, X, 8, random_state=seed)
    assert picks.tolist() == reference(X, pool, 8, seed, n_neighbors=3, max_clusters=2,
                                       sample_size=12)


def test_a_float32_pool_picks_as_its_float64_copy():
    # Two rows, one cluster: they tie in typicality, and the rounding of scikit-learn's distances
    # breaks the tie, differently for float32 and float64 rows (with this BLAS, for seed 20
    # among others). Typicality is computed in float64 whatever the pool's dtype, so a float32
    # pool breaks its ties as its float64 copy does.
    for seed in range(30):
        X = np.random.RandomState(seed).normal(size=(2, 8)).astype(np.float32)
        assert (TypiClust()(None, X, 1, random_state=0).tolist()
                == TypiClust()(None, X.astype(np.float64), 1, random_state=0).tolist())


def test_a_three_row_cluster_measures_typicality_over_one_neighbour():
    # Half of three rows, rounded down: one neighbour. Rows 0 and 1 (the closest pair) tie, and
    # the earlier one is picked; over two neighbours row 1, in the middle, would win outright.
    X = np.array([[0.0, 0.0], [1.0, 0.0], [2.5, 0.0]])
    assert mean_distance(X, 1).tolist() == [1.0, 1.0, 1.5]
    assert TypiClust()(None, X, 1, random_state=0).tolist() == [0]


def test_a_two_row_cluster_gives_the_row_typicality_ranks_first():
    # Two rows that nearly coincide far from the origin: scikit-learn's rounding can make the
    # two inverse mean distances differ (with this BLAS, row 1 ranks first for seed 1). The
    # pick follows the measure, whatever it says, rather than taking the first row.
    for seed in range(4):
        rng = np.random.RandomState(seed)
        X = rng.normal(size=8) * 1e8 + rng.normal(size=(2, 8)) * 1e-6
        expected = int(np.argmax(typicality(X, 1)))
        assert TypiClust()(None, X, 1, random_state=0).tolist() == [expected]


def test_an_overflow_in_the_kmeans_reaches_the_user():
    # Only the k-means' ConvergenceWarning (fewer distinct rows than clusters) is silenced; rows
    # of order 1e154, whose squares overflow float64, must not be clustered in silence.
    X = np.vstack([line(-1.0, scale=0.1), line(1.0, scale=0.1)]) * 1e154
    with pytest.warns(RuntimeWarning, match="overflow"):
        TypiClust()(None, X, 2, random_state=0)


def test_fewer_distinct_rows_than_clusters_picks_without_a_warning():
    # Three distinct rows, four clusters: k-means warns that it found fewer; TypiClust does
    # not pass that on, and still gives four distinct picks.
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 0.0], [10.0, 0.0]]), 3, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        picks = TypiClust()(None, X, 4, random_state=0)
    assert np.unique(picks).size == 4


def test_picks_are_an_intp_array():
    # Index arrays are intp everywhere; a plain np.asarray of Python ints would be int32 where
    # the C long is 32 bits (Windows with numpy 1.x).
    X = np.vstack([line(0), line(50)])
    assert TypiClust()(None, X, 3, random_state=0).dtype == np.intp
