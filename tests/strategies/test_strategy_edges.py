"""Edges of the strategy layer that the known-picks and contract tests leave open: what the
registry records, what errors name, and that every documented argument is used.

Several of these were written to kill mutants that survived ``make mutation`` (tests/MUTATION.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from skprepal.exceptions import InvalidInputError
from skprepal.strategies import (
    BALD,
    EntropySampling,
    LeastConfidence,
    MarginSampling,
    QueryStrategy,
    available_strategies,
    register_strategy,
    resolve_strategy,
    top_n,
)
from skprepal.strategies import _registry


@pytest.fixture
def problem():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y, LogisticRegression().fit(X[:30], y[:30])


@pytest.fixture
def clean_registry(monkeypatch):
    """Register strategies for one test only."""
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))
    monkeypatch.setattr(_registry, "_ALIASES", dict(_registry._ALIASES))


def test_register_strategy_records_the_name_and_every_alias(clean_registry):
    @register_strategy("first_rows", "head_rows", "top_rows")
    class FirstRows(QueryStrategy):
        def select(self, estimator, X_pool, n, **context):
            return np.arange(n)

    assert FirstRows.name == "first_rows"
    assert available_strategies()["first_rows"] == ["head_rows", "top_rows"]
    for spelling in ("first_rows", "head_rows", "Top-Rows"):
        assert type(resolve_strategy(spelling)) is FirstRows


def test_top_n_names_itself_when_the_scores_have_the_wrong_shape():
    with pytest.raises(InvalidInputError, match="strategy 'top_n' scored 2 rows"):
        top_n(np.ones((2, 2)), 1)


@pytest.mark.parametrize(
    "strategy, name",
    [(EntropySampling(), "entropy"), (LeastConfidence(), "least_confidence"),
     (MarginSampling(), "margin")],
)
def test_uncertainty_needs_probabilities_and_says_which_strategy(problem, strategy, name):
    X, y, _ = problem
    head = LinearSVC().fit(X[:30], y[:30])
    with pytest.raises(InvalidInputError, match=f"query strategy '{name}' needs class prob"):
        strategy.score(head, X[30:])


def test_bald_score_uses_the_labeled_rows_of_the_context(problem):
    X, y, head = problem
    context = {"X_labeled": X[:30], "y_labeled": y[:30], "random_state": 0}
    scores = BALD(n_members=4).score(head, X[30:], **context)
    assert scores.shape == (30,) and (scores >= 0).all() and scores.max() > 0
    picks = BALD(n_members=4)(head, X[30:], 5, **context)
    np.testing.assert_array_equal(picks, top_n(scores, 5))


@pytest.mark.parametrize("n", [0, -2])
def test_top_n_of_none_is_an_empty_row_array(n):
    picks = top_n(np.array([0.3, 0.1, 0.2]), n)
    assert picks.shape == (0,) and picks.dtype == np.intp
