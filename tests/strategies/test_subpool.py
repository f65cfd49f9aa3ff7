"""SEALS and AnchorAL: candidate subpools from nearest neighbours, around any base strategy."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from skprepal import PRepALLearner
from skprepal.exceptions import InvalidInputError
from skprepal.strategies import SEALS, AnchorAL, MarginSampling, QueryStrategy, VectorIndex


@pytest.fixture(scope="module")
def clusters():
    # 20 tight, far-apart clusters: a row's nearest neighbours are the rows of its cluster.
    rng = np.random.RandomState(0)
    centres = rng.normal(size=(20, 16)) * 10
    cluster = np.repeat(np.arange(20), 50)
    X = (centres[cluster] + rng.normal(size=(1000, 16)) * 0.1).astype(np.float32)
    y = cluster % 4
    return X, y, cluster


def _session(X, y, strategy, labeled_rows):
    partial = np.full(len(y), -1)
    partial[labeled_rows] = y[labeled_rows]
    return PRepALLearner(query_strategy=strategy, batch_size=10, random_state=0).fit(X, partial)


def test_seals_queries_only_neighbours_of_labeled_rows(clusters):
    X, y, cluster = clusters
    labeled = np.flatnonzero(np.isin(cluster, [0, 1, 2, 3]))[::10]  # 5 rows in each of 4 clusters
    learner = _session(X, y, SEALS(n_neighbors=50), labeled)
    picks = learner.query(40)
    assert np.isin(cluster[picks], [0, 1, 2, 3]).all()
    # Margin on the whole pool ranges over every cluster.
    everywhere = _session(X, y, "margin", labeled).query(40)
    assert not np.isin(cluster[everywhere], [0, 1, 2, 3]).all()


def test_seals_tops_up_from_the_pool_and_starts_cold(clusters):
    X, y, cluster = clusters
    labeled = [np.flatnonzero(cluster == 0)[0], np.flatnonzero(cluster == 1)[0]]
    learner = _session(X, y, SEALS(n_neighbors=5), labeled)
    picks = learner.query(30)  # 2 labeled rows x 4 neighbours besides themselves: 8 candidates
    assert picks.size == 30 and np.unique(picks).size == 30
    assert np.isin(cluster[picks[:8]], [0, 1]).all()
    assert not np.isin(cluster[picks[8:]], [0, 1]).all()
    cold = PRepALLearner(query_strategy=SEALS(), initial_strategy=SEALS("random"), random_state=0)
    assert cold.fit(X, np.full(len(y), -1)).query(5).size == 5


def test_anchoral_gives_every_class_its_share_of_the_subpool(clusters):
    X, y, cluster = clusters
    labeled = np.r_[np.flatnonzero(cluster == 0)[:3], np.flatnonzero(cluster == 1)[:3],
                    np.flatnonzero(cluster == 2)[:3], np.flatnonzero(cluster == 7)[:3]]
    learner = _session(X, y, AnchorAL("random", n_anchors=2, subpool_size=120), labeled)
    picks = learner.query(100)
    # 4 classes x 30 rows: the subpool holds only the anchors' clusters, 30 rows of each.
    assert set(cluster[picks[:100]]) <= {0, 1, 2, 7}
    counts = np.bincount(cluster[picks], minlength=20)[[0, 1, 2, 7]]
    assert (counts >= 20).all()


def test_an_index_saved_next_to_the_pool_is_reused(clusters, tmp_path):
    X, y, cluster = clusters
    index = VectorIndex.build(X, path=tmp_path / "pool.faiss")
    reopened = VectorIndex.open(tmp_path / "pool.faiss")
    rows, similarity = reopened.search(X[:1], 5)
    assert rows[0, 0] == 0 and similarity[0, 0] == pytest.approx(1.0, abs=1e-5)
    labeled = np.flatnonzero(cluster == 3)[:4]
    by_path = _session(X, y, SEALS(n_neighbors=30, index=str(tmp_path / "pool.faiss")), labeled)
    by_object = _session(X, y, SEALS(n_neighbors=30, index=index), labeled)
    np.testing.assert_array_equal(by_path.query(10), by_object.query(10))
    with pytest.raises(ValueError, match="holds 1000 rows but the pool has 999"):
        SEALS(index=index).select_rows(None, X[:-1], np.ones(999, bool), 3,
                                       labeled_indices=np.array([0]))


def _anchoral_picks(X, labeled, y_labeled, seed, n=10, **params):
    pool = np.ones(len(X), dtype=bool)
    pool[labeled] = False
    strategy = AnchorAL("random", **{"n_anchors": 1, "subpool_size": 20, **params})
    return strategy.select_rows(None, X, pool, n, labeled_indices=labeled, y_labeled=y_labeled,
                                random_state=seed)


def test_anchoral_draws_its_anchors_from_the_learners_random_state(clusters):
    X, y, cluster = clusters
    # Class 0's labeled rows lie in clusters 0, 4, 8, 12 and 16; one anchor picks one of them.
    labeled = np.array([np.flatnonzero(cluster == c)[0] for c in (0, 4, 8, 12, 16)])
    chosen = set()
    for seed in range(5):
        picks = _anchoral_picks(X, labeled, y[labeled], seed)
        np.testing.assert_array_equal(picks, _anchoral_picks(X, labeled, y[labeled], seed))
        assert len(set(cluster[picks])) == 1  # the anchor's cluster, 20 rows of it
        chosen |= set(cluster[picks])
    assert len(chosen) > 1


def test_anchoral_anchors_on_a_single_labeled_row_and_starts_cold_without_one(clusters):
    X, y, cluster = clusters
    one = np.array([np.flatnonzero(cluster == 5)[0]])
    assert set(cluster[_anchoral_picks(X, one, y[one], 0)]) == {5}
    # No labeled row, or labels not given: the base strategy on the whole pool.
    for labeled, y_labeled in ((np.array([], dtype=int), np.array([], dtype=int)), (one, None)):
        picks = _anchoral_picks(X, labeled, y_labeled, 0, n=30)
        assert np.unique(picks).size == 30 and len(set(cluster[picks])) > 5


def test_called_directly_the_wrappers_take_the_context_a_learner_passes(clusters):
    from skprepal.strategies import ClusterMargin

    X, y, cluster = clusters
    labeled = np.flatnonzero(np.isin(cluster, [0, 1, 2, 3]))[::10]
    head = _session(X, y, "margin", labeled).estimator_
    context = {"labeled_indices": labeled, "y_labeled": y[labeled], "random_state": 0}

    def last_rows(estimator, X_pool, n):
        # Over the whole pool these are cluster 19's: picks in clusters 0-3 come from the subpool.
        return np.arange(len(X_pool) - n, len(X_pool))

    # A base strategy called on the gathered subpool, as any function strategy is: the caller's
    # pool_indices must not reach it twice.
    seals = SEALS(last_rows, n_neighbors=50)
    for extra in ({}, {"pool_indices": np.arange(len(X))}):
        picks = seals(head, X, 20, **context, **extra)
        assert len(set(picks.tolist())) == 20 and np.isin(cluster[picks], [0, 1, 2, 3]).all()
        margin_picks = ClusterMargin()(head, X, 20, **context, **extra)
        assert len(set(margin_picks.tolist())) == 20


def test_the_index_explains_a_missing_file_and_another_pool_and_lists_a_row_first(
    clusters, tmp_path
):
    X, _, cluster = clusters
    missing = tmp_path / "none.faiss"
    with pytest.raises(FileNotFoundError) as caught:
        VectorIndex.open(missing)
    assert str(caught.value) == f"no vector index at {str(missing)!r}; build one first."
    index = VectorIndex.build(X)
    with pytest.raises(InvalidInputError) as refused:
        index.neighbours_of([0], X[:999], 5)
    assert str(refused.value) == (
        "the vector index holds 1000 rows but the pool has 999; build the index over the same "
        "vectors the learner runs on."
    )
    # Row 0's nearest neighbour is row 0 itself, and the rest are rows of its cluster.
    neighbours = index.neighbours_of([0, 60], X, 5)
    assert neighbours[0][0] == 0 and (cluster[neighbours[0]] == cluster[0]).all()
    assert neighbours[60][0] == 60 and len(neighbours[60]) == 5


def test_a_neighbour_table_built_once_gives_the_picks_of_searching_every_round(
    clusters, tmp_path
):
    X, y, cluster = clusters
    path = tmp_path / "pool.faiss"
    built = VectorIndex.build(X, path=path, exact_below=1, neighbour_table=30)
    assert VectorIndex.table_path(path).is_file() and built.neighbour_table.shape == (1000, 30)
    tabled, searching = VectorIndex.open(path), VectorIndex.open(path, neighbour_table=False)
    assert isinstance(tabled.neighbour_table, np.memmap) and searching.neighbour_table is None
    assert "neighbours=30" in repr(tabled) and "neighbours" not in repr(searching)
    rows, _ = searching.search(X[[5, 700]], 30)
    np.testing.assert_array_equal(tabled.neighbour_table[[5, 700]], rows)
    # The opened index still searches: beyond the table's width, and for new vectors.
    np.testing.assert_array_equal(tabled.search(X[[5, 700]], 30)[0], rows)
    assert len(tabled.neighbours_of([5], X, 40)[5]) == 40
    # A whole simulation, round after round: the same candidates, so the same picks.
    runs = [
        PRepALLearner(query_strategy=SEALS(n_neighbors=20, index=index), batch_size=10,
                      initial_size=10, budget=60, random_state=0).fit(X, y).labeled_indices_
        for index in (tabled, searching)
    ]
    np.testing.assert_array_equal(*runs)
    # Pickles (joblib, GridSearchCV's workers) carry the table.
    import pickle

    np.testing.assert_array_equal(pickle.loads(pickle.dumps(tabled)).neighbour_table,
                                  tabled.neighbour_table)


def test_the_table_is_read_not_searched_and_only_up_to_its_width(clusters):
    X, _, cluster = clusters
    tabled = VectorIndex.build(X)
    # Each row's "neighbours" here are the next three rows: lists no search would find.
    tabled.neighbour_table = ((np.arange(1000)[:, None] + np.arange(1, 4)) % 1000).astype(np.int32)
    found = tabled.neighbours_of([998, 10], X, 2)
    np.testing.assert_array_equal(found[998], [999, 0])
    np.testing.assert_array_equal(found[10], [11, 12])
    # Wider than the table: searched (row 10 first among its own neighbours).
    wide = tabled.neighbours_of([10], X, 5)[10]
    assert wide[0] == 10 and (cluster[wide] == cluster[10]).all()


def test_a_damaged_or_foreign_table_is_refused_with_what_to_do(clusters, tmp_path):
    X, _, _ = clusters
    path = tmp_path / "pool.faiss"
    index = VectorIndex.build(X, path=path)
    with pytest.raises(InvalidInputError, match="needs k >= 1 neighbours per row, got 0"):
        index.build_neighbour_table(X, 0)
    table = VectorIndex.table_path(path)
    table.write_bytes(b"not an array")
    with pytest.raises(InvalidInputError) as unreadable:
        VectorIndex.open(path)
    assert re.fullmatch(
        re.escape(f"the neighbour table {str(table)!r} cannot be read (") + r".+"
        + re.escape("); delete it and build it again with VectorIndex.build_neighbour_table."),
        str(unreadable.value),
    )
    np.save(table, np.zeros((999, 4), dtype=np.int32))
    with pytest.raises(InvalidInputError) as foreign:
        VectorIndex.open(path)
    assert str(foreign.value) == (
        f"the neighbour table {str(table)!r} holds an array of shape (999, 4) and dtype int32, "
        "not 1000 rows of neighbour ids; delete it and build it again with "
        "VectorIndex.build_neighbour_table."
    )
    np.save(table, np.zeros((1000, 4), dtype=np.float32))
    with pytest.raises(InvalidInputError, match="dtype float32, not 1000 rows of neighbour ids"):
        VectorIndex.open(path)
    assert VectorIndex.open(path, neighbour_table=False).neighbour_table is None


class RowByRowMargin(MarginSampling):
    """Margin sampling scored through the pool mask (not SEALS' block of gathered candidates)."""

    parallel_chunks = False


@pytest.mark.parametrize("random_tie_break", [False, True])
def test_seals_block_of_candidates_picks_as_scoring_them_in_the_pool(clusters, random_tie_break):
    X, y, cluster = clusters
    # Every row twice: exact ties everywhere, broken by tie key and row number alike.
    X2, y2 = np.repeat(X, 2, axis=0), np.repeat(y, 2)
    index = VectorIndex.build(X2)
    runs = [
        PRepALLearner(query_strategy=SEALS(base(random_tie_break=random_tie_break),
                                           n_neighbors=15, index=index),
                      batch_size=10, initial_size=10, budget=70, random_state=0).fit(X2, y2)
        for base in (MarginSampling, RowByRowMargin)
    ]
    np.testing.assert_array_equal(runs[0].labeled_indices_, runs[1].labeled_indices_)
    # The same index on other vectors of the same shape: the kept block is not reused.
    shuffled = X2[np.random.RandomState(1).permutation(len(X2))]
    again = [
        PRepALLearner(query_strategy=SEALS(base(), n_neighbors=15, index=index), batch_size=10,
                      initial_size=10, budget=40, random_state=0).fit(shuffled, y2)
        for base in (MarginSampling, RowByRowMargin)
    ]
    np.testing.assert_array_equal(again[0].labeled_indices_, again[1].labeled_indices_)


def test_seals_keeps_its_block_of_candidates_over_many_rounds(clusters):
    X, y, _ = clusters
    index = VectorIndex.build(X)
    # 30 rounds: the block holds a piece per round, and is checked against the pool every round.
    runs = [
        PRepALLearner(query_strategy=SEALS(base(), n_neighbors=10, index=index), batch_size=2,
                      initial_size=10, budget=70, random_state=0).fit(X, y)
        for base in (MarginSampling, RowByRowMargin)
    ]
    assert runs[0].labeled_indices_.shape == (70,)
    np.testing.assert_array_equal(runs[0].labeled_indices_, runs[1].labeled_indices_)


def test_a_table_kept_in_memory_its_progress_bar_and_pickles_with_and_without_it(
    clusters, capsys
):
    import pickle

    X, _, _ = clusters
    index = VectorIndex.build(X, exact_below=1)
    assert repr(index) == "VectorIndex(IndexHNSWFlat, n_rows=1000)"
    restored = pickle.loads(pickle.dumps(index))
    assert restored.neighbour_table is None
    np.testing.assert_array_equal(restored.search(X[:3], 4)[0], index.search(X[:3], 4)[0])
    table = index.build_neighbour_table(X, 1)  # k = 1: each row's own nearest, itself
    assert table.dtype == np.int32 and table.shape == (1000, 1)
    np.testing.assert_array_equal(table[:, 0], np.arange(1000))
    assert capsys.readouterr().err == ""  # no progress bar unless asked
    index.build_neighbour_table(X, 2, progress=True)
    bar = capsys.readouterr().err
    assert re.search(r"(^|\r)neighbour table: 100%", bar) and "chunk/s" in bar
    assert repr(index) == "VectorIndex(IndexHNSWFlat, n_rows=1000, neighbours=2)"
    restored = pickle.loads(pickle.dumps(index))
    np.testing.assert_array_equal(restored.neighbour_table, index.neighbour_table)
    np.testing.assert_array_equal(restored.search(X[:3], 4)[0], index.search(X[:3], 4)[0])


def test_a_table_as_wide_as_asked_is_read_and_seals_uses_the_index_it_is_given(clusters):
    X, y, _ = clusters
    tabled = VectorIndex.build(X)
    # The "neighbours" of each row are the next three rows: lists no search would find.
    tabled.neighbour_table = ((np.arange(1000)[:, None] + np.arange(1, 4)) % 1000).astype(np.int32)
    np.testing.assert_array_equal(tabled.neighbours_of([5], X, 3)[5], [6, 7, 8])
    # SEALS reads the candidates from that index, not from one of its own: labeled row 100's
    # subpool is rows 101-103 (a search would give row 100's cluster).
    picks = SEALS("random", n_neighbors=3, index=tabled).select_rows(
        None, X, np.r_[np.ones(100, bool), False, np.ones(899, bool)], 3,
        labeled_indices=np.array([100]), random_state=0)
    assert sorted(picks.tolist()) == [101, 102, 103]
    # So does a scoring base strategy, which SEALS scores on its kept block of candidates.
    head = LogisticRegression().fit(X[:100], y[:100])
    picks = SEALS("margin", n_neighbors=3, index=tabled).select_rows(
        head, X, np.r_[np.ones(100, bool), False, np.ones(899, bool)], 3,
        labeled_indices=np.array([100]), random_state=0)
    assert sorted(picks.tolist()) == [101, 102, 103]


def test_a_table_filled_with_minus_one_keeps_every_real_neighbour_row_0_included():
    X = np.random.RandomState(0).normal(size=(5, 3)).astype(np.float32)
    index = VectorIndex.build(X)
    # An approximate index finds fewer than k neighbours for some rows and fills with -1.
    index.neighbour_table = np.array(
        [[0, 4, -1], [1, 0, 2], [2, -1, -1], [3, 0, 4], [4, 3, 0]], dtype=np.int32)
    found = index.neighbours_of(np.arange(5), X, 3)
    assert [found[r].tolist() for r in range(5)] == [[0, 4], [1, 0, 2], [2], [3, 0, 4], [4, 3, 0]]


# --- Base strategies that show what SEALS and AnchorAL hand them ---------------------------------


def _recording_base(dtype=np.intp):
    """A base strategy taking the first ``n`` rows of its mask, and the list of its calls.

    Each call is recorded as ``(rows of the mask, n, context)``; the rows it returns have the
    given integer type. (A class per test: clone() makes new objects, the list stays shared.)
    """
    calls = []

    class FirstRows(QueryStrategy):
        def select(self, estimator, X_pool, n, **context):
            return np.arange(n)

        def select_rows(self, estimator, X, pool_mask, n, **context):
            calls.append((np.flatnonzero(pool_mask), n, context))
            return np.flatnonzero(pool_mask)[:n].astype(dtype)

    return FirstRows(), calls


def _next_rows_index(X):
    """An index over ``X`` whose neighbour table lists, for each row, the next three rows."""
    index = VectorIndex.build(X)
    index.neighbour_table = ((np.arange(len(X))[:, None] + np.arange(1, 4)) % len(X)).astype(
        np.int32)
    return index


def test_seals_asks_its_base_once_when_the_subpool_has_enough_rows(clusters):
    X, _, _ = clusters
    index = _next_rows_index(X)
    pool = np.ones(len(X), bool)
    pool[100] = False
    # Labeled row 100: the subpool is rows 101-103. Asked for 2 or 3 rows, the base is not also
    # asked for none of the rest of the pool (a pass over the pool for nothing).
    for n in (2, 3):
        base, calls = _recording_base()
        picks = SEALS(base, n_neighbors=3, index=index).select_rows(
            None, X, pool, n, labeled_indices=np.array([100]), random_state=0)
        assert picks.tolist() == [101, 102, 103][:n]
        assert len(calls) == 1 and calls[0][0].tolist() == [101, 102, 103] and calls[0][1] == n
    # A subpool that is the whole pool, smaller than asked: nothing is left to top up from.
    only = np.zeros(len(X), bool)
    only[[101, 102, 103]] = True
    base, calls = _recording_base()
    picks = SEALS(base, n_neighbors=3, index=index).select_rows(
        None, X, only, 5, labeled_indices=np.array([100]), random_state=0)
    assert picks.tolist() == [101, 102, 103] and len(calls) == 1


def test_seals_tops_up_from_the_rest_of_the_pool_with_the_learners_context(clusters):
    X, _, _ = clusters
    pool = np.ones(len(X), bool)
    pool[[100, 500, 501]] = False  # labeled, and two skipped rows
    base, calls = _recording_base()
    context = {"labeled_indices": np.array([100]), "random_state": 7}
    picks = SEALS(base, n_neighbors=3, index=_next_rows_index(X)).select_rows(
        None, X, pool, 5, **context)
    assert picks.tolist() == [101, 102, 103, 0, 1]
    (subpool, n_sub, _), (rest, n_rest, rest_context) = calls
    assert subpool.tolist() == [101, 102, 103] and n_sub == 5
    # The rest: pool rows outside the subpool only (not the labeled or skipped rows).
    expected = pool.copy()
    expected[[101, 102, 103]] = False
    np.testing.assert_array_equal(rest, np.flatnonzero(expected))
    assert n_rest == 2 and rest_context == context
    # A cold start (no labeled row yet) also hands the base the context.
    base, calls = _recording_base()
    cold = {"labeled_indices": np.array([], dtype=int), "random_state": 7}
    SEALS(base, index=_next_rows_index(X)).select_rows(None, X, pool, 3, **cold)
    assert len(calls) == 1 and calls[0][2] == cold and calls[0][0].size == pool.sum()


def test_seals_returns_intp_rows_whatever_integers_its_base_returns(clusters):
    X, _, _ = clusters
    index = _next_rows_index(X)
    pool = np.ones(len(X), bool)
    pool[100] = False
    base, _ = _recording_base(np.uint64)
    strategy = SEALS(base, n_neighbors=3, index=index)
    # From the subpool alone, and topped up from the pool (intp and uint64 make float64).
    for n, expected in ((3, [101, 102, 103]), (5, [101, 102, 103, 0, 1])):
        picks = strategy.select_rows(None, X, pool, n, labeled_indices=np.array([100]))
        assert picks.dtype == np.intp and picks.tolist() == expected


# Two tight groups of rows, A around e1 and B around e2, and four rows around e3. Offsets from
# each group's first row (the anchors, rows 1 and 4) set the order of similarity: row 0 nearest
# to row 1, then 2, then 3; row 5 nearest to row 4. Row 2 is nearer row 1 than row 5 is row 4.
_GROUPS = np.array([
    [1, 0.01, 0], [1, 0, 0], [1, 0, 0.03], [1, 0.06, 0],  # A: rows 0-3, anchor row 1
    [0, 1, 0], [0.05, 1, 0], [0, 1, 0.08], [0, 1, 0.1],  # B: rows 4-7, anchor row 4
    [0, 0, 1], [0.01, 0, 1], [0, 0.02, 1], [0.03, 0, 1],  # C: rows 8-11
], dtype=np.float32)


def _anchoral_subpool(labeled, seed=0, index=None, **params):
    """The rows AnchorAL hands its base, all labeled rows of one class; its picks are those."""
    base, calls = _recording_base()
    pool = np.ones(len(_GROUPS), bool)
    pool[labeled] = False
    AnchorAL(base, index=index, **params).select_rows(
        None, _GROUPS, pool, 1, labeled_indices=np.asarray(labeled),
        y_labeled=np.zeros(len(labeled), int), random_state=seed)
    return calls[0][0].tolist()


def test_anchoral_keeps_the_rows_most_similar_to_its_anchor_row_0_included():
    # One anchor, a share of one row: its nearest neighbour besides itself, which is row 0.
    assert _anchoral_subpool([1], n_anchors=1, subpool_size=1) == [0]
    # A share of two: the two most similar (0 and 2), not the least similar of those retrieved.
    assert _anchoral_subpool([1], n_anchors=1, subpool_size=2) == [0, 2]


def test_anchoral_retrieves_twice_each_anchors_share_so_every_anchor_contributes():
    # Two anchors sharing 2 (or 3) rows: each retrieves 2 x (share // 2) = 2 neighbours, itself
    # included, so each gives its nearest, though row 2 is nearer row 1 than row 5 is row 4.
    for subpool_size in (2, 3):
        for seed in range(8):  # every seed: the two anchors are drawn without replacement
            assert _anchoral_subpool([1, 4], seed, n_anchors=2, subpool_size=subpool_size) == [
                0, 5]


def test_anchoral_searches_the_index_it_is_given():
    # An index over the rows in reverse order: its row j is row 11 - j of the pool, so the
    # anchor (row 1)'s nearest rows there are numbers 10 (itself) and 11, both pool rows here.
    reversed_index = VectorIndex.build(_GROUPS[::-1])
    assert _anchoral_subpool([1], n_anchors=1, subpool_size=1, index=reversed_index) == [10]
    strategy = AnchorAL(index=reversed_index)
    assert strategy.index is reversed_index and clone(strategy).index is reversed_index


def _counting(monkeypatch, name):
    """Count the calls of the classmethod ``VectorIndex.<name>`` (builds, or opens)."""
    calls = []
    real = getattr(VectorIndex, name)

    def counted(cls, *args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(VectorIndex, name, classmethod(counted))
    return calls


def _seals_subpool(X, labeled, index):
    """The subpool SEALS (3 neighbours per labeled row) hands its base."""
    base, calls = _recording_base()
    pool = np.ones(len(X), bool)
    pool[labeled] = False
    SEALS(base, n_neighbors=3, index=index).select_rows(
        None, X, pool, 1, labeled_indices=np.asarray(labeled), random_state=0)
    return calls[0][0].tolist()


def test_an_index_given_by_path_is_opened_once_and_read_with_its_table(
    clusters, tmp_path, monkeypatch
):
    X, _, _ = clusters
    # Two saved indexes, the same size and time, whose tables list the next (previous) rows:
    # lists no search would find, so each path's own index is recognisable.
    paths = [tmp_path / "next.faiss", tmp_path / "previous.faiss"]
    for path, step in zip(paths, (1, -1), strict=True):
        VectorIndex.build(X, path=path)
        table = (np.arange(1000)[:, None] + step * np.arange(1, 4)) % 1000
        np.save(VectorIndex.table_path(path), table.astype(np.int32))
    stat = paths[0].stat()
    os.utime(paths[1], ns=(stat.st_atime_ns, stat.st_mtime_ns))
    opened = _counting(monkeypatch, "open")
    for _ in range(2):  # a str, then a path-like: the same file, opened once
        assert _seals_subpool(X, [100], str(paths[0])) == [101, 102, 103]
        assert _seals_subpool(X, [100], paths[0]) == [101, 102, 103]
        assert _seals_subpool(X, [100], paths[1]) == [97, 98, 99]
    assert len(opened) == 2
    with pytest.raises(FileNotFoundError, match="^no vector index at .*none.faiss'; build one"):
        _seals_subpool(X, [100], tmp_path / "none.faiss")


def test_pools_without_an_index_get_one_each_built_once_for_the_last_four(monkeypatch):
    rng = np.random.RandomState(0)
    # Five pools alive at once (different memory), the same shape and type.
    pools = [rng.normal(size=(37, 5)).astype(np.float32) for _ in range(5)]
    built = _counting(monkeypatch, "build")
    for i in (0, 1, 2, 3, 0):  # pool 0 again: one of the last four, not built again
        # Each pool's own neighbours: row 0's subpool is rows of that pool near its row 0.
        nearest = VectorIndex.build(pools[i]).search(pools[i][:1], 3)[0][0, 1:]
        del built[-1]  # (that reference build is not the strategy's)
        assert sorted(_seals_subpool(pools[i], [0], None)) == sorted(nearest.tolist())
    assert len(built) == 4
    _seals_subpool(pools[4], [0], None)  # a fifth: the least recently used (pool 1) goes
    _seals_subpool(pools[0], [0], None)
    assert len(built) == 5
    _seals_subpool(pools[1], [0], None)
    assert len(built) == 6


def test_seals_scoring_its_kept_block_builds_no_index_besides_the_one_given(monkeypatch):
    # A pool of a shape no other test uses: no index of another pool at its memory is remembered.
    X = np.random.RandomState(1).normal(size=(41, 6)).astype(np.float32)
    index = _next_rows_index(X)
    head = LogisticRegression().fit(X, np.arange(41) % 2)
    built = _counting(monkeypatch, "build")
    picks = SEALS("margin", n_neighbors=3, index=index).select_rows(
        head, X, np.arange(41) != 10, 3, labeled_indices=np.array([10]), random_state=0)
    assert sorted(picks.tolist()) == [11, 12, 13] and built == []


def test_a_pool_allocated_where_a_freed_one_was_gets_an_index_of_its_own():
    import gc

    rng = np.random.RandomState(0)
    labeled = np.array([0, 1])
    pool = np.ones(3000, dtype=bool)
    pool[labeled] = False
    seals = SEALS("random", n_neighbors=5)
    for _ in range(3):
        # The same shape each time: the new pool often lands at the freed pool's address.
        # A view of a wider array: the index belongs to the array that owns the memory.
        X = rng.normal(size=(3000, 9)).astype(np.float32)[:, :8]
        picks = seals.select_rows(None, X, pool, 8, labeled_indices=labeled, random_state=0)
        given = SEALS("random", n_neighbors=5, index=VectorIndex.build(X)).select_rows(
            None, X, pool, 8, labeled_indices=labeled, random_state=0)
        np.testing.assert_array_equal(picks, given)
        del X
        gc.collect()
