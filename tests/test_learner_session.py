"""PRepALLearner as a labeling session: memory-mapped pools, the label space, the interactive
vocabulary (teach, skip, forget, refit) and queries that depend on the state only."""

from __future__ import annotations

import pickle
import shutil
import tracemalloc
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from skprepal import PRepALLearner
from skprepal.exceptions import InvalidInputError, NotFittedError
from skprepal.stopping import MaxLabels


@pytest.fixture
def blobs():
    X, y = make_blobs(n_samples=600, centers=4, n_features=8, cluster_std=3.0, random_state=0)
    return X.astype(np.float32), y


def _memmap(path, X):
    out = np.lib.format.open_memmap(path, mode="w+", dtype=X.dtype, shape=X.shape)
    out[:] = X
    out.flush()
    del out
    return np.load(path, mmap_mode="r")


def _session(X, y, n_labeled=40, **params):
    partial = np.where(np.arange(len(y)) < n_labeled, y, -1)
    params = {"batch_size": 10, "random_state": 0, **params}
    return PRepALLearner(**params).fit(X, partial)


# -- rows without a copy ------------------------------------------------------------------------


def test_a_read_only_memmap_pool_is_never_copied(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300_000, 64)).astype(np.float32)  # 77 MB
    y = (X[:, 0] > 0).astype(int)
    pool = _memmap(tmp_path / "pool.npy", X)
    del X
    # The first fit imports what fitting and scoring need: its allocations are not the pool's.
    PRepALLearner(batch_size=5, initial_size=5, budget=15, random_state=0).fit(
        np.asarray(pool[:200]), y[:200])
    tracemalloc.start()
    learner = PRepALLearner(batch_size=50, initial_size=50, budget=250, random_state=0)
    learner.fit(pool, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # A copy of the pool alone would be 1.0x; chunked scoring keeps one chunk of it at a time.
    assert peak < 0.5 * pool.nbytes, f"peak {peak / pool.nbytes:.2f}x the pool"
    assert learner.labeled_indices_.size == 250


def test_a_pickle_holds_no_memmap_rows_and_maps_the_file_again(tmp_path):
    X, y = make_blobs(n_samples=5000, centers=4, n_features=64, random_state=0)
    X = X.astype(np.float32)
    pool = _memmap(tmp_path / "pool.npy", X)
    learner = _session(pool, y)
    data = pickle.dumps(learner)
    assert len(data) < X.nbytes / 10  # the labels and masks, not the 1.3 MB of rows
    restored = pickle.loads(data)
    np.testing.assert_array_equal(restored.query(), learner.query())
    # Moved: the reference is gone stale, and attach_pool hands the rows over explicitly.
    shutil.move(tmp_path / "pool.npy", tmp_path / "moved.npy")
    stale = pickle.loads(data)
    with pytest.raises(InvalidInputError, match="attach_pool"):
        stale.query()
    with pytest.raises(InvalidInputError, match="4999 rows but the learner was fit on 5000"):
        stale.attach_pool(np.load(tmp_path / "moved.npy", mmap_mode="r")[:-1])
    stale.attach_pool(np.load(tmp_path / "moved.npy", mmap_mode="r"))
    np.testing.assert_array_equal(stale.query(), learner.query())


@pytest.mark.parametrize(
    "view, rows_on_disk",
    [(lambda a: a[1000:], True), (lambda a: a[::2], False), (lambda a: a.copy(), False)],
    ids=["row-slice", "strided", "copy"],
)
def test_a_pickle_of_a_view_of_a_memmap_restores_the_same_rows(tmp_path, view, rows_on_disk):
    # A slice of rows is mapped again at its own offset in the file; a strided view and a copy
    # (an np.memmap without a file) cannot be, and go into the pickle.
    X, y = make_blobs(n_samples=5000, centers=4, n_features=64, random_state=0)
    pool = view(_memmap(tmp_path / "pool.npy", X.astype(np.float32)))
    learner = _session(pool, view(y))
    data = pickle.dumps(learner)
    assert (len(data) < pool.nbytes / 10) is rows_on_disk
    restored = pickle.loads(data)
    np.testing.assert_array_equal(restored.query(), learner.query())
    np.testing.assert_array_equal(restored.decision_function(pool), learner.decision_function(pool))


def test_an_in_memory_pool_is_pickled_with_the_learner(blobs):
    X, y = blobs
    learner = _session(X, y)
    restored = pickle.loads(pickle.dumps(learner))
    np.testing.assert_array_equal(restored.query(), learner.query())


def test_drop_pool_keeps_what_predict_needs(blobs):
    X, y = blobs
    learner = _session(X, y)
    full = len(pickle.dumps(learner))
    lean = pickle.loads(pickle.dumps(learner.drop_pool()))
    assert len(pickle.dumps(lean)) < full - X.nbytes
    np.testing.assert_array_equal(lean.predict(X), learner.predict(X))
    for call in (lean.query, lambda: lean.teach([50], [0]), lambda: lean.attach_pool(X)):
        with pytest.raises(NotFittedError, match="drop_pool"):
            call()


# -- a fixed label space ---------------------------------------------------------------------


def test_a_simulation_knows_every_label_of_the_oracle(blobs):
    X, y = blobs
    names = np.array(["billing", "login", "refund", "shipping", "rare"], dtype=object)
    labels = names[y]
    labels[-1] = "rare"  # one row only: the budget will most likely never reach it
    learner = PRepALLearner(initial_size=5, batch_size=5, budget=20, random_state=0)
    learner.fit(X, labels)
    assert learner.classes_.tolist() == sorted(names.tolist())
    proba = learner.predict_proba(X)
    assert proba.shape == (600, 5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    unseen = ~np.isin(learner.classes_, learner.y_labeled_)
    assert unseen.any() and (proba[:, unseen] == 0).all()
    picked = learner.classes_[proba.argmax(axis=1)]
    np.testing.assert_array_equal(picked, learner.predict(X))


def test_declared_classes_fix_the_columns_from_the_first_label(blobs):
    X, y = blobs
    learner = PRepALLearner(classes=[3, 2, 1, 0], batch_size=4, random_state=0)
    learner.fit(X, np.full(len(y), -1))
    assert learner.classes_.tolist() == [0, 1, 2, 3]
    rows = learner.query()
    learner.teach(rows[:1], [2])  # one class: a constant head, still four columns
    np.testing.assert_array_equal(learner.predict_proba(X[:2]), [[0, 0, 1, 0]] * 2)
    assert learner.query().shape == (4,)  # one class labeled still queries
    learner.teach(rows[1:2], [0])
    proba = learner.predict_proba(X[:5])
    assert proba.shape == (5, 4) and (proba[:, [1, 3]] == 0).all()


def test_undeclared_classes_are_the_labels_seen_so_far(blobs):
    X, y = blobs
    learner = PRepALLearner(random_state=0).fit(X, np.full(len(y), -1))
    assert learner.classes_.size == 0
    learner.teach([0, 1], ["a", "b"]).teach([2], ["c"])
    assert learner.classes_.tolist() == ["a", "b", "c"]
    assert learner.predict_proba(X[:1]).shape == (1, 3)


@pytest.mark.parametrize(
    "classes, y_labels, message",
    [
        (["spam", "ham"], ["spam", "eggs"], "'eggs', which is not among classes"),
        (["spam", "spam"], ["spam", "spam"], "repeats a label"),
        ([], ["spam", "spam"], "non-empty list"),
    ],
)
def test_bad_declared_classes_are_clear_errors(blobs, classes, y_labels, message):
    X, _ = blobs
    y = np.array([*y_labels, *[None] * (len(X) - 2)], dtype=object)
    with pytest.raises(InvalidInputError, match=message):
        PRepALLearner(classes=classes, missing_label=None).fit(X, y)


def test_a_label_outside_the_declared_classes_is_refused(blobs):
    X, _ = blobs
    learner = PRepALLearner(classes=["billing", "login"], missing_label=None, random_state=0)
    learner.fit(X, np.full(len(X), None, dtype=object))
    with pytest.raises(InvalidInputError, match="'biling' is not among .* Did you mean 'billing'"):
        learner.teach([0], ["biling"])
    assert learner.labeled_indices_.size == 0


# -- the interactive vocabulary ----------------------------------------------------------------


def test_teach_without_refit_shares_one_refit(blobs):
    X, y = blobs
    learner = _session(X, y)
    head, n_records = learner.estimator_, len(learner.history_)
    rows = learner.query(30)
    for part in np.split(rows, 3):
        learner.teach(part, y[part], refit=False)
    assert learner.estimator_ is head and len(learner.history_) == n_records
    assert learner.labeled_indices_.size == 70
    learner.refit()
    assert len(learner.history_) == n_records + 1
    record = learner.history_[-1]
    np.testing.assert_array_equal(record["queried"], rows)
    assert record["n_labeled"] == 70 and record["strategy"] == "class_balanced_margin"
    reference = _session(X, np.where(np.isin(np.arange(len(y)), rows), y, np.where(
        np.arange(len(y)) < 40, y, -1)), n_labeled=len(y))
    np.testing.assert_allclose(learner.predict_proba(X), reference.predict_proba(X), atol=1e-6)


def test_skipped_rows_are_never_asked_again_and_get_no_label(blobs):
    X, y = blobs
    learner = _session(X, y)
    skipped = learner.query(5)
    learner.skip(skipped)
    np.testing.assert_array_equal(learner.skipped_indices_, np.sort(skipped))
    everything = learner.query(len(y))
    assert everything.size == len(y) - 40 - 5 and not np.isin(everything, skipped).any()
    assert not np.isin(skipped, learner.labeled_indices_).any()
    learner.refit()
    np.testing.assert_array_equal(np.sort(learner.history_[-1]["skipped"]), np.sort(skipped))
    with pytest.raises(InvalidInputError, match="row 0 holds a label and cannot be skipped"):
        learner.skip([0])


def test_forget_takes_a_label_or_a_skip_back(blobs):
    X, y = blobs
    learner = _session(X, y)
    rows = learner.query(4)
    learner.teach(rows[:2], y[rows[:2]]).skip(rows[2:])
    learner.forget([rows[0], rows[2]])
    assert rows[0] not in learner.labeled_indices_ and rows[1] in learner.labeled_indices_
    assert learner.skipped_indices_.tolist() == [rows[3]]
    record = learner.history_[-1]
    assert sorted(record["forgotten"].tolist()) == sorted([rows[0], rows[2]])
    assert record["n_labeled"] == 41
    pool = learner.query(len(y))
    assert rows[0] in pool and rows[2] in pool and rows[3] not in pool
    with pytest.raises(InvalidInputError, match="neither a label nor a skip"):
        learner.forget([rows[0]])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda ln: ln.skip([600]), "out of range"),
        (lambda ln: ln.skip([100, 100]), "repeat a row"),
        (lambda ln: ln.skip([5, 100]), "row 5 holds a label"),
        (lambda ln: ln.forget([100]), "neither a label nor a skip"),
        (lambda ln: ln.forget([5, 100]), "neither a label nor a skip"),
        (lambda ln: ln.teach([100, 101], [0, -1]), "missing_label"),
        (lambda ln: ln.teach([100], ["x"]), "same type"),
        (lambda ln: ln.teach([100], [0], refit="yes"), "refit must be True or False"),
    ],
)
def test_a_rejected_call_changes_nothing(blobs, call, message):
    X, y = blobs
    learner = _session(X, y)

    def state():
        return pickle.dumps(
            (learner.labeled_indices_, learner.y_labeled_, learner.skipped_indices_,
             learner.history_, learner.query(7), learner.predict_proba(X[:5]))
        )

    before = state()
    with pytest.raises(InvalidInputError, match=message):
        call(learner)
    assert state() == before


