"""Edges of PRepALLearner and its label state that the session tests leave open: parameters set
after construction, checks on new rows, what drop_pool keeps, calls before a fit.

Several of these were written to kill mutants that survived ``make mutation`` (tests/MUTATION.md).
"""

from __future__ import annotations

import pickle
import re
import warnings
import time

import numpy as np
import pytest
import scipy.sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_blobs
from sklearn.exceptions import DataConversionWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC
from sklearn.utils import get_tags

from skprepal import PRepALLearner
from skprepal.exceptions import InvalidInputError, NotFittedError
from skprepal.stopping import MaxLabels
from skprepal.strategies import QueryStrategy


@pytest.fixture
def blobs():
    X, y = make_blobs(n_samples=300, centers=3, n_features=6, random_state=0)
    return X, y


def _session(X, y, n_labeled=30, **params):
    partial = np.where(np.arange(len(y)) < n_labeled, y, -1)
    return PRepALLearner(batch_size=5, random_state=0, **params).fit(X, partial)


def _memmap(path, X):
    out = np.lib.format.open_memmap(path, mode="w+", dtype=X.dtype, shape=X.shape)
    out[:] = X
    out.flush()
    del out
    return np.load(path, mmap_mode="r")


def test_set_params_keeps_a_given_head_and_the_default_one_until_asked():
    learner = PRepALLearner(estimator=SVC(probability=True))
    learner.set_params(estimator__C=3.0)
    assert isinstance(learner.estimator, SVC) and learner.estimator.C == 3.0
    default = PRepALLearner().set_params(batch_size=3)
    assert default.estimator is None and default.batch_size == 3
    nested = PRepALLearner().set_params(estimator__C=0.5)
    assert isinstance(nested.estimator, LogisticRegression) and nested.estimator.C == 0.5


def test_rows_to_predict_must_have_the_features_of_fit(blobs):
    X, y = blobs
    learner = _session(X, y)
    for method in (learner.predict, learner.predict_proba, learner.decision_function):
        with pytest.raises(ValueError, match="features"):
            method(X[:4, :3])
        assert learner.n_features_in_ == 6
    assert learner.predict(X[:4]).shape == (4,)


def test_drop_pool_keeps_neither_the_strategies_nor_where_the_rows_were(blobs, tmp_path):
    X, y = blobs
    pool = _memmap(tmp_path / "pool-rows.npy", X)
    learner = _session(pool, y, query_strategy="entropy")
    assert b"pool-rows.npy" in pickle.dumps(learner)
    lean = pickle.dumps(learner.drop_pool())
    for kept in (b"pool-rows.npy", b"EntropySampling", b"RandomSampling"):
        assert kept not in lean, kept
    np.testing.assert_array_equal(pickle.loads(lean).predict(X[:5]), learner.predict(X[:5]))


def test_a_learner_whose_fit_failed_is_not_fitted(blobs):
    X, y = blobs
    learner = PRepALLearner(stopping=MaxLabels(max_labels=0))
    with pytest.raises(InvalidInputError):
        learner.fit(X, y)
    # The stopping criterion was cloned before its check failed: still not a fitted learner.
    for call in (lambda: learner.attach_pool(X), learner.drop_pool, learner.query):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()


def test_attach_pool_takes_the_rows_as_they_are_and_checks_them(tmp_path):
    X, y = make_blobs(n_samples=3000, centers=3, n_features=6, random_state=0)
    learner = _session(_memmap(tmp_path / "pool.npy", X), y)
    expected = learner.query()
    with pytest.raises(ValueError, match="features"):
        learner.attach_pool(X[:, :3])
    with pytest.raises(InvalidInputError, match=r"^X has 2999 rows but the learner was fit on "
                       r"3000; attach the same rows, in the same order\.$"):
        learner.attach_pool(X[:-1])
    assert learner.n_features_in_ == 6
    # In memory: the rows themselves travel with a pickle.
    in_memory = pickle.loads(pickle.dumps(learner)).attach_pool(np.array(X))
    np.testing.assert_array_equal(in_memory.query(), expected)
    assert len(pickle.dumps(in_memory)) > X.nbytes
    # Another mapping of the file: a pickle holds where the rows are, not the rows.
    mapped = pickle.loads(pickle.dumps(in_memory)).attach_pool(np.load(tmp_path / "pool.npy",
                                                                       mmap_mode="r"))
    np.testing.assert_array_equal(mapped.query(), expected)
    assert len(pickle.dumps(mapped)) < X.nbytes / 2


def test_a_dropped_pool_says_what_still_works(blobs):
    X, y = blobs
    learner = _session(X, y).drop_pool()
    with pytest.raises(NotFittedError, match="it predicts but can no longer query. Fit a new "
                       "learner to continue labeling."):
        learner.attach_pool(X)
    with pytest.raises(NotFittedError, match="can no longer query or take labels. Fit a new "
                       "learner to continue labeling."):
        learner.teach([40], [0])


# -- stopping criteria, as the learner asks them -------------------------------------------------


class RowHead:
    """A fitted-looking binary head whose confidence grows with |X[:, 0]| (no fitting needed)."""

    classes_ = np.array([0, 1])

    def predict_proba(self, X):
        X = np.asarray(X)
        assert X.ndim == 2, "the head is asked on rows"
        p = 1.0 / (1.0 + np.exp(-X[:, 0]))
        return np.column_stack([1.0 - p, p])


def _expected_uncertainty(X, labeled, measure, aggregate):
    from skprepal.strategies import uncertainty

    scores = uncertainty(RowHead().predict_proba(X[~labeled]), measure)
    return scores.max() if aggregate == "max" else scores.mean()


