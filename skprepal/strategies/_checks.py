"""The contract every query strategy keeps, as checks anyone can run on their own strategy.

In the spirit of scikit-learn's and imbalanced-learn's ``estimator_checks``: each check takes a
strategy (a name, an object or a callable, as :class:`~skprepal.PRepALLearner` takes it) and
raises ``AssertionError`` saying what broke the contract.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from skprepal.exceptions import InvalidInputError
from skprepal.strategies._base import QueryStrategy, ScoreStrategy
from skprepal.strategies._registry import resolve_strategy

__all__ = ["check_strategy", "strategy_checks"]

_N_LABELED = 60
_N_POOL = 40


def _problem() -> dict[str, Any]:
    """Three well-separated classes in 16 dimensions, a head fit on the first 60 rows."""
    rng = np.random.RandomState(0)
    centres = rng.normal(size=(3, 16)) * 2.0
    y = np.r_[np.arange(3).repeat(_N_LABELED // 3), rng.randint(3, size=_N_POOL)]
    X = (centres[y] + rng.normal(size=(y.shape[0], 16))).astype(np.float64)
    head = LogisticRegression().fit(X[:_N_LABELED], y[:_N_LABELED])
    return {"X": X, "y": y, "head": head}


def _context(problem: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    X, y, head = problem["X"], problem["y"], problem["head"]
    return {
        "X_labeled": X[:_N_LABELED],
        "y_labeled": y[:_N_LABELED],
        "classes": head.classes_,
        "random_state": np.random.RandomState(seed),
    }


def _query(strategy: QueryStrategy, problem: dict[str, Any], n: int, seed: int = 0) -> np.ndarray:
    X_pool = problem["X"][_N_LABELED:]
    return strategy(
        problem["head"],
        X_pool,
        n,
        pool_indices=np.arange(_N_LABELED, _N_LABELED + _N_POOL),
        **_context(problem, seed),
    )


def check_parameters(strategy: QueryStrategy) -> None:
    """``get_params`` and ``clone`` round-trip; every ``__init__`` argument is constrained."""
    params = strategy.get_params()
    twin = clone(strategy, safe=False)
    assert type(twin) is type(strategy), "clone() must return the same type"
    assert twin.get_params().keys() == params.keys(), "clone() changed the parameters"
    missing = [
        p for p in type(strategy)._get_param_names() if p not in strategy._parameter_constraints
    ]
    assert not missing, (
        f"{type(strategy).__name__} has parameters without _parameter_constraints: {missing}"
    )


def _described(value: Any) -> str:
    """``ndarray of int32, shape (7,)`` for an array, the type's name otherwise."""
    if isinstance(value, np.ndarray):
        return f"ndarray of {value.dtype}, shape {value.shape}"
    return type(value).__name__


def check_picks_distinct_pool_positions(strategy: QueryStrategy) -> None:
    """Distinct, in-range ``intp`` positions: ``n`` of them, all the pool when ``n`` exceeds it."""
    problem = _problem()
    for n in (1, 7, _N_POOL, _N_POOL + 5):
        picks = _query(strategy, problem, n)
        expected = min(n, _N_POOL)
        assert isinstance(picks, np.ndarray) and picks.dtype == np.intp and picks.ndim == 1, (
            f"n={n}: a strategy returns a 1-D intp array, got {_described(picks)}"
        )
        assert picks.shape == (expected,), f"n={n}: expected {expected} picks, got {picks.shape}"
        assert np.unique(picks).size == expected, f"n={n}: a position was picked twice"
        assert picks.min() >= 0 and picks.max() < _N_POOL, f"n={n}: a position is out of range"
    assert _query(strategy, problem, 0).shape == (0,), "n=0 must return an empty array"


def check_reproducible(strategy: QueryStrategy) -> None:
    """The same ``random_state`` gives the same picks."""
    problem = _problem()
    np.testing.assert_array_equal(
        _query(strategy, problem, 7, seed=3),
        _query(strategy, problem, 7, seed=3),
        err_msg="the same random_state must give the same picks",
    )


def check_stateless(strategy: QueryStrategy) -> None:
    """A query does not write to the strategy: the learner's clone stays as it was."""
    problem = _problem()
    before = joblib.hash(vars(strategy))
    _query(strategy, problem, 7)
    strategy.select_rows(
        problem["head"], problem["X"], _pool_mask(), 5, **_context(problem)
    )
    assert joblib.hash(vars(strategy)) == before, (
        f"{type(strategy).__name__} changed its own attributes while querying; keep per-query "
        "state in local variables"
    )


def _pool_mask() -> np.ndarray:
    mask = np.zeros(_N_LABELED + _N_POOL, dtype=bool)
    mask[_N_LABELED:] = True
    mask[_N_LABELED::3] = False  # skipped rows, say
    return mask


