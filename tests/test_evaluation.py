"""Learning curves from acquisition orders, overlap between orders, plots and summary tables."""

from __future__ import annotations

import logging
import re
import sys
import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, make_scorer
from sklearn.pipeline import make_pipeline

from skprepal import PRepALLearner
from skprepal.evaluation import (
    SimulationCurve,
    acquisition_overlap,
    format_mean_std,
    learning_curve_from_order,
    plot_learning_curves,
    simulation_curve,
    summarize_curves,
)
from skprepal.exceptions import InvalidInputError


@pytest.fixture(scope="module")
def problem():
    """Two Gaussian blobs; the order lists class 0 first for 5 rows, then alternates."""
    rng = np.random.RandomState(0)
    n = 400
    y = rng.randint(0, 2, size=n)
    X = rng.normal(size=(n, 5)) + 1.2 * y[:, None]
    X_test, y_test = X[300:], y[300:]
    X, y = X[:300], y[:300]
    zeros, ones = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    order = np.concatenate([zeros[:5], np.ravel(np.column_stack([ones[:100], zeros[5:105]]))])
    return X, y, order, X_test, y_test


class CountingClassifier(ClassifierMixin, BaseEstimator):
    """Logs how many rows each fit saw, in a class attribute that every clone shares."""

    fit_sizes: list[int] = []

    def fit(self, X, y):
        self.fit_sizes.append(len(y))
        self.classes_ = np.unique(y)
        self.majority_ = self.classes_[0]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


def test_scores_rise_with_budget(problem):
    X, y, order, X_test, y_test = problem
    budgets = [6, 10, 40, 200]
    curve = learning_curve_from_order(LogisticRegression(), X, y, order, budgets, X_test, y_test)
    assert set(curve) == {"budget", "score", "fit_seconds", "majority_fallback"}
    np.testing.assert_array_equal(curve["budget"], budgets)
    assert curve["score"].shape == curve["fit_seconds"].shape == (4,)
    assert np.all(curve["fit_seconds"] >= 0)
    assert curve["score"][-1] > 0.85
    assert curve["score"][-1] >= curve["score"][0]
    assert not curve["majority_fallback"].any()


def test_one_fit_per_budget_on_the_order_prefix(problem):
    X, y, order, X_test, y_test = problem
    CountingClassifier.fit_sizes.clear()
    budgets = [8, 20, 50]
    learning_curve_from_order(CountingClassifier(), X, y, order, budgets, X_test, y_test)
    assert CountingClassifier.fit_sizes == budgets


def test_single_class_prefix_scores_the_majority_guess(problem):
    X, y, order, X_test, y_test = problem
    curve = learning_curve_from_order(LogisticRegression(), X, y, order, [1, 5, 6], X_test, y_test)
    np.testing.assert_array_equal(curve["majority_fallback"], [True, True, False])
    majority_accuracy = np.mean(y_test == 0)
    np.testing.assert_allclose(curve["score"][:2], majority_accuracy)


def test_scoring_and_n_jobs_give_the_same_curve(problem):
    X, y, order, X_test, y_test = problem
    args = (LogisticRegression(), X, y, order, [10, 30], X_test, y_test)
    serial = learning_curve_from_order(*args, scoring="accuracy")
    parallel = learning_curve_from_order(*args, scoring="accuracy", n_jobs=2)
    default = learning_curve_from_order(*args)
    np.testing.assert_allclose(serial["score"], parallel["score"])
    np.testing.assert_allclose(serial["score"], default["score"])


def test_scoring_scores_the_replayed_heads(problem):
    from sklearn.metrics import f1_score, recall_score

    X, y, order, X_test, y_test = problem
    # Class 1 held out mostly (90 of its test rows dropped): accuracy and the class-1 measures
    # part ways.
    keep = np.r_[np.flatnonzero(y_test == 0), np.flatnonzero(y_test == 1)[:8]]
    X_test, y_test = X_test[keep], y_test[keep]
    budgets = [10, 30, 60]
    curves = {
        scoring: learning_curve_from_order(
            LogisticRegression(), X, y, order, budgets, X_test, y_test, scoring=scoring
        )["score"]
        for scoring in (None, "f1", make_scorer(recall_score))
    }
    for i, k in enumerate(budgets):
        head = LogisticRegression().fit(X[order[:k]], y[order[:k]])
        predicted = head.predict(X_test)
        assert curves[None][i] == pytest.approx(np.mean(predicted == y_test))
        assert curves["f1"][i] == pytest.approx(f1_score(y_test, predicted))
        assert curves["f1"][i] != pytest.approx(curves[None][i])
        assert list(curves.values())[2][i] == pytest.approx(recall_score(y_test, predicted))


