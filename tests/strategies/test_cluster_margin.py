"""ClusterMargin: exact picks against the documented algorithm, chunking, empty queries, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.cluster import AgglomerativeClustering

from skprepal.exceptions import InvalidInputError
from skprepal.strategies import ClusterMargin, MarginSampling


class ProbaById:
    """A head whose predict_proba returns given rows, looked up by the row id in column 0.

    Column 0 of X holds the row id times 1e-6 (see :func:`with_ids`), so the probabilities follow
    the rows through chunks and masks. Every call's row count is recorded in ``calls``.
    """

    def __init__(self, proba):
        self.proba = np.asarray(proba, dtype=float)
        self.classes_ = np.arange(self.proba.shape[1])
        self.calls = []

    def predict_proba(self, X):
        self.calls.append(X.shape[0])
        return self.proba[np.rint(np.asarray(X)[:, 0] * 1e6).astype(int)]


class Unsure:
    """A head that says 50/50 for any rows, vectors or not."""

    classes_ = np.array([0, 1])

    def predict_proba(self, X):
        return np.full((len(X), 2), 0.5)


def with_ids(X):
    """Prepend the row id (times 1e-6: too small to move any distance) as column 0."""
    X = np.asarray(X, dtype=float)
    return np.column_stack([1e-6 * np.arange(X.shape[0]), X])


def reference_picks(head, X, n, n_candidates, n_clusters, seed):
    """The class docstring's algorithm written out, with scikit-learn's clustering.

    The ``n_candidates`` lowest margins (most uncertain first), average-linkage clusters of
    them, clusters visited smallest first (equal sizes: the one holding the more uncertain
    candidate first), each cluster's members in a random order (one ``permutation`` per cluster,
    in visit order), then one member of each cluster per pass until ``n`` are taken.
    """
    candidates = MarginSampling()(head, X, n_candidates)
    labels = AgglomerativeClustering(n_clusters=n_clusters, linkage="average").fit_predict(
        X[candidates]
    )
    # Members as margin ranks (positions in `candidates`), ascending.
    clusters = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    clusters.sort(key=lambda ranks: (len(ranks), ranks[0]))
    rng = np.random.RandomState(seed)
    shuffled = [candidates[rng.permutation(ranks)] for ranks in clusters]
    passes = itertools.zip_longest(*shuffled)
    return [int(row) for level in passes for row in level if row is not None][:n]


def three_groups():
    """Tight groups of 6, 4 and 2 rows (ids 0, 1, 2), far apart, all close calls.

    The margins differ row to row, in an order unrelated to the row numbers, so that the margin
    ranks are not the row order.
    """
    rng = np.random.RandomState(3)
    group = np.repeat([0, 1, 2], [6, 4, 2])
    X = 10.0 * np.column_stack([group, group]) + 0.01 * rng.normal(size=(12, 2))
    p = 0.5 + 0.01 * rng.permutation(12)
    return with_ids(X), group, ProbaById(np.column_stack([p, 1 - p]))


def test_picks_go_round_robin_until_the_small_clusters_run_out():
    # 7 picks from clusters of 2, 4 and 6: two full passes, then the 2-cluster is spent and the
    # third pass takes from the 4- and the 6-cluster only.
    X, group, head = three_groups()
    picks = ClusterMargin(candidate_factor=3, n_clusters=3)(head, X, 7, random_state=5)
    assert group[picks].tolist() == [2, 1, 0, 2, 1, 0, 1]
    # The exact rows: each cluster's members in the order of its random permutation.
    assert picks.tolist() == reference_picks(head, X, 7, 12, 3, seed=5)
    assert picks.dtype == np.intp


def test_select_rows_picks_the_reference_rows_inside_the_pool_mask():
    # The learner's path: the masked rows are neither candidates nor picks.
    X, group, head = three_groups()
    mask = np.ones(12, dtype=bool)
    mask[[0, 6]] = False
    rows = ClusterMargin(candidate_factor=2, n_clusters=3).select_rows(
        head, X, mask, 5, random_state=np.random.RandomState(1)
    )
    kept = np.flatnonzero(mask)
    expected = kept[reference_picks(head, X[kept], 5, 10, 3, seed=1)]
    assert rows.tolist() == expected.tolist()
    assert rows.dtype == np.intp


def test_clusters_are_made_by_average_linkage():
    # A: 3 rows near 0, B: 8 rows near 5, C: 1 row at 11. Average linkage joins A to B (mean
    # distance 5 < 6), leaving C alone: the first pick is C. Ward's criterion would join the
    # singleton C to B (cheaper than merging the groups of 3 and 8) and pick from A first.
    rng = np.random.RandomState(0)
    x = np.concatenate([0.05 * rng.normal(size=3), 5 + 0.05 * rng.normal(size=8), [11.0]])
    X = with_ids(np.column_stack([x, np.zeros(12)]))
    head = ProbaById(np.full((12, 2), 0.5))
    picks = ClusterMargin(candidate_factor=6, n_clusters=2)(head, X, 2, random_state=0)
    assert picks[0] == 11
    assert picks.tolist() == reference_picks(head, X, 2, 12, 2, seed=0)


def test_two_clusters_give_one_pick_each_smallest_first():
    # Groups of 3 and 5 rows with n_clusters=2 and two picks: the 3-group gives the first row,
    # the 5-group the second, whatever the random order inside each.
    rng = np.random.RandomState(0)
    group = np.repeat([0, 1], [3, 5])
    X = with_ids(10.0 * np.column_stack([group, group]) + 0.01 * rng.normal(size=(8, 2)))
    head = ProbaById(np.full((8, 2), 0.5))
    for seed in range(5):
        picks = ClusterMargin(candidate_factor=4, n_clusters=2)(head, X, 2, random_state=seed)
        assert group[picks].tolist() == [0, 1]
        assert picks.tolist() == reference_picks(head, X, 2, 8, 2, seed=seed)


def test_with_factor_one_the_picks_are_margin_sampling_in_its_order_whatever_n_clusters():
    # The 4 lowest margins: rows 0, 1, 2 (a tight group, most uncertain first) and row 3, far
    # away and the least uncertain of them. With candidate_factor=1 they are the batch, in
    # margin order; clustering them (two clusters, smallest first) would put row 3 first.
    X = with_ids([[0.0, 0.0], [0.01, 0.0], [0.0, 0.01], [10.0, 10.0]] + [[5.0, 5.0]] * 6)
    p = np.array([0.5, 0.51, 0.52, 0.53] + [0.9] * 6)
    head = ProbaById(np.column_stack([p, 1 - p]))
    picks = ClusterMargin(candidate_factor=1, n_clusters=2)(head, X, 4, random_state=0)
    assert picks.tolist() == [0, 1, 2, 3]
    assert picks.tolist() == MarginSampling()(head, X, 4).tolist()


def test_margin_scoring_reads_the_pool_in_chunks_of_chunk_rows():
    # chunk_rows is passed on to the margin scoring: no predict_proba call sees more than 7
    # rows, every row is scored once, and the picks are those of the default chunking.
    rng = np.random.RandomState(0)
    X = with_ids(rng.normal(size=(40, 2)))
    p = 0.5 + 0.4 * rng.random_sample(40)
    mask = np.ones(40, dtype=bool)
    chunked, whole = ProbaById(np.column_stack([p, 1 - p])), ProbaById(np.column_stack([p, 1 - p]))
    strategy = ClusterMargin(candidate_factor=3)
    rows = strategy.select_rows(chunked, X, mask, 4, chunk_rows=7, random_state=0)
    assert max(chunked.calls) <= 7
    assert sum(chunked.calls) == 40
    assert rows.tolist() == strategy.select_rows(whole, X, mask, 4, random_state=0).tolist()
    assert whole.calls == [40]  # the default chunk (at least 256 rows) takes the pool at once


@pytest.mark.parametrize("n, pool", [(0, 10), (3, 0)], ids=["no pick asked", "empty pool"])
def test_select_rows_with_nothing_to_pick_returns_an_empty_integer_array(n, pool):
    # The result indexes X: an empty float array could not (numpy refuses float indices).
    X = with_ids(np.zeros((10, 2)))
    mask = np.arange(10) < pool
    rows = ClusterMargin().select_rows(Unsure(), X, mask, n, random_state=0)
    assert rows.dtype == np.intp
    assert rows.shape == (0,)
    assert X[rows].shape == (0, 3)


def test_select_rows_on_texts_says_cluster_margin_needs_vectors():
    # select_rows (the learner's call) scores the texts with the head, then needs vectors to
    # cluster the candidates: the error names the strategy.
    X = np.array([f"text {i}" for i in range(12)])
    with pytest.raises(InvalidInputError, match=r"^query strategy 'cluster_margin' measures "
                       r"distances between samples and needs numeric vectors"):
        ClusterMargin(candidate_factor=4).select_rows(Unsure(), X, np.ones(12, dtype=bool), 3)