def test_the_next_query_depends_on_the_state_not_on_past_queries(blobs):
    X, y = blobs
    for strategy in ("margin", "random", "kmeans", "bald"):
        busy = _session(X, y, query_strategy=strategy)
        for _ in range(3):
            busy.query()  # asked, never answered
        rows = busy.query()
        busy.teach(rows, y[rows]).skip(busy.query(2))
        # A session rebuilt from the same labels and skips (as a resumed one is) asks the same.
        labeled = np.where(np.isin(np.arange(len(y)), busy.labeled_indices_), y, -1)
        resumed = PRepALLearner(query_strategy=strategy, batch_size=10, random_state=0)
        resumed.fit(X, labeled).skip(busy.skipped_indices_)
        np.testing.assert_array_equal(resumed.query(), busy.query(), err_msg=strategy)


def test_stopping_criteria_are_validated_before_any_work(blobs):
    X, y = blobs
    with pytest.raises(InvalidInputError, match="'max_labels' parameter of MaxLabels"):
        PRepALLearner(stopping=MaxLabels(max_labels=0)).fit(X, y)


def test_many_classes_with_few_labels_do_not_flood_the_output():
    X, y = make_blobs(n_samples=1540, centers=77, n_features=16, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        learner = PRepALLearner(batch_size=50, initial_size=50, budget=150, random_state=0)
        learner.fit(X, y)
    assert not [w for w in caught if "unique classes" in str(w.message)]
    assert learner.classes_.size == 77


# -- labels the user can trust -----------------------------------------------------------------


def _frame_column(values, dtype=None):
    pd = pytest.importorskip("pandas")
    return pd.Series(values, dtype=dtype)


@pytest.mark.parametrize(
    "make_y, missing",
    [
        (lambda: np.array(["spam", "ham", -1, -1], dtype=object), -1),
        (lambda: np.array(["spam", "ham", "-1", "-1"]), -1),  # numpy already made -1 a string
        (lambda: _frame_column(["spam", "ham", None, None]), None),
        (lambda: _frame_column(["spam", "ham", None, None], dtype="string"), None),
        (lambda: _frame_column([1.0, 2.0, None, None]), None),
        (lambda: np.array([1.0, 2.0, np.nan, np.nan]), np.nan),
        (lambda: np.array([1.0, 2.0, -1.0, -1.0]), -1),
        (lambda: np.array([1.0, 2.0, -1.0, -1.0], dtype=np.float32), np.float64(-1.0)),
        (lambda: np.array([1.0, 2.0, -1.0, -1.0]), Decimal(-1)),
        (lambda: np.array([1, 2, -1, -1]), Fraction(-1)),
        (lambda: np.array(["spam", "ham", None, None], dtype=object), np.nan),
    ],
)
def test_missing_label_matches_what_the_user_means(make_y, missing, caplog):
    X = np.random.RandomState(0).normal(size=(4, 3))
    y = make_y()
    with caplog.at_level("INFO", logger="skprepal.learner"):
        learner = PRepALLearner(missing_label=missing, random_state=0).fit(X, y)
    assert learner.labeled_indices_.tolist() == [0, 1]
    assert sorted(learner.query(5).tolist()) == [2, 3]
    assert "interactive session, 2 labeled rows and 2 in the pool" in caplog.text


@pytest.mark.parametrize(
    "y, missing",
    [
        (np.tile([1.0, 2.0], 20), "?"),
        (np.tile([0, 1], 20), None),
        (np.tile([0, 1], 20), "?"),
        (np.tile([0, 1], 20), True),  # True == 1 in Python, but 1 is a class here, not a marker
        (np.tile([0.0, 1.0], 20), True),
        (np.tile([0, 1], 20).astype(object), True),
        (np.tile([False, True], 20), False),
        (np.tile([False, True], 20), 1),
        (np.tile([False, True], 20).astype(object), 1),
    ],
    ids=["float-str", "int-None", "int-str", "int-True", "float-True", "object-int-True",
         "bool-False", "bool-1", "object-bool-1"],
)
def test_numeric_labels_under_a_marker_they_cannot_hold_are_a_simulation(y, missing, caplog):
    X = np.random.RandomState(0).normal(size=(40, 3))
    with caplog.at_level("INFO", logger="skprepal.learner"):
        learner = PRepALLearner(missing_label=missing, initial_size=4, random_state=0).fit(X, y)
    assert f"fit: simulation, y is the oracle (no row holds missing_label={missing!r})" in (
        caplog.text
    )
    assert learner.classes_.tolist() == np.unique(y).tolist()
    assert learner.labeled_indices_.size == 40


@pytest.mark.parametrize(
    "y, missing, message",
    [
        (np.array(["spam", "ham", None], dtype=object), -1, r"y\[2\] is None, but missing_label=-1"),
        (np.array([1.0, np.nan, 2.0]), -1, r"y\[1\] is nan, but missing_label=-1 marks the pool"),
        (np.array([1.0, np.inf, 2.0]), None, r"Input y contains infinity .* y\[1\] is inf; labels must be finite"),
    ],
)
def test_a_marker_that_cannot_be_matched_is_a_clear_error(y, missing, message):
    X = np.random.RandomState(0).normal(size=(3, 3))
    with pytest.raises(InvalidInputError, match=message):
        PRepALLearner(missing_label=missing).fit(X, y)


def test_a_simulation_starts_only_when_no_row_holds_the_marker(caplog):
    X = np.random.RandomState(0).normal(size=(60, 3))
    y = np.array(["spam", "ham"] * 30)
    with caplog.at_level("INFO", logger="skprepal.learner"):
        learner = PRepALLearner(initial_size=10, batch_size=10, budget=20, random_state=0)
        learner.fit(X, y)
    assert learner.stop_reason_ is not None and "fit: simulation" in caplog.text


@pytest.mark.parametrize("row", [0, 1], ids=["relabel", "new row"])
@pytest.mark.parametrize(
    "label, message",
    [(0.5, r"^label 0\.5 is not a class: labels are whole numbers, strings or booleans"),
     ("x", r"mixes labels of different types \(\['int', 'str'\]\); use labels of the same")],
)
def test_a_cold_start_refuses_a_label_unlike_one_taught_without_a_refit(row, label, message):
    """Found by the session state machine: a label taught with refit=False set the type."""
    X = np.random.RandomState(0).normal(size=(30, 4))
    learner = PRepALLearner(random_state=0).fit(X, np.full(30, -1, dtype=object))
    learner.teach([0], [0], refit=False)
    with pytest.raises(InvalidInputError, match=message):
        learner.teach([row], [label])
    assert learner.y_labeled_.tolist() == [0] and learner.labeled_indices_.tolist() == [0]
    learner.teach([1], [1])  # the session goes on
    assert learner.classes_.tolist() == [0, 1]


def test_float_labels_refuse_a_fraction_before_storing_it():
    X = np.random.RandomState(0).normal(size=(30, 4))
    y = np.full(30, np.nan)
    y[:4] = [0.0, 1.0, 0.0, 1.0]
    learner = PRepALLearner(missing_label=np.nan, random_state=0).fit(X, y)
    with pytest.raises(InvalidInputError, match=r"^label 0\.5 is not a class"):
        learner.teach([10], [0.5])
    assert 10 not in learner.labeled_indices_
    learner.teach([10], [1.0])
    assert learner.y_labeled_[-1] == 1.0


@pytest.mark.parametrize("strategy", ["bald", "cal", "class_balanced_margin"])
def test_strategies_get_the_labels_in_the_type_the_head_was_fit_on(strategy):
    """Found by the session state machine: a cold start held its labels as objects, and BALD's
    bootstrap committee, fit on them, failed with scikit-learn's 'Unknown label type'."""
    X = np.random.RandomState(0).normal(size=(40, 4))
    learner = PRepALLearner(query_strategy=strategy, random_state=0).fit(
        X, np.full(40, -1, dtype=object))
    learner.teach([0, 2], [0, 0], refit=False)
    learner.teach([1, 3], [1, 1])
    picks = learner.query(5)
    assert picks.shape == (5,) and not np.isin(picks, [0, 1, 2, 3]).any()