def test_text_rows_from_a_list():
    texts = ["good", "bad", "great", "awful", "fine", "poor"] * 3
    y = np.array([1, 0, 1, 0, 1, 0] * 3)
    seen = []

    class TextHead(CountingClassifier):
        def fit(self, X, y):
            seen.append(list(X))
            return super().fit(X, y)

    curve = learning_curve_from_order(TextHead(), texts, y, [0, 1, 2], [3], texts, y)
    assert seen == [["good", "bad", "great"]]
    assert curve["score"].shape == (1,)


@pytest.mark.parametrize(
    "budgets, order, match",
    [
        ([10, 301], None, r"budget 301 is larger than the order's length \(300\)"),
        ([0, 5], None, r"budgets must be >= 1"),
        ([2.5], None, r"budgets must be a non-empty 1-D array of ints"),
        ([2], [0, 0, 1], r"lists the same row more than once"),
        ([2], [0, 1, 300], r"X has 300 rows"),
    ],
)
def test_bad_budgets_and_orders_raise(problem, budgets, order, match):
    X, y, _, X_test, y_test = problem
    order = np.arange(300) if order is None else order
    with pytest.raises(InvalidInputError, match=match):
        learning_curve_from_order(LogisticRegression(), X, y, order, budgets, X_test, y_test)


def test_unknown_scorer_name_suggests_the_closest(problem):
    X, y, order, X_test, y_test = problem
    with pytest.raises(InvalidInputError, match="Did you mean 'f1_macro'"):
        learning_curve_from_order(
            LogisticRegression(), X, y, order, [10], X_test, y_test, scoring="f1_macor"
        )


# -- simulation curves --------------------------------------------------------------------------


def _small_learner(**params):
    return PRepALLearner(initial_size=10, batch_size=10, budget=60, random_state=0, **params)


def test_simulation_curve_is_the_history_of_a_direct_fit(problem):
    X, y, _, X_test, y_test = problem
    learner = _small_learner()
    curve = simulation_curve(learner, X, y, X_test, y_test)
    direct = clone(learner).fit(X, y, eval_set=(X_test, y_test))
    assert isinstance(curve, SimulationCurve) and curve.scoring is None
    np.testing.assert_array_equal(curve.n_labeled, [r["n_labeled"] for r in direct.history_])
    np.testing.assert_array_equal(curve.n_labeled, np.arange(10, 61, 10))
    np.testing.assert_array_equal(curve.scores, [r["score"] for r in direct.history_])
    np.testing.assert_array_equal(curve.labeled_indices, direct.labeled_indices_)
    assert curve.fit_seconds.shape == curve.query_seconds.shape == (6,)
    assert np.all(curve.fit_seconds >= 0) and np.all(curve.query_seconds >= 0)
    assert curve.total_fit_seconds == pytest.approx(curve.fit_seconds.sum())
    assert curve.total_query_seconds == pytest.approx(curve.query_seconds.sum())
    # The fitted clone comes back, ready to predict.
    assert curve.learner is not learner
    np.testing.assert_array_equal(curve.learner.predict(X_test), direct.predict(X_test))


def test_simulation_curve_takes_lists(problem):
    X, y, _, X_test, y_test = problem
    from_arrays = simulation_curve(_small_learner(), X, y, X_test, y_test)
    from_lists = simulation_curve(
        _small_learner(), X.tolist(), y.tolist(), X_test.tolist(), y_test.tolist()
    )
    np.testing.assert_array_equal(from_lists.scores, from_arrays.scores)
    np.testing.assert_array_equal(from_lists.labeled_indices, from_arrays.labeled_indices)


