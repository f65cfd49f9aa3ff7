"""Cluster-Margin, class-balanced margin, TypiClust and the cold-start switch: known picks.

Each case is built so that the right answer is clear; the contract (distinct picks, seeds,
chunking, the learner) is checked for every registered strategy in ``test_contract.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from skprepal import PRepALLearner
from skprepal.strategies import (
    ClassBalancedMargin,
    ClusterMargin,
    ColdStartSwitch,
    MarginSampling,
    TypiClust,
    _base,
    check_strategy,
    resolve_strategy,
)

# -- helpers -------------------------------------------------------------------------------------


class FixedProba:
    """A 'fitted head' whose predict_proba returns given rows, looked up by the row's first value.

    Column 0 of every row of X holds its row id (times 1e-6, see :func:`with_ids`), so the
    probabilities follow the rows through chunking and pool masks.
    """

    def __init__(self, proba):
        self.proba = np.asarray(proba, dtype=float)
        self.classes_ = np.arange(self.proba.shape[1])

    def predict_proba(self, X):
        return self.proba[np.rint(np.asarray(X)[:, 0] * 1e6).astype(int)]


def with_ids(X):
    """Prepend the row id as column 0 (read by FixedProba), too small to move any distance."""
    X = np.asarray(X, dtype=float)
    return np.column_stack([1e-6 * np.arange(X.shape[0]), X])


def groups(sizes, spread=0.01, gap=10.0, seed=0):
    """Tight groups of the given sizes along the diagonal, far apart; returns X and group ids."""
    rng = np.random.RandomState(seed)
    g = np.repeat(np.arange(len(sizes)), sizes)
    X = gap * np.column_stack([g, g]).astype(float) + spread * rng.normal(size=(g.shape[0], 2))
    return X, g


class RowsOnly:
    """A pool that hands out rows on request and records how many each request copied.

    ``np.asarray`` on it fails: a strategy that reads the whole pool at once is caught.
    """

    def __init__(self, X):
        self._X = np.asarray(X)
        self.shape, self.dtype, self.reads = self._X.shape, self._X.dtype, []

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        out = self._X[key]
        self.reads.append(out.shape[0] if out.ndim else 1)
        return out

    def __array__(self, *args, **kwargs):
        raise AssertionError("the whole pool was converted to an array")


# -- Cluster-Margin ------------------------------------------------------------------------------


def test_cluster_margin_takes_one_row_per_group_of_uncertain_rows():
    # Groups of 6, 4 and 2 uncertain rows, and 8 confident rows in a fourth group.
    X, g = groups([6, 4, 2, 8])
    proba = np.where(g[:, None] < 3, [0.5, 0.5], [0.99, 0.01])
    picks = ClusterMargin(candidate_factor=4)(FixedProba(proba), with_ids(X), 3, random_state=0)
    assert sorted(g[picks].tolist()) == [0, 1, 2]


def test_cluster_margin_goes_round_robin_smallest_cluster_first():
    X, g = groups([6, 4, 2])
    head = FixedProba(np.full((12, 2), 0.5))
    picks = ClusterMargin(candidate_factor=3, n_clusters=3)(head, with_ids(X), 5, random_state=0)
    # First pass: the 2-group, the 4-group, the 6-group; second pass: the 2- and 4-groups.
    assert g[picks].tolist() == [2, 1, 0, 2, 1]


def test_cluster_margin_candidates_are_the_lowest_margins():
    # 30 confident rows spread everywhere, 10 uncertain ones: only uncertain rows are picked.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    proba = np.tile([0.95, 0.05], (40, 1))
    proba[::4] = [0.52, 0.48]
    picks = ClusterMargin(candidate_factor=1.5)(FixedProba(proba), with_ids(X), 6, random_state=1)
    assert set(picks.tolist()) <= set(range(0, 40, 4))


def test_cluster_margin_with_factor_one_is_margin_sampling():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    head = LogisticRegression().fit(X, (X[:, 0] + X[:, 1] > 0).astype(int))
    ours = ClusterMargin(candidate_factor=1)(head, X, 8, random_state=0)
    assert sorted(ours.tolist()) == sorted(MarginSampling()(head, X, 8).tolist())


# -- class-balanced margin -----------------------------------------------------------------------


def _three_predicted_classes():
    """100 rows predicted 0 (all close calls), 5 predicted 1 and 5 predicted 2 (confident)."""
    proba = np.zeros((110, 3))
    proba[:100] = [0.5, 0.45, 0.05]
    proba[:100, 0] += np.linspace(0, 0.04, 100)  # row 0 the closest call, row 99 the least
    proba[:100, 1] = 0.95 - proba[:100, 0]
    proba[100:105] = [0.05, 0.9, 0.05]
    proba[105:110] = [0.05, 0.05, 0.9]
    proba[102] = [0.1, 0.8, 0.1]  # the least sure of the class-1 rows
    proba[107] = [0.1, 0.1, 0.8]  # and of the class-2 rows
    return FixedProba(proba), with_ids(np.zeros((110, 1)))


def test_class_balanced_margin_gives_rare_predicted_classes_their_share():
    head, X = _three_predicted_classes()
    plain = MarginSampling()(head, X, 6)
    assert (plain < 100).all()  # margin spends the whole batch on class 0
    picks = ClassBalancedMargin()(head, X, 6)
    predicted = head.predict_proba(X[picks]).argmax(axis=1)
    assert np.bincount(predicted, minlength=3).tolist() == [2, 2, 2]
    # Within each class, the closest calls: rows 0 and 1, 102 and 107 first.
    assert {0, 1, 102, 107} <= set(picks.tolist())


def test_class_balanced_margin_passes_on_a_share_a_class_cannot_fill():
    head, X = _three_predicted_classes()
    pool = np.ones(110, dtype=bool)
    pool[[100, 101, 103, 104]] = False  # only row 102 is left of class 1
    rows = ClassBalancedMargin().select_rows(head, X, pool, 9)
    predicted = head.predict_proba(X[rows]).argmax(axis=1)
    assert np.bincount(predicted, minlength=3).tolist() == [4, 1, 4]


def test_class_balanced_margin_gives_uneven_slots_to_the_classes_with_fewest_labels():
    head, X = _three_predicted_classes()
    # Class 2 holds fewer labels than class 0, which holds fewer than class 1.
    y_labeled = np.array([0, 0, 1, 1, 1, 2])
    picks = ClassBalancedMargin()(head, X, 5, y_labeled=y_labeled)
    predicted = head.predict_proba(X[picks]).argmax(axis=1)
    assert np.bincount(predicted, minlength=3).tolist() == [2, 1, 2]


def test_class_balanced_margin_does_not_depend_on_the_chunking():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 5))
    y = rng.randint(4, size=300)
    head = LogisticRegression().fit(X[:60], y[:60])
    pool = np.ones(300, dtype=bool)
    pool[:60] = False
    strategy = ClassBalancedMargin(random_tie_break=True)
    whole = strategy.select_rows(head, X, pool, 13, random_state=np.random.RandomState(4))
    chunked = strategy.select_rows(
        head, X, pool, 13, chunk_rows=7, random_state=np.random.RandomState(4)
    )
    np.testing.assert_array_equal(whole, chunked)


# -- TypiClust -----------------------------------------------------------------------------------

OFFSETS = np.array([-2.0, -1.0, -0.5, -0.2, 0.0, 0.2, 0.5, 1.0, 2.0])  # densest at 0 (index 4)


def lines(n_groups, repeat=1, gap=50.0):
    """Groups of points on a line, each densest at its middle (rows 4, 13, 22, ...)."""
    offsets = np.tile(OFFSETS, repeat)
    xs = np.concatenate([offsets + gap * k for k in range(n_groups)])
    return np.column_stack([xs, np.zeros_like(xs)])


def test_typiclust_picks_the_middle_of_every_cluster():
    X = lines(3)
    picks = TypiClust()(None, X, 3, random_state=0)
    assert sorted(picks.tolist()) == [4, 13, 22]


def test_typiclust_skips_clusters_that_hold_a_label():
    X = lines(2)
    picks = TypiClust()(None, X, 1, X_labeled=np.array([[0.1, 0.0]]), random_state=0)
    assert picks.tolist() == [13]  # the group around 50, the one without a label


def test_typiclust_takes_the_largest_uncovered_cluster_first():
    # Groups of 27 (around 0), 18 (around 50) and 9 (around 100) rows; a label in the first.
    X = np.concatenate([lines(1, repeat=3), lines(1, repeat=2) + [50, 0], lines(1) + [100, 0]])
    picks = TypiClust()(None, X, 2, X_labeled=np.array([[0.0, 0.0]]), random_state=0)
    assert np.rint(X[picks, 0] / 50).tolist() == [1, 2]  # near 50 first, then near 100


def test_typiclust_visits_outlier_clusters_last():
    # A region of 18 rows and an outlier pair far away: three picks all come from the region.
    X = np.concatenate([lines(1, repeat=2), [[500.0, 0.0], [500.1, 0.0]]])
    picks = TypiClust()(None, X, 3, random_state=0)
    assert (X[picks, 0] < 100).all()
    assert TypiClust(min_cluster_size=0)(None, X, 2, random_state=0).max() >= 18


def test_typiclust_ignores_the_head():
    X = lines(3)
    head = LogisticRegression().fit(X, np.repeat([0, 1, 2], 9))
    np.testing.assert_array_equal(
        TypiClust()(head, X, 3, random_state=0), TypiClust()(None, X, 3, random_state=0)
    )


def test_typiclust_fits_on_a_sample_of_a_large_pool():
    X = lines(4, repeat=20)  # 720 rows
    pool = np.ones(X.shape[0], dtype=bool)
    pool[::3] = False
    rows = TypiClust(sample_size=100).select_rows(None, X, pool, 4, random_state=0)
    assert pool[rows].all() and np.unique(rows).size == 4
    assert sorted(np.rint(X[rows, 0] / 50).tolist()) == [0, 1, 2, 3]  # one per group


# -- the cold-start switch -------------------------------------------------------------------


def lowest_rows(estimator, X_pool, n, **context):
    return np.arange(n)


def highest_rows(estimator, X_pool, n, **context):
    return np.arange(len(X_pool) - n, len(X_pool))[::-1]


def test_switch_hands_over_at_switch_at_labels_within_a_batch():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    learner = PRepALLearner(
        query_strategy=ColdStartSwitch(cold=lowest_rows, warm=highest_rows, switch_at=60),
        initial_strategy=lowest_rows,
        initial_size=50,
        batch_size=20,
        budget=90,
        random_state=0,
    ).fit(X, y)
    order = learner.labeled_indices_
    # 50 initial + 10 cold: the 60 lowest rows; then 30 warm: the highest rows.
    assert sorted(order[:60].tolist()) == list(range(60))
    assert sorted(order[60:].tolist()) == list(range(170, 200))


def test_switch_without_a_head_uses_cold_only():
    X = np.arange(20.0).reshape(10, 2)
    switch = ColdStartSwitch(cold=lowest_rows, warm=highest_rows, switch_at=0)
    assert switch(None, X, 3).tolist() == [0, 1, 2]
    head = object()
    assert switch(head, X, 3).tolist() == [9, 8, 7]


def test_switch_counts_labels_from_labeled_indices_or_x_labeled():
    X = np.arange(20.0).reshape(10, 2)
    # No labels in the context: none held, so one cold row before switch_at=1.
    one = ColdStartSwitch(cold=lowest_rows, warm=highest_rows, switch_at=1)
    assert one(object(), X, 3).tolist() == [0, 9, 8]
    switch = ColdStartSwitch(cold=lowest_rows, warm=highest_rows, switch_at=5)
    head = object()
    assert switch(head, X, 3, labeled_indices=np.arange(4)).tolist() == [0, 9, 8]
    assert switch(head, X, 3, X_labeled=np.zeros((5, 2))).tolist() == [9, 8, 7]


def test_switch_parameters_nest_and_resolve_by_name():
    switch = ColdStartSwitch(warm=MarginSampling(random_tie_break=True), switch_at=100)
    params = switch.get_params(deep=True)
    assert params["warm__random_tie_break"] is True and params["switch_at"] == 100
    twin = clone(switch).set_params(warm__random_tie_break=False)
    assert twin.warm.random_tie_break is False and switch.warm.random_tie_break is True
    assert isinstance(resolve_strategy("typiclust_margin"), ColdStartSwitch)
    check_strategy(ColdStartSwitch(cold="typiclust", warm="cluster_margin", switch_at=70))


# -- memory-mapped pools -----------------------------------------------------------------------

STRATEGIES = [
    ClusterMargin(),
    ClassBalancedMargin(),
    TypiClust(sample_size=300),
    ColdStartSwitch(cold=TypiClust(sample_size=300), warm="margin", switch_at=90),
]


def _pool_problem():
    rng = np.random.RandomState(0)
    centres = rng.normal(size=(5, 8)) * 3
    y = rng.choice(5, size=2000, p=[0.5, 0.3, 0.1, 0.07, 0.03])
    X = (centres[y] + rng.normal(size=(2000, 8))).astype(np.float32)
    labeled = np.r_[[np.flatnonzero(y == c)[0] for c in range(5)], np.arange(5, 80)]
    labeled = np.unique(labeled)
    head = LogisticRegression(max_iter=500).fit(X[labeled], y[labeled])
    pool = np.ones(2000, dtype=bool)
    pool[labeled] = False
    context = {"X_labeled": X[labeled], "y_labeled": y[labeled], "classes": head.classes_,
               "labeled_indices": labeled}
    return X, y, head, pool, context


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: type(s).__name__)
def test_reads_the_pool_in_bounded_pieces(strategy, monkeypatch):
    monkeypatch.setattr(_base, "SCORE_CHUNK_BYTES", 1)  # chunks of 256 rows, the floor
    X, _, head, pool, context = _pool_problem()
    rows_only = RowsOnly(X)
    picks = strategy.select_rows(
        head, rows_only, pool, 20, random_state=np.random.RandomState(0), **context
    )
    assert pool[picks].all() and np.unique(picks).size == 20
    assert max(rows_only.reads) <= 300, f"read {max(rows_only.reads)} rows at once"
    same = strategy.select_rows(head, X, pool, 20, random_state=np.random.RandomState(0), **context)
    np.testing.assert_array_equal(picks, same)


def test_scattered_pool_rows_are_gathered_into_full_copies_of_chunk_rows_rows():
    X, _, head, _, _ = _pool_problem()
    # One pool row in ten: every chunk of 50 rows holds 5, too few to score it as a view.
    pool = np.zeros(2000, dtype=bool)
    pool[::10] = True
    rows_only = RowsOnly(X)
    picks = MarginSampling().select_rows(head, rows_only, pool, 20, chunk_rows=50)
    # The 200 candidates are read in 4 copies of 50 rows: never more rows at once than a chunk,
    # and no more calls of the head than that allows.
    assert rows_only.reads == [50, 50, 50, 50]
    np.testing.assert_array_equal(picks, MarginSampling().select_rows(head, X, pool, 20))
    assert pool[picks].all() and np.unique(picks).size == 20


def test_seals_given_an_index_reads_only_rows_of_the_pool_and_builds_no_index_of_its_own():
    from skprepal.strategies import SEALS, VectorIndex

    X, _, head, pool, context = _pool_problem()
    strategy = SEALS("margin", n_neighbors=10, index=VectorIndex.build(X))
    # A pool that is not an array in memory: only the index given can say who neighbours whom.
    rows_only = RowsOnly(X)
    picks = strategy.select_rows(head, rows_only, pool, 20, **context)
    assert pool[picks].all() and np.unique(picks).size == 20
    np.testing.assert_array_equal(picks, strategy.select_rows(head, X, pool, 20, **context))


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: type(s).__name__)
def test_drives_the_learner_on_a_read_only_memmap(strategy, tmp_path):
    X, y, *_ = _pool_problem()
    path = tmp_path / "pool.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=X.dtype, shape=X.shape)
    out[:] = X
    out.flush()
    del out
    pool = np.load(path, mmap_mode="r")
    kwargs = {"initial_size": 50, "batch_size": 25, "budget": 150, "random_state": 0}
    on_disk = PRepALLearner(query_strategy=strategy, **kwargs).fit(pool, y)
    in_memory = PRepALLearner(query_strategy=strategy, **kwargs).fit(X, y)
    assert np.may_share_memory(on_disk._X, pool)  # the learner kept the mapped file, no copy
    np.testing.assert_array_equal(on_disk.labeled_indices_, in_memory.labeled_indices_)


def test_class_balanced_margin_returns_its_picks_least_sure_first():
    head, X = _three_predicted_classes()
    picks = ClassBalancedMargin()(head, X, 6)
    top2 = np.sort(head.predict_proba(X[picks]), axis=1)[:, -2:]
    uncertainty_of_picks = 1.0 - (top2[:, 1] - top2[:, 0])
    assert (np.diff(uncertainty_of_picks) <= 0).all()
    assert not (np.diff(uncertainty_of_picks) == 0).all()


def test_class_balanced_margin_breaks_ties_with_the_random_state_only_when_asked():
    # 50 rows with the same probabilities: every margin ties.
    head, X = FixedProba(np.tile([0.6, 0.4], (50, 1))), with_ids(np.zeros((50, 1)))
    by_row = ClassBalancedMargin()(head, X, 5, random_state=3)
    assert by_row.tolist() == [0, 1, 2, 3, 4]
    tied = ClassBalancedMargin(random_tie_break=True)
    first = tied(head, X, 5, random_state=np.random.RandomState(3))
    again = tied(head, X, 5, random_state=np.random.RandomState(3))
    other = tied(head, X, 5, random_state=np.random.RandomState(4))
    unseeded = tied(head, X, 5)
    np.testing.assert_array_equal(first, again)
    assert sorted(first.tolist()) != sorted(other.tolist())
    assert sorted(first.tolist()) != [0, 1, 2, 3, 4]
    # Without a random state the draw is still reproducible (seed 0), and still a draw.
    np.testing.assert_array_equal(unseeded, tied(head, X, 5))
    assert sorted(unseeded.tolist()) != [0, 1, 2, 3, 4]


def test_class_balanced_margin_shares_leftover_slots_in_class_order_among_equals():
    # 20 predicted classes, 2 pool rows each; the even classes hold a label, the odd ones none.
    rng = np.random.RandomState(0)
    proba = rng.dirichlet(np.full(20, 0.3), size=40)
    top = proba.argmax(axis=1)
    proba[np.arange(40), top], proba[np.arange(40), np.arange(40) % 20] = (
        proba[np.arange(40), np.arange(40) % 20], proba[np.arange(40), top])
    head, X = FixedProba(proba), with_ids(rng.normal(size=(40, 2)))
    picks = ClassBalancedMargin()(head, X, 5, y_labeled=np.arange(0, 20, 2))
    # Fewest labels first, and among equals the lower class first: classes 1, 3, 5, 7 and 9.
    assert sorted(head.predict_proba(X[picks]).argmax(axis=1).tolist()) == [1, 3, 5, 7, 9]


class NoClasses(FixedProba):
    """A head that predicts probabilities but does not say its classes."""

    def __init__(self, proba):
        super().__init__(proba)
        del self.classes_


def test_class_balanced_margin_counts_a_single_label_and_copes_without_classes():
    head, X = _three_predicted_classes()
    # One label, of class 1: the two slots that do not split evenly go to classes 0 and 2.
    picks = ClassBalancedMargin()(head, X, 5, y_labeled=np.array([1]))
    predicted = head.predict_proba(X[picks]).argmax(axis=1)
    assert np.bincount(predicted, minlength=3).tolist() == [2, 1, 2]
    # Without classes_ no label can be matched to a column: the leftovers go by column order.
    blind = ClassBalancedMargin()(NoClasses(head.proba), X, 5, y_labeled=np.array([0, 0]))
    predicted = head.predict_proba(X[blind]).argmax(axis=1)
    assert np.bincount(predicted, minlength=3).tolist() == [2, 2, 1]


def test_switch_called_directly_hands_seals_a_boolean_pool_and_no_second_pool_indices():
    pytest.importorskip("faiss")
    from skprepal.strategies import SEALS

    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    from skprepal.strategies import VectorIndex

    head = LogisticRegression().fit(X[:20], y[:20])
    index = VectorIndex.build(X)
    switch = ColdStartSwitch(cold=lowest_rows, warm=SEALS("margin", n_neighbors=10, index=index),
                             switch_at=22)
    context = {"labeled_indices": np.arange(20), "y_labeled": y[:20], "random_state": 0}
    candidates = np.concatenate(list(index.neighbours_of(np.arange(20), X, 10).values()))
    for extra in ({}, {"pool_indices": np.arange(300)}):
        picks = switch(head, X, 6, **context, **extra)
        # 2 cold rows (to 22 labels), then 4 from SEALS' neighbours of the labeled rows: the
        # context reaches the warm strategy.
        assert picks[:2].tolist() == [0, 1] and len(set(picks.tolist())) == 6
        assert np.isin(picks[2:], candidates).all()
    # The head reaches the cold strategy too (margin as cold needs it).
    cold_margin = ColdStartSwitch(cold="margin", warm=lowest_rows, switch_at=100)
    np.testing.assert_array_equal(cold_margin(head, X, 5), MarginSampling()(head, X, 5))


def test_switch_n_cold_assumes_a_head_unless_told():
    switch = ColdStartSwitch(switch_at=200)
    assert switch.n_cold(50, n_labeled=180) == 20 and switch.n_cold(50, n_labeled=300) == 0
    assert switch.n_cold(50, n_labeled=300, has_head=False) == 50