@pytest.mark.parametrize("aggregate", ["max", "mean"])
@pytest.mark.parametrize("wide", [False, True])
def test_uncertainty_threshold_aggregates_every_unlabeled_row_once(aggregate, wide):
    from skprepal.stopping import UncertaintyThreshold

    rng = np.random.RandomState(0)
    # 8192 float32 columns: the pool is read in chunks of 256 rows; 6 columns: in one chunk.
    X = np.zeros((700, 8192 if wide else 6), dtype=np.float32)
    X[:, 0] = rng.normal(scale=3.0, size=700)
    labeled = rng.uniform(size=700) < 0.3
    labeled[256:512] = True  # a chunk with no unlabeled row, between two that have some
    labeled[0] = False  # the first row counts too
    crit = UncertaintyThreshold(threshold=0.0, aggregate=aggregate)
    crit.should_stop(RowHead(), X, labeled_mask=labeled, n_labeled=int(labeled.sum()))
    expected = _expected_uncertainty(X, labeled, "max_probability", aggregate)
    assert crit.uncertainties_[-1] == pytest.approx(expected, rel=1e-9)
    # One unlabeled row left: its own uncertainty, whatever the aggregate.
    last = np.ones(700, dtype=bool)
    last[5] = False
    crit.should_stop(RowHead(), X, labeled_mask=last, n_labeled=699)
    alone = _expected_uncertainty(X, last, "max_probability", aggregate)
    assert crit.uncertainties_[-1] == pytest.approx(alone)


def test_uncertainty_threshold_records_nan_once_every_row_is_labeled():
    from skprepal.stopping import UncertaintyThreshold

    crit = UncertaintyThreshold()
    X = np.zeros((4, 2))
    assert crit.should_stop(RowHead(), X, labeled_mask=np.ones(4, bool), n_labeled=4)
    assert len(crit.uncertainties_) == 1 and np.isnan(crit.uncertainties_[0])


def test_uncertainty_threshold_says_which_head_lacks_probabilities():
    from sklearn.svm import LinearSVC

    from skprepal.stopping import UncertaintyThreshold

    X, y = make_blobs(n_samples=40, centers=2, random_state=0)
    head = LinearSVC().fit(X, y)
    message = (
        "UncertaintyThreshold needs class probabilities, but LinearSVC has no predict_proba; use "
        "a probabilistic head (e.g. LogisticRegression) or another stopping criterion such as "
        "StabilizingPredictions."
    )
    with pytest.raises(InvalidInputError, match=f"^{re.escape(message)}$"):
        UncertaintyThreshold().should_stop(head, X, labeled_mask=np.arange(40) < 10, n_labeled=10)


def test_a_nan_label_under_another_missing_label_says_how_to_mark_the_pool(blobs):
    X, y = blobs
    labels = y.astype(float)
    labels[[7, 9]] = np.nan
    labels[20:] = -1
    with pytest.raises(
        InvalidInputError,
        match=r"^y\[7\] is nan, but missing_label=-1 marks the pool\. Pass missing_label=None to "
        r"treat None/NaN as unlabeled rows, or give those rows a label\.$",
    ):
        PRepALLearner().fit(X, labels)


class EveryOtherCall:
    """A criterion by duck typing only: should_stop, no get_params, no reason_."""

    def __init__(self):
        self.calls = 0

    def should_stop(self, estimator, X, *, labeled_mask, n_labeled, random_state=None):
        self.calls += 1
        return self.calls % 2 == 0


def test_any_of_takes_any_object_with_should_stop():
    from skprepal.stopping import AnyOf

    given = EveryOtherCall()
    crit = AnyOf([given])
    crit.validate()
    X, mask = np.zeros((5, 2)), np.array([True, True, False, False, False])
    answers = [crit.should_stop(None, X, labeled_mask=mask, n_labeled=2) for _ in range(4)]
    assert answers == [False, True, False, True]
    assert crit.reason_ == "EveryOtherCall: stopped"
    assert given.calls == 0  # a copy is asked, never the object given


def test_any_of_checks_its_criteria_and_says_what_to_pass():
    from skprepal.stopping import AnyOf

    message = "AnyOf(criteria=...) takes a list of stopping criteria, got str; write AnyOf("
    message += "[MaxLabels(500), ...])."
    with pytest.raises(InvalidInputError, match=f"^{re.escape(message)}$"):
        AnyOf("max_labels").validate()
    with pytest.raises(InvalidInputError, match=r"^AnyOf criteria\[1\] is a dict, which has no "
                       r"should_stop method; pass StoppingCriterion objects such as "
                       r"MaxLabels\(500\)\.$"):
        AnyOf([MaxLabels(), {}]).validate()
    with pytest.raises(InvalidInputError, match="'max_labels' parameter of MaxLabels"):
        AnyOf([MaxLabels(), MaxLabels(max_labels=0)]).validate()


class ColumnHead:
    """Predicts the class written in column 0 (no fitting needed)."""

    classes_ = np.array([0, 1, 2])

    def predict(self, X):
        X = np.asarray(X)
        assert X.ndim == 2, "the head is asked on rows"
        return X[:, 0].astype(int)

    def predict_proba(self, X):
        return np.eye(3)[self.predict(X)] * 0.7 + 0.1


def test_a_stop_is_logged_once_with_the_criterion_and_its_reason(caplog):
    X, mask = np.zeros((6, 2)), np.zeros(6, dtype=bool)
    crit = MaxLabels(max_labels=4)
    with caplog.at_level("INFO", logger="skprepal.stopping"):
        assert not crit.should_stop(None, X, labeled_mask=mask, n_labeled=3)
        assert crit.should_stop(None, X, labeled_mask=mask, n_labeled=4)
    messages = [r.getMessage() for r in caplog.records if r.name == "skprepal.stopping"]
    assert messages == [f"MaxLabels: stop after 2 calls: {crit.reason_}"]