def test_simulation_curve_leaves_the_learner_given_alone(problem):
    X, y, _, X_test, y_test = problem
    learner = _small_learner(query_strategy="entropy")
    params = learner.get_params()
    simulation_curve(learner, X, y, X_test, y_test)
    assert learner.get_params() == params
    assert not hasattr(learner, "history_")
    with pytest.raises(NotFittedError, match="PRepALLearner instance is not fitted yet"):
        learner.predict(X_test)
    # A fitted learner keeps its own run.
    learner.fit(X[:100], y[:100])
    order = learner.labeled_indices_.copy()
    simulation_curve(learner, X, y, X_test, y_test)
    np.testing.assert_array_equal(learner.labeled_indices_, order)


def test_scoring_changes_the_scores_on_an_imbalanced_set():
    X, y = make_classification(
        n_samples=700, n_features=6, weights=[0.9], flip_y=0.05, class_sep=0.6, random_state=0
    )
    X, y, X_test, y_test = X[:500], y[:500], X[500:], y[500:]
    learner = _small_learner()
    accuracy = simulation_curve(learner, X, y, X_test, y_test)
    f1 = simulation_curve(learner, X, y, X_test, y_test, scoring="f1_macro")
    balanced = simulation_curve(
        learner, X, y, X_test, y_test, scoring=make_scorer(balanced_accuracy_score)
    )
    # The same run (same seed), scored differently: on 90/10 classes macro F1 and balanced
    # accuracy sit well below accuracy.
    np.testing.assert_array_equal(f1.labeled_indices, accuracy.labeled_indices)
    np.testing.assert_array_equal(f1.n_labeled, accuracy.n_labeled)
    assert f1.scoring == "f1_macro"
    assert np.all(f1.scores < accuracy.scores - 0.05)
    assert np.all(balanced.scores < accuracy.scores - 0.05)
    # Replaying the order with accuracy gives back the loop's own accuracy (same labels, same
    # head; only a warm start may move the solver's answer within its tolerance).
    replayed = simulation_curve(learner, X, y, X_test, y_test, scoring="accuracy")
    np.testing.assert_allclose(replayed.scores, accuracy.scores, atol=0.01)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"X_eval": lambda X: X[:, :3]}, r"X_eval has 3 columns but X has 5"),
        ({"X_eval": lambda X: X[:, 0]}, r"X_eval has one value or text per row but X has 5 col"),
        ({"y_eval": lambda y: y[:-1]}, r"X_eval has 100 rows but y_eval has 99 labels"),
        ({"y": lambda y: y[:-1]}, r"X has 300 rows but y has 299 labels"),
        ({"X_eval": lambda X: X[:0], "y_eval": lambda y: y[:0]}, r"the eval set is empty"),
        ({"y": lambda y: np.where(np.arange(y.size) < 50, -1, y)}, r"missing_label=-1"),
        ({"y_eval": None}, r"y_eval is None"),
        ({"scoring": "f1_macor"}, r"Did you mean 'f1_macro'"),
        ({"learner": LogisticRegression()}, r"learner must be a PRepALLearner"),
    ],
)
def test_simulation_curve_bad_input_raises(problem, change, match):
    X, y, _, X_test, y_test = problem
    args = {"learner": _small_learner(), "X": X, "y": y, "X_eval": X_test, "y_eval": y_test}
    change = dict(change)  # the parameter's dict is shared between runs: leave it whole
    scoring = change.pop("scoring", None)
    for name, edit in change.items():
        args[name] = edit(args[name]) if callable(edit) else edit
    learner = args["learner"]
    with pytest.raises(InvalidInputError, match=match):
        simulation_curve(**args, scoring=scoring)
    assert not hasattr(learner, "history_")


# -- overlap ------------------------------------------------------------------------------------


