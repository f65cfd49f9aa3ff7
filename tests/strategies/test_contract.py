"""The published contract check, run over every registered strategy and modAL's functions."""

from __future__ import annotations

import numpy as np
import pytest
from modAL.uncertainty import entropy_sampling, margin_sampling, uncertainty_sampling

from skprepal import PRepALLearner
from skprepal.exceptions import InvalidInputError
from skprepal.strategies import (
    BALD,
    QueryStrategy,
    ScoreStrategy,
    available_strategies,
    check_strategy,
    strategy_checks,
)

SPECS = [*available_strategies(), entropy_sampling, margin_sampling, uncertainty_sampling]
CASES = [
    (spec, name, check)
    for spec in SPECS
    for name, check in strategy_checks(spec)
]


def _id(case):
    spec, name, _ = case
    return f"{spec if isinstance(spec, str) else 'modAL.' + spec.__name__}-{name}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_every_strategy_keeps_the_contract(case):
    _, _, check = case
    check()


class WritesToItself(ScoreStrategy):
    def score(self, estimator, X_pool, **context):
        self.calls_ = getattr(self, "calls_", 0) + 1
        return np.zeros(len(X_pool))


class RepeatsARow(QueryStrategy):
    def select(self, estimator, X_pool, n, **context):
        return np.zeros(n, dtype=np.intp)


class ChunkDependent(ScoreStrategy):
    def score(self, estimator, X_pool, **context):
        return -np.arange(len(X_pool), dtype=float)  # favours the first row of every chunk


class DrawsFromTheGlobalGenerator(QueryStrategy):
    def select(self, estimator, X_pool, n, **context):
        return np.random.permutation(len(X_pool))[:n]  # noqa: NPY002 (the point: the global one)


class Unconstrained(QueryStrategy):
    def __init__(self, *, width=3):
        self.width = width

    def select(self, estimator, X_pool, n, **context):
        return np.arange(n)


class OneTooManyForOne(QueryStrategy):
    """Right for every n but 1, the smallest query."""

    def select(self, estimator, X_pool, n, **context):
        return np.arange(min(n, X_pool.shape[0]))

    def select_rows(self, estimator, X, pool_mask, n, **context):
        pool = np.flatnonzero(pool_mask)
        return pool[: 2 if n == 1 else min(n, pool.size)]


class OverrunsASmallPool(QueryStrategy):
    """Right until more rows are asked for than the pool holds."""

    def select(self, estimator, X_pool, n, **context):
        return np.arange(min(n, X_pool.shape[0]))

    def select_rows(self, estimator, X, pool_mask, n, **context):
        pool = np.flatnonzero(pool_mask)
        return pool[:n] if n <= pool.size else np.arange(n)


@pytest.mark.parametrize(
    "strategy, message",
    [
        (OneTooManyForOne(), r"n=1: expected 1 rows, got \(2,\)"),
        (OverrunsASmallPool(), r"n=\d+: expected \d+ rows, got"),
        (WritesToItself(), "check_stateless: WritesToItself changed its own attributes while "
                           "querying; keep per-query state in local variables"),
        (RepeatsARow(), "returned the same position twice"),
        (ChunkDependent(), "(?s)check_chunking_does_not_change_picks.*\nchunked scoring "
                           "changed the picks\n"),
        (DrawsFromTheGlobalGenerator(), "(?s)check_reproducible.*\nthe same random_state must "
                                        "give the same picks\n"),
        (Unconstrained(), "parameters without _parameter_constraints: \\['width'\\]"),
    ],
)
def test_the_check_catches_broken_strategies(strategy, message):
    with pytest.raises((AssertionError, InvalidInputError), match=message):
        check_strategy(strategy)


def test_the_learner_clones_and_validates_the_strategy_it_is_given():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] > 0).astype(int)
    strategy = BALD(n_members=3)
    PRepALLearner(query_strategy=strategy, batch_size=10, initial_size=20, budget=40).fit(X, y)
    assert vars(strategy) == {"n_samples": 10, "n_members": 3, "random_tie_break": False}
    with pytest.raises(InvalidInputError, match="'n_members' parameter of BALD must be an int in"):
        PRepALLearner(query_strategy=BALD(n_members=0)).fit(X, y)
    with pytest.raises(InvalidInputError, match="n_members"):
        BALD(n_members=0)(None, X, 3)  # on its own too, never "the first n rows"