def check_select_rows_stays_in_the_pool(strategy: QueryStrategy) -> None:
    """``select_rows`` on the whole ``X`` returns only rows where the pool mask is True."""
    problem = _problem()
    mask = _pool_mask()
    for n in (1, 9, int(mask.sum()) + 3):
        rows = np.asarray(
            strategy.select_rows(problem["head"], problem["X"], mask, n, **_context(problem))
        )
        expected = min(n, int(mask.sum()))
        assert rows.shape == (expected,), f"n={n}: expected {expected} rows, got {rows.shape}"
        assert np.unique(rows).size == expected, f"n={n}: a row was picked twice"
        assert mask[rows].all(), f"n={n}: picked a row outside the pool (labeled or skipped)"


def check_chunking_does_not_change_picks(strategy: QueryStrategy) -> None:
    """For a score strategy, scoring in chunks of 7 rows picks what scoring at once picks."""
    if not isinstance(strategy, ScoreStrategy):
        return
    problem = _problem()
    mask = _pool_mask()
    whole = strategy.select_rows(problem["head"], problem["X"], mask, 9, **_context(problem))
    chunked = strategy.select_rows(
        problem["head"], problem["X"], mask, 9, chunk_rows=7, **_context(problem)
    )
    np.testing.assert_array_equal(whole, chunked, err_msg="chunked scoring changed the picks")


def check_drives_the_learner(strategy: QueryStrategy) -> None:
    """In :class:`~skprepal.PRepALLearner`, queries skip labeled and skipped rows."""
    from skprepal.learner import PRepALLearner

    problem = _problem()
    X, y = problem["X"], problem["y"]
    before = joblib.hash(vars(strategy))
    partial = np.where(np.arange(y.shape[0]) < _N_LABELED, y, -1)
    learner = PRepALLearner(query_strategy=strategy, batch_size=5, random_state=0).fit(X, partial)
    first = _learner_query(learner, "query 1", 5)
    learner.skip(first[:2]).teach(first[2:], y[first[2:]])
    # The whole rest of the pool: a strategy that proposes a skipped row cannot leave it out by
    # chance, as a random one asked for a batch would three times in four.
    _learner_query(learner, "query 2", _N_POOL - first.shape[0])
    assert joblib.hash(vars(strategy)) == before, "the learner changed the strategy it was given"


def _learner_query(learner: Any, which: str, n: int) -> np.ndarray:
    """``learner.query(n)``; the learner refusing the picks (a labeled or skipped row) fails."""
    try:
        picks = learner.query(n)
    except InvalidInputError as exc:
        raise AssertionError(f"{which}: the learner refused the picks: {exc}") from exc
    assert picks.shape == (n,), f"{which}: expected {n} rows, got {picks.shape}"
    return picks


_CHECKS: tuple[Callable[[QueryStrategy], None], ...] = (
    check_parameters,
    check_picks_distinct_pool_positions,
    check_reproducible,
    check_stateless,
    check_select_rows_stays_in_the_pool,
    check_chunking_does_not_change_picks,
    check_drives_the_learner,
)


def strategy_checks(strategy: Any) -> Iterator[tuple[str, Callable[[], None]]]:
    """Yield ``(name, check)`` pairs, each check a no-argument callable, for ``pytest``.

    Parameters
    ----------
    strategy : str, QueryStrategy or callable
        What :class:`~skprepal.PRepALLearner` takes as ``query_strategy``.

    Yields
    ------
    name : str
        The check's name.
    check : callable
        Runs the check on a fresh clone of the strategy; raises ``AssertionError`` on failure.

    Examples
    --------
    In a test module, ``@pytest.mark.parametrize("name, check", strategy_checks(MyStrategy()))``
    over ``def test_contract(name, check): check()`` runs each check as its own test.

    >>> [name for name, check in strategy_checks("margin")][:2]
    ['check_parameters', 'check_picks_distinct_pool_positions']
    """
    resolved = resolve_strategy(strategy)
    for check in _CHECKS:

        def run(check: Callable[[QueryStrategy], None] = check) -> None:
            check(clone(resolved, safe=False))

        yield check.__name__, run


def check_strategy(strategy: Any) -> None:
    """Run every contract check on ``strategy``; raise on the first that fails.

    A strategy must: round-trip ``clone`` with every parameter constrained; return distinct,
    in-range positions (the whole pool when asked for more); give the same picks for the same
    ``random_state``; not write to itself; pick only pool rows through ``select_rows``; pick the
    same rows whatever the chunk size (score strategies); and drive a
    :class:`~skprepal.PRepALLearner` without proposing labeled or skipped rows.

    Parameters
    ----------
    strategy : str, QueryStrategy or callable
        What :class:`~skprepal.PRepALLearner` takes as ``query_strategy``.

    Raises
    ------
    AssertionError
        Naming the check and what broke the contract.

    Examples
    --------
    >>> from skprepal.strategies import MarginSampling, check_strategy
    >>> check_strategy(MarginSampling(random_tie_break=True))
    """
    for name, check in strategy_checks(strategy):
        try:
            check()
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc
