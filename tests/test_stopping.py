"""Stopping criteria on constructed sequences of heads."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from skprepal.exceptions import InvalidInputError
from skprepal.stopping import (
    AnyOf,
    MaxLabels,
    StabilizingPredictions,
    StoppingCriterion,
    UncertaintyThreshold,
    uncertainty,
)

N = 40
X = np.arange(N, dtype=float).reshape(-1, 1)


class FakeHead:
    """Predicts from column 0 of X with a fixed rule; ``proba`` is the same for every row."""

    def __init__(self, labels=None, proba=None):
        self.labels = labels
        self.proba = proba

    def predict(self, X):
        rows = np.asarray(X[:, 0], dtype=int)
        return np.asarray(self.labels)[rows]

    def predict_proba(self, X):
        return np.tile(np.asarray(self.proba, dtype=float), (X.shape[0], 1))


def ask(crit, head, *, n_labeled=5, mask=None, random_state=0):
    if mask is None:
        mask = np.zeros(N, dtype=bool)
        mask[:n_labeled] = True
    return crit.should_stop(
        head, X, labeled_mask=mask, n_labeled=n_labeled, random_state=random_state
    )


# -- MaxLabels ----------------------------------------------------------------------------------


def test_max_labels_boundary():
    crit = MaxLabels(max_labels=10)
    assert not ask(crit, None, n_labeled=9)
    assert crit.reason_ is None
    assert ask(crit, None, n_labeled=10)
    assert "10" in crit.reason_
    assert ask(crit, None, n_labeled=11)
    assert crit.n_calls_ == 3


# -- StabilizingPredictions ---------------------------------------------------------------------


def _labels(flip_upto: int) -> np.ndarray:
    """Class 1 for rows >= N/2, with rows below ``flip_upto`` also flipped to 1."""
    labels = (np.arange(N) >= N // 2).astype(int)
    labels[:flip_upto] = 1
    return labels


def test_stabilizing_predictions_stops_exactly_when_the_window_is_stable():
    # Rounds 0-3 change predictions on 4 stop-set rows each; from round 3 on they are identical.
    heads = [FakeHead(_labels(k)) for k in (20, 16, 12, 8, 8, 8, 8, 8)]
    crit = StabilizingPredictions(stop_set_size=N, window=3, threshold=0.99)
    answers = [ask(crit, head) for head in heads]
    # kappas: r0->r1, r1->r2, r2->r3 differ; r3->r4, r4->r5, r5->r6 are 1.0: stop at round 6.
    assert answers == [False] * 6 + [True, True]
    assert max(crit.kappas_[:3]) < 0.99
    assert crit.kappas_[3:] == [1.0] * 4
    assert crit.reason_ == "kappa 1.000 >= 0.99 over the last 3 rounds"


def test_stabilizing_predictions_records_cohens_kappa_between_rounds():
    from sklearn.metrics import cohen_kappa_score

    crit = StabilizingPredictions(stop_set_size=N, window=1, threshold=0.5)
    before, after = _labels(0), _labels(4)
    # No row labeled: the stop set is all 40 rows.
    assert not ask(crit, FakeHead(before), n_labeled=0)
    # 4 of 40 rows changed: kappa 0.8, at or above the threshold of 0.5, so the loop stops.
    assert ask(crit, FakeHead(after), n_labeled=0)
    expected = cohen_kappa_score(before, after)
    assert 0.5 < expected < 1.0
    assert crit.kappas_ == [pytest.approx(expected)]


def test_a_first_call_that_is_refused_leaves_no_reason():
    crit = StabilizingPredictions(stop_set_size=5)
    with pytest.raises(InvalidInputError, match="labeled_mask"):
        crit.should_stop(FakeHead(_labels(0)), X, labeled_mask=np.zeros(3, dtype=bool), n_labeled=0)
    assert crit.reason_ is None


def test_stabilizing_predictions_earliest_stop_is_after_window_kappas():
    crit = StabilizingPredictions(stop_set_size=10, window=2, threshold=0.5)
    head = FakeHead(_labels(0))
    assert [ask(crit, head) for _ in range(4)] == [False, False, True, True]


def test_stabilizing_predictions_single_class_counts_as_agreement():
    crit = StabilizingPredictions(stop_set_size=10, window=1)
    ones = FakeHead(np.ones(N, dtype=int))
    zeros = FakeHead(np.zeros(N, dtype=int))
    assert not ask(crit, ones)
    assert ask(crit, ones)  # one class in both rounds: kappa undefined, agreement 1.0
    assert not ask(crit, zeros)  # all flipped: no agreement
    assert crit.kappas_ == [1.0, 0.0]


def test_stabilizing_predictions_stop_set_is_reproducible_and_unlabeled():
    mask = np.zeros(N, dtype=bool)
    mask[::2] = True
    head = FakeHead(_labels(0))
    sets = []
    for _ in range(2):
        crit = StabilizingPredictions(stop_set_size=8)
        ask(crit, head, mask=mask, n_labeled=int(mask.sum()), random_state=np.random.RandomState(3))
        sets.append(crit.stop_set_)
    np.testing.assert_array_equal(sets[0], sets[1])
    assert len(sets[0]) == 8 and not mask[sets[0]].any()
    other = StabilizingPredictions(stop_set_size=8)
    ask(other, head, mask=mask, n_labeled=int(mask.sum()), random_state=4)
    assert not np.array_equal(other.stop_set_, sets[0])


def test_stabilizing_predictions_small_pool_uses_every_unlabeled_row():
    crit = StabilizingPredictions(stop_set_size=1000)
    ask(crit, FakeHead(_labels(0)), n_labeled=30)
    np.testing.assert_array_equal(crit.stop_set_, np.arange(30, N))


def test_stabilizing_predictions_rejects_a_changed_X():
    crit = StabilizingPredictions(stop_set_size=5)
    ask(crit, FakeHead(_labels(0)))
    with pytest.raises(InvalidInputError, match="must not change"):
        crit.should_stop(
            FakeHead(_labels(0)), X[:20], labeled_mask=np.zeros(20, dtype=bool), n_labeled=0
        )


# -- UncertaintyThreshold -----------------------------------------------------------------------


@pytest.mark.parametrize("measure", ["max_probability", "entropy", "margin"])
@pytest.mark.parametrize("aggregate", ["max", "mean"])
def test_uncertainty_threshold_stops_when_the_head_becomes_confident(measure, aggregate):
    crit = UncertaintyThreshold(threshold=0.1, measure=measure, aggregate=aggregate)
    probas = [[0.5, 0.5], [0.7, 0.3], [0.85, 0.15], [0.999, 0.001]]
    answers = [ask(crit, FakeHead(proba=p)) for p in probas]
    assert answers == [False, False, False, True]
    assert crit.uncertainties_[0] == pytest.approx(1.0 if measure != "max_probability" else 0.5)
    assert np.all(np.diff(crit.uncertainties_) < 0)
    assert measure in crit.reason_


@pytest.mark.parametrize(
    "measure, proba, value",
    [("max_probability", [0.75, 0.25], 0.25), ("margin", [0.75, 0.25], 0.5)],
)
def test_uncertainty_threshold_is_strictly_below(measure, proba, value):
    # The uncertainty equals the threshold exactly (both are exact binary fractions): no stop.
    # Just above it stops; a fully confident head never reaches a threshold of 0.
    at = UncertaintyThreshold(threshold=value, measure=measure)
    assert not ask(at, FakeHead(proba=proba)) and at.uncertainties_ == [value]
    assert at.reason_ is None
    above = UncertaintyThreshold(threshold=value + 2**-20, measure=measure)
    assert ask(above, FakeHead(proba=proba))
    assert above.reason_ == (
        f"max {measure} uncertainty {value:.3f} < {value + 2**-20} on {N - 5} unlabeled rows"
    )
    zero = UncertaintyThreshold(threshold=0.0, measure=measure)
    assert not ask(zero, FakeHead(proba=[1.0, 0.0])) and zero.uncertainties_ == [0.0]


def test_uncertainty_threshold_stops_without_unlabeled_rows():
    crit = UncertaintyThreshold()
    assert ask(crit, FakeHead(proba=[0.5, 0.5]), n_labeled=N)
    assert crit.reason_ == "no unlabeled rows remain"


def test_uncertainty_threshold_needs_predict_proba():
    crit = UncertaintyThreshold()
    with pytest.raises(InvalidInputError, match="predict_proba"):
        ask(crit, object())


def test_uncertainty_measures_are_in_unit_interval():
    proba = np.array([[1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    np.testing.assert_allclose(uncertainty(proba, "max_probability"), [2 / 3, 0.0, 0.5])
    np.testing.assert_allclose(uncertainty(proba, "entropy"), [1.0, 0.0, np.log(2) / np.log(3)])
    np.testing.assert_allclose(uncertainty(proba, "margin"), [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(uncertainty(np.ones((2, 1)), "entropy"), [0.0, 0.0])


# -- AnyOf --------------------------------------------------------------------------------------


def test_any_of_stops_on_the_first_and_keeps_asking_all():
    stab = StabilizingPredictions(stop_set_size=10, window=1)
    crit = AnyOf([MaxLabels(max_labels=7), stab])
    head = FakeHead(_labels(0))
    assert not ask(crit, head, n_labeled=5)
    assert ask(crit, head, n_labeled=6)  # stabilised predictions
    assert crit.reason_.startswith("StabilizingPredictions: kappa")
    assert ask(crit, head, n_labeled=7)  # both stop: the first listed wins
    assert crit.stopped_by_ is crit.criteria_[0]
    assert crit.reason_ == "MaxLabels: 7 labels >= max_labels=7"
    assert crit.criteria_[1].n_calls_ == 3
    assert not hasattr(stab, "n_calls_")  # the object passed in is untouched


def test_any_of_empty_never_stops():
    assert not ask(AnyOf(), None)
    assert not ask(AnyOf([]), None)


# -- sklearn integration and errors -------------------------------------------------------------


@pytest.mark.parametrize(
    "crit",
    [
        MaxLabels(max_labels=3),
        StabilizingPredictions(stop_set_size=5, window=1),
        UncertaintyThreshold(threshold=0.5),
        AnyOf([MaxLabels(max_labels=3)]),
    ],
    ids=lambda c: type(c).__name__,
)
def test_clone_gives_fresh_state(crit):
    head = FakeHead(_labels(0), proba=[0.9, 0.1])
    ask(crit, head, n_labeled=3)
    ask(crit, head, n_labeled=3)
    assert crit.n_calls_ == 2
    fresh = clone(crit)
    assert not [k for k in vars(fresh) if k.endswith("_")]
    assert fresh.get_params(deep=False).keys() == crit.get_params(deep=False).keys()
    # A fresh StabilizingPredictions has no previous round to compare with; the others stop.
    assert ask(fresh, head, n_labeled=3) == (not isinstance(crit, StabilizingPredictions))


def test_base_class_is_abstract():
    with pytest.raises(TypeError, match="abstract class StoppingCriterion"):
        StoppingCriterion()


@pytest.mark.parametrize(
    "crit, match",
    [
        (MaxLabels(max_labels=0), r"'max_labels' parameter of MaxLabels must be an int in the range \[1, inf\)\. Got 0"),
        (MaxLabels(max_labels=2.5), r"'max_labels' parameter of MaxLabels must be an int.*Got 2.5"),
        (StabilizingPredictions(stop_set_size=0), r"'stop_set_size' parameter .* Got 0"),
        (StabilizingPredictions(window=0), r"'window' parameter .* Got 0"),
        (StabilizingPredictions(threshold=1.5), r"'threshold' .* range \[-1.0, 1.0\]\. Got 1.5"),
        (UncertaintyThreshold(threshold=-0.1), r"'threshold' .* range \[0.0, 1.0\]\. Got -0.1"),
        (UncertaintyThreshold(measure="entropi"), r"Got 'entropi' instead\. Did you mean 'entropy'"),
        (UncertaintyThreshold(aggregate="median"), r"'aggregate' parameter .* Got 'median'"),
        (AnyOf(MaxLabels(max_labels=3)), r"takes a list"),
        (AnyOf([MaxLabels(), "max_labels"]), r"criteria\[1\] is a str"),
    ],
)
def test_bad_params_raise_clear_errors_on_first_call(crit, match):
    with pytest.raises(InvalidInputError, match=match):
        ask(crit, FakeHead(_labels(0), proba=[0.5, 0.5]))


def test_bad_mask_raises():
    with pytest.raises(InvalidInputError, match="labeled_mask must be a boolean array"):
        MaxLabels().should_stop(None, X, labeled_mask=np.zeros(N), n_labeled=0)
    with pytest.raises(InvalidInputError, match="shape"):
        MaxLabels().should_stop(None, X, labeled_mask=np.zeros(3, dtype=bool), n_labeled=0)


@pytest.mark.parametrize(
    "crit",
    [MaxLabels(), StabilizingPredictions(), UncertaintyThreshold(), AnyOf([MaxLabels()])],
    ids=lambda c: type(c).__name__,
)
def test_sklearn_data_free_checks(crit):
    from sklearn.utils import estimator_checks as checks

    name = type(crit).__name__
    for check in (
        checks.check_estimator_cloneable,
        checks.check_estimator_repr,
        checks.check_no_attributes_set_in_init,
        checks.check_do_not_raise_errors_in_init_or_set_params,
        checks.check_parameters_default_constructible,
        checks.check_get_params_invariance,
        checks.check_set_params,
    ):
        check(name, crit)