def test_stabilizing_predictions_logs_its_kappa_and_stops_at_the_threshold(caplog):
    from skprepal.stopping import StabilizingPredictions

    X = np.zeros((10, 2))
    X[:, 0] = np.arange(10) % 3
    mask = np.arange(10) < 3
    crit = StabilizingPredictions(stop_set_size=5, window=2, threshold=1.0)
    with caplog.at_level("DEBUG", logger="skprepal.stopping"):
        answers = [crit.should_stop(ColumnHead(), X, labeled_mask=mask, n_labeled=3,
                                    random_state=0) for _ in range(3)]
    assert answers == [False, False, True]  # a kappa of exactly the threshold stops
    assert "StabilizingPredictions: mean kappa 1.0000 over 2 rounds" in caplog.messages


def test_stabilizing_predictions_draws_its_stop_set_from_the_unlabeled_rows_or_all():
    from skprepal.stopping import StabilizingPredictions

    X = np.zeros((8, 2))
    one_left = np.ones(8, dtype=bool)
    one_left[5] = False
    crit = StabilizingPredictions(stop_set_size=4)
    crit.should_stop(ColumnHead(), X, labeled_mask=one_left, n_labeled=7, random_state=0)
    assert crit.stop_set_.tolist() == [5]
    everything = StabilizingPredictions(stop_set_size=4)
    everything.should_stop(ColumnHead(), X, labeled_mask=np.ones(8, bool), n_labeled=8,
                           random_state=0)
    assert everything.stop_set_.size == 4 and np.unique(everything.stop_set_).size == 4
    assert ((everything.stop_set_ >= 0) & (everything.stop_set_ < 8)).all()
    with pytest.raises(InvalidInputError, match=r"^X has 7 rows but had 8 on the first call; a "
                       r"StabilizingPredictions keeps row numbers of its stop set, so X must not "
                       r"change within a loop\. Clone the criterion to start a new loop\.$"):
        everything.should_stop(ColumnHead(), X[:7], labeled_mask=np.ones(7, bool), n_labeled=7)


@pytest.mark.parametrize("container", ["dataframe", "list"])
def test_criteria_read_rows_from_dataframes_and_lists(container):
    pd = pytest.importorskip("pandas")
    from skprepal.stopping import StabilizingPredictions, UncertaintyThreshold

    X = np.zeros((9, 2))
    X[:, 0] = [0, 1, 2, 2, 1, 0, 1, 2, 0]
    X[:, 1] = 5.0
    rows = pd.DataFrame(X, index=np.arange(9) * 10) if container == "dataframe" else X.tolist()
    mask = np.arange(9) < 2
    stable = StabilizingPredictions(stop_set_size=9, window=1)
    stable.should_stop(ColumnHead(), rows, labeled_mask=mask, n_labeled=2, random_state=0)
    np.testing.assert_array_equal(stable.predictions_, X[stable.stop_set_, 0].astype(int))
    confident = UncertaintyThreshold(aggregate="mean")
    confident.should_stop(ColumnHead(), rows, labeled_mask=mask, n_labeled=2)
    assert confident.uncertainties_[-1] == pytest.approx(0.2)


def test_criteria_take_sparse_rows_and_refuse_a_bad_label_count():
    from scipy.sparse import csr_matrix

    X = csr_matrix(np.eye(6))
    mask = np.arange(6) < 2
    crit = MaxLabels(max_labels=2)
    assert crit.should_stop(None, X, labeled_mask=mask, n_labeled=2)
    for bad in (2.5, -1):
        with pytest.raises(InvalidInputError, match=rf"^n_labeled must be an int >= 0, got "
                           rf"{bad!r}\.$"):
            MaxLabels().should_stop(None, X, labeled_mask=mask, n_labeled=bad)


# -- defaults ------------------------------------------------------------------------------------


def test_the_defaults_are_the_documented_ones():
    params = PRepALLearner().get_params()
    assert params["query_strategy"] == "class_balanced_margin"
    assert params["initial_strategy"] == "random"
    assert (params["batch_size"], params["initial_size"], params["missing_label"]) == (50, 50, -1)


# -- tags ----------------------------------------------------------------------------------------


