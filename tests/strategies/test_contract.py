"""The contract every strategy keeps: registered ones (found automatically) and modAL functions."""

from __future__ import annotations

import numpy as np
import pytest
from modAL.uncertainty import entropy_sampling, margin_sampling, uncertainty_sampling
from sklearn.linear_model import LogisticRegression

from skprepal.strategies import available_strategies, resolve_strategy

N_POOL = 40


@pytest.fixture(scope="module")
def problem():
    rng = np.random.RandomState(0)
    centres = rng.normal(size=(3, 64)) * 1.5
    y = rng.randint(3, size=60 + N_POOL)
    X = centres[y] + rng.normal(size=(y.shape[0], 64))
    clf = LogisticRegression().fit(X[:60], y[:60])
    return clf, X[60:], X[:60], y[:60]


SPECS = [*available_strategies(), entropy_sampling, margin_sampling, uncertainty_sampling]


def _id(spec):
    return spec if isinstance(spec, str) else f"modAL.{spec.__name__}"


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_strategy_contract(spec, problem):
    clf, X_pool, X_labeled, y_labeled = problem
    strategy = resolve_strategy(spec)

    def query(n, seed=0):
        return strategy(
            clf, X_pool, n, X_labeled=X_labeled, y_labeled=y_labeled, classes=clf.classes_,
            random_state=np.random.RandomState(seed), pool_indices=np.arange(100, 100 + N_POOL),
        )

    picks = query(7)
    assert isinstance(picks, np.ndarray) and picks.dtype == np.intp and picks.ndim == 1
    assert picks.shape == (7,) and np.unique(picks).size == 7
    assert picks.min() >= 0 and picks.max() < N_POOL
    np.testing.assert_array_equal(picks, query(7))  # same seed, same picks

    everything = query(N_POOL + 5)
    assert isinstance(everything, np.ndarray) and everything.dtype == np.intp
    np.testing.assert_array_equal(np.sort(everything), np.arange(N_POOL))

    one = query(1)
    assert isinstance(one, np.ndarray) and one.dtype == np.intp and one.shape == (1,)
    assert 0 <= one[0] < N_POOL

    none = query(0)
    assert isinstance(none, np.ndarray) and none.dtype == np.intp and none.shape == (0,)
