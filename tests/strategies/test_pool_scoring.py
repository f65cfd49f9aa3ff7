"""Scoring the pool on several threads changes no pick; the pool is still checked once."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from skprepal import PRepALLearner

RNG = np.random.RandomState(0)
X32 = RNG.randn(30_000, 16).astype(np.float32)
Y_TRUE = (X32[:, 0] + 0.5 * X32[:, 1] > 0).astype(int) + (X32[:, 2] > 1).astype(int)


def interactive_labels(n_labeled: int = 300) -> np.ndarray:
    y = np.full(X32.shape[0], -1)
    rows = np.random.RandomState(1).choice(X32.shape[0], n_labeled, replace=False)
    y[rows] = Y_TRUE[rows]
    return y


@pytest.mark.parametrize("strategy", ["margin", "entropy", "least_confidence"])
@pytest.mark.parametrize("tie_break", [False, True])
def test_several_scoring_threads_pick_the_same_rows(strategy, tie_break):
    from skprepal.strategies import resolve_strategy

    y = interactive_labels()
    picks = []
    for n_jobs in (None, 2, -1):
        chosen = resolve_strategy(strategy).set_params(random_tie_break=tie_break)
        learner = PRepALLearner(query_strategy=chosen, n_jobs=n_jobs, random_state=0)
        picks.append(learner.fit(X32, y).query(40))
    assert len(np.unique(picks[0])) == 40
    for other in picks[1:]:
        np.testing.assert_array_equal(other, picks[0])


def test_zero_scoring_threads_are_refused_with_the_allowed_values():
    with pytest.raises(ValueError, match="'n_jobs' parameter of PRepALLearner"):
        PRepALLearner(n_jobs=0).fit(X32, interactive_labels())


def test_a_non_finite_pool_is_still_refused_before_any_query():
    X = X32.copy()
    X[5, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        PRepALLearner(LogisticRegression(), random_state=0).fit(X, interactive_labels())
