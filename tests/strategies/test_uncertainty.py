"""The uncertainty measures on the edges the known-picks tests leave open: the default measure,
the error messages, the dtype, rows a little off the simplex, and where the probabilities of
the uncertainty strategies come from.

Written to kill mutants that survived ``make mutation`` (tests/MUTATION.md).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from skprepal.exceptions import InvalidInputError
from skprepal.strategies import EntropySampling, LeastConfidence, MarginSampling, uncertainty
from skprepal.strategies._pool_scoring import pool_scoring
from skprepal.strategies._uncertainty import predict_proba_checked

PROBA = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.5, 0.25, 0.25]])


@pytest.fixture
def head_and_pool():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
    return LogisticRegression().fit(X[:100], y[:100]), X[100:]


def test_the_default_measure_is_least_confidence():
    np.testing.assert_array_equal(uncertainty(PROBA), 1.0 - PROBA.max(axis=1))


def test_an_unknown_measure_is_refused_with_its_name_and_a_suggestion():
    with pytest.raises(InvalidInputError, match="measure='margins'") as caught:
        uncertainty(PROBA, "margins")
    assert str(caught.value) == (
        "measure='margins' is not supported; choose one of 'entropy', 'margin', "
        "'max_probability'. Did you mean 'margin'?"
    )


@pytest.mark.parametrize("measure", ["max_probability", "entropy", "margin"])
def test_float32_probabilities_are_measured_in_float64(measure):
    proba32 = PROBA.astype(np.float32)
    scores = uncertainty(proba32, measure)
    assert scores.dtype == np.float64
    # The float32 numbers widened first, so the same as measuring their float64 copy.
    np.testing.assert_array_equal(scores, uncertainty(proba32.astype(np.float64), measure))


def test_entropy_of_rows_a_rounding_error_off_the_simplex_stays_in_zero_one():
    third = float(np.float32(1 / 3))  # a float32 head's uniform row sums to 1 + 3e-8
    proba = np.array(
        [
            [1.0, 0.0, -1e-12],  # a tiny negative entry counts as probability 0
            [1.0 + 1e-12, -1e-12, 0.0],  # a top entry just over 1: entropy just under 0
            [third, third, third],  # entropy just over log(3)
            [1.0, 0.0, 0.0],
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "invalid value in log" for the negative entries
        scores = uncertainty(proba, "entropy")
    np.testing.assert_array_equal(scores, [0.0, 0.0, 1.0, 0.0])
    # Certain rows score +0.0, not -0.0 (which prints as "-0.").
    assert not np.signbit(scores).any()


@pytest.mark.parametrize(
    "strategy", [EntropySampling(), LeastConfidence(), MarginSampling()], ids=lambda s: s.name
)
def test_the_missing_predict_proba_message_names_the_head_and_the_way_out(strategy):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    head = LinearSVC().fit(X, (X[:, 0] > 0).astype(int))
    expected = (
        f"query strategy {strategy.name!r} needs class probabilities, but LinearSVC has no "
        "predict_proba; use a probabilistic classifier (e.g. LogisticRegression) or "
        "query_strategy='random'."
    )
    with pytest.raises(InvalidInputError, match=re.escape(expected)) as caught:
        strategy.score(head, X)
    assert str(caught.value) == expected


def test_a_logistic_regression_is_scored_by_the_fast_product_only_while_scoring_the_pool(
    head_and_pool, monkeypatch
):
    head, X = head_and_pool
    calls = []
    own = LogisticRegression.predict_proba

    def counted(self, X_pool):
        calls.append(len(X_pool))
        return own(self, X_pool)

    monkeypatch.setattr(LogisticRegression, "predict_proba", counted)
    with pool_scoring():
        fast = MarginSampling().score(head, X)
    assert calls == []  # the learner's queries skip scikit-learn's per-call overhead
    slow = MarginSampling().score(head, X)
    assert calls == [len(X)]  # outside a query, the estimator is asked as it is
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-5)


def test_checked_probabilities_are_float64_even_from_the_float32_fast_product(head_and_pool):
    head, X = head_and_pool
    with pool_scoring():
        proba = predict_proba_checked(head, X, "margin")
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba, head.predict_proba(X), rtol=0, atol=1e-6)