class TextsOnlyHead(ClassifierMixin, BaseEstimator):
    """A head that says it reads texts and no 2-D arrays (its tags are all that is asked of it)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string, tags.input_tags.two_d_array = True, False
        return tags


@pytest.mark.parametrize(
    "head, string, two_d_array",
    [
        (None, False, True),
        (make_pipeline(TfidfVectorizer(), LogisticRegression()), True, True),
        (TextsOnlyHead(), True, False),
    ],
    ids=["default", "text-pipeline", "texts-only"],
)
def test_the_learners_input_tags_are_its_heads(head, string, two_d_array):
    tags = get_tags(PRepALLearner(estimator=head)).input_tags
    assert (tags.string, tags.two_d_array, tags.sparse, tags.allow_nan) == (
        string, two_d_array, False, False
    )


# -- the X given to fit ----------------------------------------------------------------------------


_NEEDS_VECTORS = "^" + re.escape(
    "LogisticRegression needs numeric vectors, but X holds texts. Embed them first, e.g. "
    "Pipeline([('embed', FrozenLLMTransformer()), ('al', PRepALLearner())]), or use a text head."
) + "$"


def _text_head_learner():
    head = make_pipeline(TfidfVectorizer(), LogisticRegression())
    return PRepALLearner(estimator=head, initial_size=4, budget=8, random_state=0)


def test_texts_in_a_pandas_series_are_seen_as_texts():
    pd = pytest.importorskip("pandas")
    texts = pd.Series(["good film", "bad film", "great plot", "awful plot"] * 5)
    y = np.array([1, 0, 1, 0] * 5)
    with pytest.raises(InvalidInputError, match=_NEEDS_VECTORS):
        PRepALLearner().fit(texts, y)
    learner = _text_head_learner().fit(texts, y)
    assert learner.labeled_indices_.size == 8 and set(learner.predict(texts)) <= {0, 1}


def test_a_list_of_text_pairs_is_seen_as_texts():
    pairs = [["good film", "a plot"], ["bad film", "no plot"]] * 5
    with pytest.raises(InvalidInputError, match=_NEEDS_VECTORS):
        PRepALLearner().fit(pairs, np.array([1, 0] * 5))


def test_a_dataframe_of_texts_records_its_column_name():
    pd = pytest.importorskip("pandas")
    texts = pd.DataFrame({"review": ["good film", "bad film", "great plot", "awful plot"] * 5})
    learner = _text_head_learner().fit(texts, np.array([1, 0, 1, 0] * 5))
    assert learner.feature_names_in_.tolist() == ["review"] and learner.n_features_in_ == 1


@pytest.mark.parametrize("strategy", ["coreset", "kmeans", "typiclust", "badge", "dal"])
def test_numbers_held_as_objects_are_read_as_floats(strategy):
    rng = np.random.RandomState(0)
    X = rng.randint(-100, 100, size=(300, 6))
    y = np.where(np.arange(300) < 30, (X[:, 0] + X[:, 1] > 0).astype(int), -1)
    params = {"query_strategy": strategy, "batch_size": 10, "random_state": 0}
    picks = PRepALLearner(**params).fit(X.astype(object), y).query()
    np.testing.assert_array_equal(picks, PRepALLearner(**params).fit(X.astype(float), y).query())


@pytest.mark.parametrize(
    "X, n_labels, error, message",
    [
        (scipy.sparse.csr_matrix(np.eye(20)), 20, TypeError,
         "Sparse data was passed for X, but dense data is required"),
        (np.empty((0, 3)), 0, ValueError, r"Found array with 0 sample\(s\) \(shape=\(0, 3\)\)"),
        (np.array([], dtype=object), 0, ValueError, "Expected 2D array, got 1D array instead"),
        ([], 0, ValueError, "Expected 2D array, got 1D array instead"),
    ],
    ids=["sparse", "no-rows", "empty-1d", "empty-list"],
)
def test_x_that_holds_no_texts_gets_sklearns_message(X, n_labels, error, message):
    with pytest.raises(error, match=message):
        PRepALLearner().fit(X, np.zeros(n_labels))


# -- the y given to fit ----------------------------------------------------------------------------


def test_fit_without_y_says_what_y_is_for(blobs):
    X, _ = blobs
    message = (
        "PRepALLearner requires y to be passed, but the target y is None: pass the oracle's "
        "labels for a simulation, or labels with missing_label=-1 marking the pool for "
        "interactive labeling."
    )
    with pytest.raises(InvalidInputError, match=f"^{re.escape(message)}$"):
        PRepALLearner().fit(X, None)


@pytest.mark.parametrize("missing", [[-1], (-1,), np.array([-1])], ids=["list", "tuple", "array"])
def test_a_sequence_as_missing_label_is_refused(blobs, missing):
    # Compared item by item, [-1] would mark the -1 rows of int labels but not of float ones.
    X, y = blobs
    partial = np.where(np.arange(len(y)) < 40, y, -1)
    message = (
        f"missing_label={missing!r} must be one value marking the rows without a label (a "
        "number, a string, or None/NaN), not a sequence."
    )
    for labels in (partial, partial.astype(float)):
        with pytest.raises(InvalidInputError, match=f"^{re.escape(message)}$"):
            PRepALLearner(missing_label=missing).fit(X, labels)


def test_a_column_of_labels_is_taken_with_sklearns_warning(blobs):
    X, y = blobs
    partial = np.where(np.arange(len(y)) < 40, y, -1)
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        column = PRepALLearner(random_state=0).fit(X, partial[:, None])
    flat = PRepALLearner(random_state=0).fit(X, partial)
    np.testing.assert_array_equal(column.y_labeled_, flat.y_labeled_)
    np.testing.assert_array_equal(column.query(), flat.query())


@pytest.mark.parametrize("shape", [(300, 2), (300, 1, 1), (1, 300)])
def test_labels_of_another_shape_are_refused_by_shape(blobs, shape):
    X, _ = blobs
    y = np.full(shape, -1)
    with pytest.raises(InvalidInputError, match=f"^y should be a 1d array, got shape "
                       f"{re.escape(str(shape))}\\.$"):
        PRepALLearner().fit(X, y)


# -- declared classes ------------------------------------------------------------------------------


def _unlabeled(n):
    return np.full(n, None, dtype=object)


def test_declared_classes_keep_their_type(blobs):
    X, _ = blobs
    names = PRepALLearner(classes=["neg", "pos"], missing_label=None).fit(X, _unlabeled(300))
    assert names.classes_.dtype == object and names.classes_.tolist() == ["neg", "pos"]
    numbers = PRepALLearner(classes=[2, 0, 1]).fit(X, np.full(300, -1))
    assert numbers.classes_.dtype.kind == "i" and numbers.classes_.tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    "y, classes, missing",
    [
        (np.full(300, -1), ["neg", "pos"], -1),
        (np.full(300, -1, dtype=np.int8), [0, 300], -1),
        (np.full(300, "", dtype="<U1"), ["neg", "pos"], ""),
    ],
    ids=["names-beside-int", "300-beside-int8", "long-names-beside-U1"],
)
def test_declared_classes_the_unlabeled_y_cannot_hold_are_taught_as_given(
    blobs, y, classes, missing
):
    X, _ = blobs
    learner = PRepALLearner(classes=classes, missing_label=missing, random_state=0).fit(X, y)
    learner.teach([0, 1], classes)
    assert learner.y_labeled_.tolist() == classes


def test_declared_classes_y_can_hold_keep_its_dtype(blobs):
    X, _ = blobs
    learner = PRepALLearner(classes=[2, 0, 1], random_state=0).fit(X, np.full(300, -1))
    learner.teach([0, 1, 2], [2, 0, 1])
    assert learner.y_labeled_.dtype == np.full(1, -1).dtype
    assert learner.y_labeled_.tolist() == [2, 0, 1]


def test_a_label_its_integer_type_cannot_hold_is_refused(blobs):
    X, y = blobs
    y = np.where(np.arange(300) < 20, y, -1).astype(np.int8)
    learner = PRepALLearner(missing_label=-1, random_state=0).fit(X, y)
    with pytest.raises(InvalidInputError, match=r"labels \[300\]\.\.\. do not fit the labels given "
                       r"to fit \(dtype int8\)"):
        learner.teach([20], [300])
    assert learner.labeled_indices_.size == 20


@pytest.mark.parametrize(
    "classes, first_labels, message",
    [
        (np.array([1, "a"], dtype=object), [None], r"^classes=array\(\[1, 'a'\], dtype=object\) "
         r"mixes labels of different types; use labels of one type\.$"),
        (["billing", "login"], ["biling"], r"^y holds label 'biling', which is not among "
         r"classes=\['billing', 'login'\]; add it to classes or fix the label\. Did you mean "
         r"'billing'\?$"),
        (["billing", "login"], ["refund"], r"^y holds label 'refund', which is not among "
         r"classes=\['billing', 'login'\]; add it to classes or fix the label\.$"),
        # Labels of several types in y: still the first one outside the classes, named.
        (["billing", "login"], ["login", 3], r"^y holds label 3, which is not among "
         r"classes=\['billing', 'login'\]; add it to classes or fix the label\.$"),
    ],
)
def test_labels_outside_the_declared_classes_are_named(blobs, classes, first_labels, message):
    X, _ = blobs
    y = _unlabeled(300)
    y[: len(first_labels)] = first_labels
    with pytest.raises(InvalidInputError, match=message):
        PRepALLearner(classes=classes, missing_label=None).fit(X, y)


def test_forget_checks_its_refit_flag(blobs):
    X, y = blobs
    learner = _session(X, y)
    with pytest.raises(InvalidInputError, match=r"^refit must be True or False, got 'yes'\.$"):
        learner.forget([0], refit="yes")
    assert 0 in learner.labeled_indices_


def test_criteria_read_rows_from_sparse_matrices():
    from scipy.sparse import csr_matrix

    from skprepal.stopping import StabilizingPredictions, UncertaintyThreshold

    X, y = make_blobs(n_samples=60, centers=2, n_features=4, random_state=0)
    X = np.abs(X)
    head = LogisticRegression().fit(csr_matrix(X[:20]), y[:20])
    mask = np.arange(60) < 20
    dense, sparse = UncertaintyThreshold(aggregate="mean"), UncertaintyThreshold(aggregate="mean")
    dense.should_stop(head, X, labeled_mask=mask, n_labeled=20)
    sparse.should_stop(head, csr_matrix(X), labeled_mask=mask, n_labeled=20)
    assert sparse.uncertainties_ == pytest.approx(dense.uncertainties_)
    stable = StabilizingPredictions(stop_set_size=10)
    stable.should_stop(head, csr_matrix(X), labeled_mask=mask, n_labeled=20, random_state=0)
    np.testing.assert_array_equal(stable.predictions_, head.predict(X[stable.stop_set_]))


class OwnSelectRows:
    """A strategy whose own select_rows returns what it is given to return."""

    @staticmethod
    def make(rows):
        from skprepal.strategies import QueryStrategy

        class Fixed(QueryStrategy):
            def select(self, estimator, X_pool, n, **context):
                return np.arange(n)

            def select_rows(self, estimator, X, pool_mask, n, **context):
                return rows

        return Fixed()


@pytest.mark.parametrize(
    "rows, message",
    [
        (np.array([40, 3]), "query strategy 'Fixed' picked row 3, which is labeled or skipped; "
                            "select_rows picks only rows where pool_mask is True."),
        (np.array([40, 40]), "query strategy 'Fixed' returned the same position twice."),
        (np.array([40, 300]), r"query strategy 'Fixed' returned positions outside the pool of 300 "
                              r"rows \(min 40, max 300\)."),
        (np.arange(40, 46), "query strategy 'Fixed' returned 6 positions; 5 were asked for."),
        ([40.0], "query strategy 'Fixed' returned float64 values of shape"),
    ],
)
def test_a_strategys_own_select_rows_is_checked_by_the_learner(blobs, rows, message):
    X, y = blobs
    learner = _session(X, y, query_strategy=OwnSelectRows.make(rows))
    with pytest.raises(InvalidInputError, match="^" + message):
        learner.query()
    # Refused before anything changed.
    assert learner.labeled_indices_.size == 30 and learner.skipped_indices_.size == 0


# -- the simulated loop ----------------------------------------------------------------------------


def test_a_simulation_without_an_initial_sample_starts_with_one_batch_of_the_initial_strategy(
    blobs,
):
    X, y = blobs
    # initial_size=0: no head can be fit yet, so the first round is batch_size rows picked by
    # initial_strategy; the budget caps the last round and, below batch_size, the first one.
    learner = PRepALLearner(initial_size=0, batch_size=7, budget=20, random_state=0).fit(X, y)
    rounds = [(r["n_labeled"], r["n_queried"]) for r in learner.history_]
    assert rounds == [(7, 7), (14, 7), (20, 6)]
    assert learner.history_[0]["strategy"] == "random"
    small = PRepALLearner(initial_size=0, batch_size=50, budget=12, random_state=0).fit(X, y)
    assert [(r["n_labeled"], r["strategy"]) for r in small.history_] == [(12, "random")]
    assert small.stop_reason_ == "budget of 12 labels reached"


class StopOnSecondCheck(BaseEstimator):
    """A criterion that stops at its second check and never says why (no ``reason_``)."""

    def should_stop(self, estimator, X, *, labeled_mask, n_labeled, random_state=None):
        self.checks_ = getattr(self, "checks_", 0) + 1
        return self.checks_ == 2


@pytest.mark.parametrize(
    "n_samples, params, n_labeled, reason",
    [
        (30, {}, 30, "the pool is empty"),
        (300, {"budget": 25}, 25, "budget of 25 labels reached"),
        # A criterion without reason_: the learner names the criterion in general.
        (300, {"stopping": StopOnSecondCheck()}, 20, "stopping criterion"),
    ],
)
def test_each_end_of_a_simulation_sets_its_reason_and_logs_it(
    caplog, n_samples, params, n_labeled, reason
):
    X, y = make_blobs(n_samples=n_samples, centers=3, n_features=6, random_state=0)
    learner = PRepALLearner(batch_size=10, initial_size=10, random_state=0, **params)
    with caplog.at_level("INFO", logger="skprepal.learner"):
        learner.fit(X, y)
    assert learner.labeled_indices_.size == n_labeled
    assert learner.stop_reason_ == reason
    messages = [r.getMessage() for r in caplog.records if r.name == "skprepal.learner"]
    assert messages[-1] == f"simulation ended with {n_labeled} labels: {reason}"


def test_the_stopping_criterion_draws_from_the_seed(blobs):
    from skprepal.stopping import StabilizingPredictions

    X, y = blobs
    # The stop set (50 of the 290 rows unlabeled at the first check) is drawn from the
    # random_state the learner passes: the same seed draws the same stop set, fit after fit.
    stop_sets = []
    for _ in range(2):
        crit = StabilizingPredictions(stop_set_size=50, window=2, threshold=0.98)
        learner = PRepALLearner(stopping=crit, batch_size=10, initial_size=10, budget=40,
                                random_state=0).fit(X, y)
        stop_sets.append(learner.stopping_.stop_set_)
    assert stop_sets[0].size == 50
    np.testing.assert_array_equal(stop_sets[0], stop_sets[1])


# -- columns of the head -------------------------------------------------------------------------


def test_a_binary_head_that_knows_every_class_answers_as_it_is():
    X, y = make_blobs(n_samples=80, centers=2, n_features=4, random_state=0)
    learner = _session(X, y, n_labeled=20)
    # Both classes labeled: the head's own answers, a binary decision_function of one score per
    # row as scikit-learn's binary classifiers give it.
    scores = learner.decision_function(X[:5])
    assert scores.shape == (5,)
    np.testing.assert_array_equal(scores, learner.estimator_.decision_function(X[:5]))
    np.testing.assert_array_equal(learner.predict_proba(X[:5]),
                                  learner.estimator_.predict_proba(X[:5]))


# -- the interactive session -----------------------------------------------------------------------


def test_skipping_a_labeled_row_names_it_and_how_to_take_the_label_back(blobs):
    X, y = blobs
    learner = _session(X, y)  # rows 0-29 labeled
    with pytest.raises(InvalidInputError, match=r"^row 3 holds a label and cannot be skipped; "
                       r"forget\(\[3\]\) takes the label back first\.$"):
        learner.skip([50, 3, 4])
    assert learner.skipped_indices_.size == 0  # refused before anything changed


def test_a_refit_records_the_time_of_the_query_it_answers_or_none(blobs):
    X, y = blobs
    learner = _session(X, y)
    # Labels taught without a query: the record holds no query time and no strategy.
    learner.teach([40], [y[40]])
    assert learner.history_[-1]["query_seconds"] == 0.0 and learner.history_[-1]["strategy"] is None
    picked = learner.query()
    learner.teach(picked, y[picked])
    assert learner.history_[-1]["query_seconds"] > 0.0
    assert learner.history_[-1]["strategy"] == "class_balanced_margin"
    # The query was answered by that refit: the next one, without a query, has none again.
    learner.teach([41], [y[41]])
    assert learner.history_[-1]["query_seconds"] == 0.0 and learner.history_[-1]["strategy"] is None


def test_predicting_without_a_head_says_why(blobs):
    X, y = blobs
    failed = PRepALLearner(stopping=MaxLabels(max_labels=0))
    with pytest.raises(InvalidInputError):
        failed.fit(X, y)
    # A fit that failed after setting stopping_ leaves a learner that is not fitted.
    for method in (failed.predict, failed.predict_proba):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            method(X[:2])
    cold = PRepALLearner().fit(X, np.full(300, -1))
    with pytest.raises(NotFittedError, match=r"^PRepALLearner has no labels yet, so no head to "
                       r"predict with; teach\(\) some first\.$"):
        cold.predict_proba(X[:2])


@pytest.mark.parametrize("n", [2.5, True, np.float64(3.0)])
def test_query_refuses_a_count_that_is_not_an_integer(blobs, n):
    X, y = blobs
    learner = _session(X, y)
    # Neither a float (even a whole one) nor a bool counts rows: refused, not rounded to int(n).
    with pytest.raises(InvalidInputError, match=rf"^n={re.escape(repr(n))} must be a positive "
                       r"integer \(or None for batch_size\)\.$"):
        learner.query(n)


# -- what the strategies are handed --------------------------------------------------------------


def test_the_default_head_fits_to_a_gradient_tolerance_of_1e_3_in_at_most_1000_iterations():
    # set_params(estimator__...) puts the default head in place: its settings are the
    # benchmarked ones (tol=1e-3 is 30-40% faster than the default 1e-4 at the same accuracy).
    head = PRepALLearner().set_params(estimator__C=1.0).estimator
    assert head.get_params()["tol"] == 1e-3 and head.get_params()["max_iter"] == 1000


class RecordsWhatItIsHanded(QueryStrategy):
    """Picks the first pool rows; appends what it was handed to the class's ``handed`` list
    (the learner clones its strategies, so an instance attribute would be lost)."""

    handed: list = []

    def select(self, estimator, X_pool, n, **context):
        RecordsWhatItIsHanded.handed.append(
            (estimator, context["classes"], context["random_state"].random_sample())
        )
        return np.arange(n)


def test_the_initial_strategy_gets_no_head_while_only_one_class_is_labeled(blobs, monkeypatch):
    X, y = blobs
    monkeypatch.setattr(RecordsWhatItIsHanded, "handed", [])
    one_class = np.full(len(y), -1)
    one_class[np.flatnonzero(y == y[0])[:5]] = y[0]  # five labels, all of one class
    learner = PRepALLearner(initial_strategy=RecordsWhatItIsHanded(), random_state=0)
    learner.fit(X, one_class).query(3)
    # The head is a one-class DummyClassifier, which cannot rank rows: it is not handed on.
    assert learner.estimator_ is not None
    assert RecordsWhatItIsHanded.handed[-1][:2] == (None, None)


def test_the_query_randomness_depends_on_the_label_state(blobs, monkeypatch):
    X, _ = blobs
    monkeypatch.setattr(RecordsWhatItIsHanded, "handed", [])
    pool = np.full(len(X), -1)
    draws = []
    for skipped in (0, 1):
        learner = PRepALLearner(initial_strategy=RecordsWhatItIsHanded(), random_state=0)
        learner.fit(X, pool).skip([skipped]).query(1)
        draws.append(RecordsWhatItIsHanded.handed[-1][2])
    # Two label states of one seed draw differently (same size of pool, other rows).
    assert draws[0] != draws[1]


# -- how the learner tells labeled rows from the pool, and the labels teach refuses ----------


@pytest.fixture
def X():
    return make_blobs(n_samples=60, centers=2, n_features=3, random_state=0)[0]


def _int_session(X):
    y = np.where(np.arange(60) < 10, np.arange(60) % 2, -1)
    return PRepALLearner(random_state=0).fit(X, y)


def _str_session(X, missing):
    y = np.array(["spam", "ham"] * 5 + [missing] * 50, dtype=object)
    return PRepALLearner(missing_label=missing, random_state=0).fit(X, y)


def test_pandas_nat_among_string_labels_marks_the_pool_under_missing_label_none(X):
    pd = pytest.importorskip("pandas")
    # A date-typed step upstream can leave NaT, not None, where a label is missing.
    y = pd.Series(["spam", "ham"] * 5 + [pd.NaT] * 50, dtype=object)
    learner = PRepALLearner(missing_label=None, random_state=0).fit(X, y)
    assert learner.labeled_indices_.tolist() == list(range(10))
    assert learner.classes_.tolist() == ["ham", "spam"]


def test_teach_takes_one_row_and_one_label_as_scalars(X):
    learner = _int_session(X)
    learner.teach(20, 1)
    assert learner.labeled_indices_.tolist() == [*range(10), 20]
    assert learner.y_labeled_[-1] == 1


@pytest.mark.parametrize(
    "session, labels, message",
    [
        # Neither None nor 0 is the marker, so neither is called it: they are labels of
        # another type than the ones given to fit.
        (lambda X: _str_session(X, -1), [None],
         "y mixes labels of different types (['NoneType', 'str']); use labels of the same type."),
        (lambda X: _str_session(X, ""), [0],
         "y mixes labels of different types (['int', 'str']); use labels of the same type."),
        (_int_session, [-1],
         "the label of row 21 is missing_label=-1; teach only real labels (skip() a row that "
         "should get none)."),
        # NaN from a table among string labels is no class (it is not the marker -1 either).
        (lambda X: _str_session(X, -1), [float("nan")],
         "label nan is not a class: labels are whole numbers, strings or booleans, all of the "
         "same type."),
    ],
    ids=["none-under-int-marker", "int-under-str-marker", "the-marker", "nan-among-strings"],
)
def test_teach_refuses_a_label_that_is_no_class_and_says_why(X, session, labels, message):
    learner = session(X)
    with pytest.raises(InvalidInputError, match=f"^{re.escape(message)}$"):
        learner.teach([21], labels)
    assert learner.labeled_indices_.tolist() == list(range(10))


def test_a_label_count_unlike_the_row_count_names_both(X):
    learner = _int_session(X)
    with pytest.raises(InvalidInputError, match=r"^got 2 indices but 3 labels\.$"):
        learner.teach([21, 22], [0, 1, 0])


def test_labels_of_the_wrong_type_are_shown_by_their_first_three(X):
    learner = _int_session(X)
    message = (
        "labels ['a', 'b', 'c']... do not fit the labels given to fit (dtype int64); use labels "
        "of the same type."
    )
    with pytest.raises(InvalidInputError, match=f"^{re.escape(message)}$"):
        learner.teach([21, 22, 23, 24], ["a", "b", "c", "d"])


@pytest.mark.parametrize(
    "indices, message",
    [
        ([20.0], "indices must be a 1-D array of integer row numbers, got float64 of shape (1,)."),
        ([20, 20], "indices repeat a row; give each row once per call."),
        # Row 0 is in range: the row named is the first one outside 0..59.
        ([0, 60, -1], "index 60 is out of range: X given to fit has 60 rows (0..59)."),
        ([5, -1], "index -1 is out of range: X given to fit has 60 rows (0..59)."),
    ],
    ids=["not-integers", "repeated", "past-the-end", "negative"],
)
def test_bad_row_numbers_are_called_indices_as_the_parameter_is(X, indices, message):
    with pytest.raises(InvalidInputError, match=f"^{re.escape(message)}$"):
        _int_session(X).skip(indices)


def test_labels_of_more_than_one_dimension_are_refused_by_their_shape():
    learner = PRepALLearner(random_state=0).fit(np.eye(4), np.array([0, 1, -1, -1]))
    with pytest.raises(InvalidInputError) as refused:
        learner.teach([2], [[0, 1]])
    expected = "labels are one per row, a 1-D sequence; got an array of shape (1, 2)."
    assert str(refused.value) == expected
    assert learner.labeled_indices_.tolist() == [0, 1]


def test_the_history_records_the_seconds_each_query_and_refit_took(blobs):
    X, y = blobs
    start = time.perf_counter()
    learner = PRepALLearner(batch_size=10, initial_size=10, budget=40, random_state=0).fit(X, y)
    elapsed = time.perf_counter() - start
    # Durations, not clock readings: each at least zero, together within the fit's own time.
    seconds = [(r["query_seconds"], r["fit_seconds"]) for r in learner.history_]
    assert len(seconds) == 4 and all(q >= 0 and f >= 0 for q, f in seconds)
    assert sum(q + f for q, f in seconds) <= elapsed


def test_a_head_fit_on_one_label_per_class_is_logged_once_with_the_warning(caplog):
    import logging

    X, y = make_blobs(n_samples=120, centers=40, n_features=4, random_state=0)
    partial = np.full(120, -1)
    first = [int(np.flatnonzero(y == c)[0]) for c in range(40)]
    partial[first] = y[first]
    with caplog.at_level(logging.INFO, logger="skprepal"):
        learner = PRepALLearner(random_state=0).fit(X, partial)
        rows = learner.query(5)
        learner.teach(rows, y[rows])
    logged = [r.getMessage() for r in caplog.records
              if r.getMessage().startswith("fitting a head on fewer than two labels per class: ")]
    assert len(logged) == 1 and "The number of unique classes is greater than 50%" in logged[0]


class WarnsInFit(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        warnings.warn("from the head's own fit", RuntimeWarning, stacklevel=1)
        return super().fit(X, y, sample_weight)


def test_other_warnings_of_the_heads_fit_reach_the_user_as_raised():
    X, y = make_blobs(n_samples=60, centers=2, n_features=3, random_state=0)
    with pytest.warns(RuntimeWarning, match="^from the head's own fit$") as caught:
        PRepALLearner(estimator=WarnsInFit(), random_state=0).fit(X, np.where(
            np.arange(60) < 10, y, -1))
    (warning,) = [w for w in caught if "own fit" in str(w.message)]
    assert warning.category is RuntimeWarning and warning.filename == __file__
    assert warning.lineno == WarnsInFit.fit.__code__.co_firstlineno + 1


def test_the_history_holds_skipped_and_forgotten_rows_as_row_arrays():
    X, y = make_blobs(n_samples=60, centers=2, n_features=3, random_state=0)
    learner = PRepALLearner(random_state=0).fit(X, np.where(np.arange(60) < 10, y, -1))
    rows = learner.query(5)
    learner.skip(rows[:2]).forget([0]).teach(rows[2:], y[rows[2:]])
    # forget() refits at once: its entry records the rows skipped and forgotten since the last.
    (entry,) = [h for h in learner.history_ if h["skipped"].size]
    assert sorted(entry["skipped"].tolist()) == sorted(rows[:2].tolist())
    assert entry["forgotten"].tolist() == [0]
    arrays = [h[key] for h in learner.history_ for key in ("skipped", "forgotten")]
    assert all(a.dtype == np.intp for a in arrays) and arrays[0].size == 0


class RecordsItsLabels(QueryStrategy):
    """Picks the first pool rows; records the dtype and values of the y_labeled it is handed."""

    seen: list = []

    def select(self, estimator, X_pool, n, **context):
        RecordsItsLabels.seen.append(context["y_labeled"])
        return np.arange(n)


@pytest.mark.parametrize(
    "labels, dtype",
    [([1, 0], np.int64), ([True, False], np.bool_), ([1.0, 2.0], np.float64), (["a", "b"], "<U1")],
    ids=["int", "bool", "float", "str"],
)
def test_a_cold_start_hands_strategies_its_labels_in_the_type_they_share(
    monkeypatch, labels, dtype
):
    # A cold start holds labels as objects; strategies get them as plain numpy labels.
    monkeypatch.setattr(RecordsItsLabels, "seen", [])
    X = np.random.RandomState(0).normal(size=(20, 3))
    learner = PRepALLearner(initial_strategy=RecordsItsLabels(), query_strategy=RecordsItsLabels(),
                            missing_label=None, random_state=0)
    learner.fit(X, np.full(20, None, dtype=object))
    learner.query(2)
    learner.teach([0], [labels[0]])
    learner.query(2)
    learner.teach([1], [labels[1]])
    learner.query(2)
    one, two = RecordsItsLabels.seen[-2], RecordsItsLabels.seen[-1]
    assert one.dtype == np.dtype(dtype) and one.tolist() == [labels[0]]
    assert two.dtype == np.dtype(dtype) and two.tolist() == list(labels)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.float32, np.bool_])
def test_labels_given_in_a_numpy_dtype_reach_strategies_and_predict_in_it(monkeypatch, dtype):
    monkeypatch.setattr(RecordsItsLabels, "seen", [])
    X = np.random.RandomState(0).normal(size=(20, 3))
    y = np.array([0, 1] * 10, dtype=dtype)
    learner = PRepALLearner(query_strategy=RecordsItsLabels(), initial_size=4, batch_size=2,
                            budget=8, random_state=0).fit(X, y)
    assert RecordsItsLabels.seen and all(s.dtype == np.dtype(dtype) for s in RecordsItsLabels.seen)
    assert learner.predict(X).dtype == np.dtype(dtype)