def test_overlap_identical_disjoint_and_partial():
    a = np.arange(10)
    np.testing.assert_array_equal(acquisition_overlap(a, a, [1, 5, 10]), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(acquisition_overlap(a, a + 10, [1, 5, 10]), [0.0, 0.0, 0.0])
    # First 3: {0, 1, 2} vs {2, 9, 1}: intersection 2, union 4.
    assert acquisition_overlap(a, [2, 9, 1, 0], [3])[0] == pytest.approx(0.5)
    # Same rows in another order: 1 once the prefixes hold the same set.
    np.testing.assert_allclose(acquisition_overlap([0, 1, 2], [2, 1, 0], [1, 2, 3]), [0, 1 / 3, 1])


def test_overlap_budget_beyond_the_shorter_order_raises():
    with pytest.raises(InvalidInputError, match="shorter order"):
        acquisition_overlap([0, 1, 2], [0, 1], [3])


# -- summaries and plots ------------------------------------------------------------------------


CURVES = {
    "random": np.array([[0.50, 0.60, 0.70], [0.52, 0.66, 0.71], [0.49, 0.61, 0.74]]),
    "margin": np.array([0.55, 0.70, 0.80]),  # a single seed
}
BUDGETS = [10, 20, 40]


def test_summarize_matches_numpy():
    rows = summarize_curves(CURVES, BUDGETS)
    assert len(rows) == 6
    assert set(rows[0]) == {"name", "budget", "mean", "std", "n_seeds"}
    random_rows = [r for r in rows if r["name"] == "random"]
    np.testing.assert_allclose([r["mean"] for r in random_rows], CURVES["random"].mean(axis=0))
    np.testing.assert_allclose([r["std"] for r in random_rows], CURVES["random"].std(axis=0))
    assert [r["budget"] for r in random_rows] == BUDGETS
    assert {r["n_seeds"] for r in rows} == {1, 3}
    assert [r["std"] for r in rows if r["name"] == "margin"] == [0.0, 0.0, 0.0]
    assert format_mean_std(0.5, 0.25, digits=2) == "0.50 ± 0.25"


@pytest.mark.parametrize(
    "curves, budgets, match",
    [
        ({}, BUDGETS, "curves must be a non-empty dict mapping a name to scores of shape "
                      "(n_seeds, n_budgets), e.g. {'margin': scores}."),
        ({"a": [1.0, 2.0], "b": [1.0, 2.0, 3.0]}, None,
         "the curves have different numbers of budgets [2, 3]; score every strategy at the "
         "same budgets."),
        ({"a": [1.0, 2.0]}, BUDGETS, "one budget per column"),
        ({"a": np.zeros((2, 2, 2))}, None,
         "curves['a'] has shape (2, 2, 2); expected (n_seeds, n_budgets), or (n_budgets,) for "
         "one seed."),
        ({"a": np.zeros((0, 3))}, None, "curves['a'] has shape (0, 3); expected"),
        ({"a": [[]]}, None, "curves['a'] has shape (1, 0); expected"),
    ],
)
def test_bad_curves_raise(curves, budgets, match):
    with pytest.raises(InvalidInputError, match=re.escape(match)):
        summarize_curves(curves, budgets if budgets is not None else [1, 2])


def test_curves_of_one_budget_or_read_from_a_csv_as_text_are_accepted():
    rows = summarize_curves({"a": [[0.5], [0.7]]}, [100])
    assert rows[0]["mean"] == pytest.approx(0.6) and rows[0]["budget"] == 100
    as_text = summarize_curves({"a": [["0.5", "0.6"], ["0.7", "0.8"]]}, [1, 2])
    np.testing.assert_allclose([r["mean"] for r in as_text], [0.6, 0.7])


def test_plot_draws_one_line_and_band_per_name(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    ax = plot_learning_curves(CURVES, BUDGETS, title="AG News", ylabel="macro F1")
    try:
        assert len(ax.lines) == 2
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert len(bands) == 2
        np.testing.assert_allclose(ax.lines[0].get_xdata(), BUDGETS)
        np.testing.assert_allclose(ax.lines[0].get_ydata(), CURVES["random"].mean(axis=0))
        assert ax.get_title() == "AG News" and ax.get_ylabel() == "macro F1"
        assert ax.get_xlabel() == "number of labels"
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["random (n=3)", "margin (n=1)"]
        path = tmp_path / "curves.png"
        ax.figure.savefig(path)
        assert path.stat().st_size > 0
    finally:
        plt.close(ax.figure)


def test_plot_bands_span_one_std_in_the_line_colour_with_the_house_style(monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_rgba

    ax = plot_learning_curves(CURVES, BUDGETS)
    try:
        assert ax.get_ylabel() == "accuracy"
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
        for line, band, name in zip(ax.lines, bands, CURVES, strict=True):
            scores = np.atleast_2d(CURVES[name])
            mean, std = scores.mean(axis=0), scores.std(axis=0)
            vertices = band.get_paths()[0].vertices
            for x, low, high in zip(BUDGETS, mean - std, mean + std, strict=True):
                at_x = vertices[np.isclose(vertices[:, 0], x), 1]
                assert at_x.min() == pytest.approx(low) and at_x.max() == pytest.approx(high)
            assert line.get_marker() == "o" and line.get_markersize() == 3
            np.testing.assert_allclose(band.get_facecolor()[0][:3], to_rgba(line.get_color())[:3])
            assert band.get_alpha() == 0.2 and band.get_linewidth()[0] == 0
        grid = ax.xaxis.get_gridlines()[0]
        assert grid.get_visible() and grid.get_alpha() == 0.3
    finally:
        plt.close(ax.figure)
    # Without matplotlib: what to install.
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError) as missing:
        plot_learning_curves(CURVES, BUDGETS)
    assert str(missing.value) == (
        "plot_learning_curves needs matplotlib: pip install matplotlib (or pip install "
        "'skprepal[demo]')."
    )


def test_plot_on_given_axes_without_budgets():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    fig, ax = plt.subplots()
    try:
        ax.plot([0, 1], [0.0, 0.0])  # axes already in use: their colour cycles are not in step
        out = plot_learning_curves({"random": [[0.1, 0.2], [0.2, 0.3]]}, ax=ax)
        assert out is ax and ax.get_xlabel() == "round"
        np.testing.assert_array_equal(ax.lines[1].get_xdata(), [0, 1])
        band = ax.collections[-1]
        np.testing.assert_allclose(band.get_facecolor()[0][:3],
                                   to_rgba(ax.lines[1].get_color())[:3])
    finally:
        plt.close(fig)


# -- edges of replaying an order (found by the mutation run, tests/MUTATION.md) -----------------

_RNG = np.random.RandomState(0)
EDGE_X = _RNG.randn(60, 3)
EDGE_Y = (EDGE_X[:, 0] > 0).astype(int)
EDGE_X_TEST = _RNG.randn(40, 3)
EDGE_Y_TEST = (EDGE_X_TEST[:, 0] > 0).astype(int)
# The first three rows of the order hold one class; the fourth brings the other.
EDGE_ORDER = np.concatenate([
    np.flatnonzero(EDGE_Y == 1)[:3], np.flatnonzero(EDGE_Y == 0)[:1],
    np.flatnonzero(EDGE_Y == 1)[3:20], np.flatnonzero(EDGE_Y == 0)[1:20],
])
EDGE_BUDGETS = [3, 10, 30]


def _edge_curve(X_pool, estimator=None, X_test=EDGE_X_TEST):
    return learning_curve_from_order(
        estimator if estimator is not None else LogisticRegression(), X_pool, EDGE_Y,
        EDGE_ORDER, EDGE_BUDGETS, X_test, EDGE_Y_TEST,
    )


@pytest.mark.parametrize(
    "order, described",
    [
        (np.arange(6).reshape(2, 3), r"dtype int64 and shape \(2, 3\)"),
        (np.array([0.0, 1.0]), r"dtype float64 and shape \(2,\)"),
    ],
)
def test_an_order_that_is_not_a_list_of_row_numbers_is_described(order, described):
    expected = r"^order must be a 1-D array of integer row numbers, got " + described
    with pytest.raises(InvalidInputError, match=expected):
        learning_curve_from_order(
            LogisticRegression(), EDGE_X, EDGE_Y, order, [1], EDGE_X_TEST, EDGE_Y_TEST
        )
    with pytest.raises(InvalidInputError, match=r"^order_a must be a 1-D array"):
        acquisition_overlap(order, EDGE_ORDER, [1])
    with pytest.raises(InvalidInputError, match=r"^order_b must be a 1-D array"):
        acquisition_overlap(EDGE_ORDER, order, [1])


def test_an_overlap_budget_beyond_the_shorter_order_is_refused():
    with pytest.raises(
        InvalidInputError, match=r"budget 5 is larger than the shorter order's length \(4\)"
    ):
        acquisition_overlap([0, 1, 2, 3], [1, 0, 4, 5, 6], [2, 5])


@pytest.mark.parametrize("budgets", [[], [[1, 2], [3, 4]], [1.5]])
def test_budgets_must_be_a_non_empty_list_of_ints(budgets):
    with pytest.raises(InvalidInputError, match=r"budgets must be a non-empty 1-D array of ints"):
        learning_curve_from_order(
            LogisticRegression(), EDGE_X, EDGE_Y, EDGE_ORDER, budgets, EDGE_X_TEST, EDGE_Y_TEST
        )


def test_x_and_y_of_different_lengths_are_named():
    with pytest.raises(InvalidInputError, match=r"^X has 60 rows but y has 59 labels\.$"):
        learning_curve_from_order(
            LogisticRegression(), EDGE_X, EDGE_Y[:59], EDGE_ORDER, [1], EDGE_X_TEST, EDGE_Y_TEST
        )


def test_a_one_class_prefix_is_scored_as_a_majority_guess_and_logged(caplog):
    start = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="skprepal.evaluation"):
        result = _edge_curve(EDGE_X)
    wall = time.perf_counter() - start
    assert result["majority_fallback"].dtype == bool
    np.testing.assert_array_equal(result["majority_fallback"], [True, False, False])
    assert result["score"][0] == pytest.approx(np.mean(EDGE_Y_TEST == 1))
    assert "budget 3: the first 3 labels hold one class; scored a majority guess" in caplog.messages
    # Durations: non-negative, and within the call's own wall time.
    assert np.all(result["fit_seconds"] >= 0) and np.all(result["fit_seconds"] <= wall)


def test_dataframes_sparse_matrices_and_lists_give_the_curve_of_the_array():
    expected = _edge_curve(EDGE_X)["score"]
    columns = ["a", "b", "c"]
    # An index that is not 0..n-1: rows are taken by position, never by label.
    frame = pd.DataFrame(EDGE_X, columns=columns, index=np.arange(1000, 1060))
    by_name = make_pipeline(
        ColumnTransformer([("keep", "passthrough", columns)]), LogisticRegression()
    )
    test_frame = pd.DataFrame(EDGE_X_TEST, columns=columns)
    np.testing.assert_allclose(_edge_curve(frame, by_name, X_test=test_frame)["score"], expected)
    np.testing.assert_allclose(_edge_curve(sp.csr_matrix(EDGE_X))["score"], expected)
    np.testing.assert_allclose(_edge_curve(EDGE_X.tolist())["score"], expected)


def test_an_empty_x_has_no_row_an_order_could_name():
    with pytest.raises(InvalidInputError, match=r"from 0 to 0, but X has 0 rows"):
        learning_curve_from_order(LogisticRegression(), [], [], [0], [1], EDGE_X_TEST, EDGE_Y_TEST)


def test_a_summary_needs_budgets_and_rounds_to_three_decimals_by_default():
    expected = r"^summarize_curves needs budgets, one per column of the curves\.$"
    with pytest.raises(InvalidInputError, match=expected):
        summarize_curves({"random": [[0.5, 0.75], [0.75, 1.0]]}, budgets=None)
    assert format_mean_std(0.87549, 0.01234) == "0.875 ± 0.012"


# -- what simulation_curve refuses, word for word (mutation survivors, tests/MUTATION.md) -------

SIM_X, SIM_Y = EDGE_X, EDGE_Y
SIM_LEARNER = PRepALLearner(batch_size=5, initial_size=5, budget=15, random_state=0)


@pytest.mark.parametrize("missing", ["X", "y", "X_eval", "y_eval"])
def test_simulation_curve_names_the_input_that_is_none(missing):
    given = {"X": SIM_X, "y": SIM_Y, "X_eval": EDGE_X_TEST, "y_eval": EDGE_Y_TEST, missing: None}
    expected = (
        f"{missing} is None: simulation_curve needs the pool (X, y) with every label, and an "
        "eval set (X_eval, y_eval) to score each round on."
    )
    with pytest.raises(InvalidInputError) as caught:
        simulation_curve(SIM_LEARNER, given["X"], given["y"], given["X_eval"], given["y_eval"])
    assert str(caught.value) == expected


@pytest.mark.parametrize(
    "X_eval, y_eval, expected",
    [
        (EDGE_X_TEST[:5], EDGE_Y_TEST[:4],
         "X_eval has 5 rows but y_eval has 4 labels; pass one label per row of the eval set."),
        (EDGE_X_TEST[:0], EDGE_Y_TEST[:0],
         "the eval set is empty: pass at least one row to score on."),
    ],
)
def test_simulation_curve_explains_a_bad_eval_set(X_eval, y_eval, expected):
    with pytest.raises(InvalidInputError) as caught:
        simulation_curve(SIM_LEARNER, SIM_X, SIM_Y, X_eval, y_eval)
    assert str(caught.value) == expected


SAME_SPACE = (
    r": the eval set must be in the same space as X \(embedded by the same model, with the same "
    r"pair encoding\)\.$"
)


@pytest.mark.parametrize(
    "make", [np.asarray, sp.csr_matrix, lambda a: a.tolist()], ids=["array", "sparse", "list"]
)
def test_simulation_curve_takes_arrays_sparse_and_lists_and_checks_the_row_width(make):
    # The right width runs (the learner needs dense rows); one column more in the eval set is
    # refused before any fit, whatever holds the rows.
    if make is not sp.csr_matrix:
        curve = simulation_curve(SIM_LEARNER, make(SIM_X), SIM_Y, EDGE_X_TEST, EDGE_Y_TEST)
        assert curve.n_labeled[-1] == 15
    wider = np.hstack([EDGE_X_TEST, EDGE_X_TEST[:, :1]])
    with pytest.raises(InvalidInputError, match=r"^X_eval has .* but X has .*" + SAME_SPACE):
        simulation_curve(SIM_LEARNER, make(SIM_X), SIM_Y, wider, EDGE_Y_TEST)


def test_simulation_curve_refuses_an_empty_list_pool_with_a_clear_error():
    with pytest.raises(InvalidInputError, match=SAME_SPACE):
        simulation_curve(SIM_LEARNER, [], [], EDGE_X_TEST, EDGE_Y_TEST)


def test_simulation_curve_refuses_what_is_not_a_learner_and_an_unknown_scorer_first():
    with pytest.raises(InvalidInputError) as caught:
        simulation_curve(LogisticRegression(), SIM_X, SIM_Y, EDGE_X_TEST, EDGE_Y_TEST)
    assert str(caught.value) == (
        "learner must be a PRepALLearner, got LogisticRegression. To simulate with a Pipeline, "
        "embed X and X_eval first and pass the Pipeline's PRepALLearner step."
    )
    # The scorer is checked before the inputs: a typo is reported even with an input missing.
    with pytest.raises(InvalidInputError, match="is not a scikit-learn scorer"):
        simulation_curve(SIM_LEARNER, SIM_X, SIM_Y, None, EDGE_Y_TEST, scoring="acuracy")


def test_simulation_curve_refuses_labels_that_mark_an_interactive_session():
    y = SIM_Y.copy()
    y[:10] = -1
    with pytest.raises(InvalidInputError) as caught:
        simulation_curve(SIM_LEARNER, SIM_X, y, EDGE_X_TEST, EDGE_Y_TEST)
    assert str(caught.value) == (
        "y holds labels equal to missing_label=-1, so fit started an interactive session instead "
        "of a simulation; simulation_curve needs every label of the pool (y is the oracle)."
    )


def test_an_unknown_scorer_gets_the_closest_name_or_no_guess():
    for scoring, hint in (("acuracy", " Did you mean 'accuracy'?"), ("zqxjkvw", "")):
        with pytest.raises(InvalidInputError) as caught:
            simulation_curve(SIM_LEARNER, SIM_X, SIM_Y, EDGE_X_TEST, EDGE_Y_TEST, scoring=scoring)
        assert str(caught.value) == (
            f"scoring={scoring!r} is not a scikit-learn scorer: pass a name from "
            "sklearn.metrics.get_scorer_names(), a callable scorer(estimator, X, y), or None for "
            f"accuracy.{hint}"
        )


def test_a_one_row_eval_set_given_as_a_list_is_scored():
    curve = simulation_curve(SIM_LEARNER, SIM_X, SIM_Y, EDGE_X_TEST[:1].tolist(), EDGE_Y_TEST[:1])
    assert set(np.unique(curve.scores)) <= {0.0, 1.0} and curve.n_labeled[-1] == 15
