"""Names, aliases, user callables, modAL functions and strategy objects as estimators."""

from __future__ import annotations

import re

import numpy as np
import pytest
from modAL.uncertainty import entropy_sampling, margin_sampling, uncertainty_sampling
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils import estimator_checks as checks

from skprepal.exceptions import InvalidInputError
from skprepal.strategies import (
    BALD,
    ContrastiveAL,
    DiscriminativeAL,
    EntropySampling,
    KMeansSampling,
    LeastConfidence,
    MarginSampling,
    available_strategies,
    resolve_strategy,
)
from skprepal.strategies._registry import _REGISTRY


@pytest.fixture(scope="module")
def problem():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(120, 8))
    y = np.argmax(X[:, :3] + 0.5 * rng.normal(size=(120, 3)), axis=1)
    return LogisticRegression().fit(X[:40], y[:40]), X[40:]


@pytest.mark.parametrize(
    ("name", "cls"),
    [("variation_ratio", LeastConfidence), ("breaking_ties", MarginSampling),
     ("max_entropy", EntropySampling), ("Breaking-Ties", MarginSampling),
     ("margin", MarginSampling), ("Breaking Ties", MarginSampling),
     (" Max-Entropy ", EntropySampling)],
)
def test_aliases_resolve(name, cls):
    assert type(resolve_strategy(name)) is cls


def test_every_alias_resolves_to_its_strategy():
    for name, aliases in available_strategies().items():
        for alias in [name, *aliases]:
            assert type(resolve_strategy(alias)) is _REGISTRY[name]


@pytest.mark.parametrize("name, hint", [("entopy", " Did you mean 'entropy'?"), ("zzz", "")])
def test_unknown_name_lists_every_name_and_suggests_the_closest(name, hint):
    names = available_strategies()
    aliases = sorted(alias for group in names.values() for alias in group)
    message = (
        f"query_strategy={name!r} is not a known strategy; choose one of "
        f"{', '.join(sorted(names))} (aliases: {', '.join(aliases)}), pass a strategy object, or "
        f"any callable f(estimator, X_pool, n, **context) -> indices.{hint}"
    )
    with pytest.raises(InvalidInputError, match=f"^{re.escape(message)}$"):
        resolve_strategy(name)


def test_something_else_is_neither_a_name_nor_a_strategy():
    with pytest.raises(InvalidInputError, match="neither a strategy name"):
        resolve_strategy(42)


def test_user_callable_without_context(problem):
    clf, X_pool = problem

    def first_rows(estimator, X_pool, n):
        return list(range(n))

    picks = resolve_strategy(first_rows)(clf, X_pool, 3, X_labeled=X_pool, random_state=0)
    assert isinstance(picks, np.ndarray) and picks.dtype == np.intp
    assert picks.tolist() == [0, 1, 2]


def test_user_callable_receives_the_context_it_declares(problem):
    clf, X_pool = problem
    seen = {}

    def spy(estimator, X_pool, n, random_state=None, **context):
        seen.update(context, random_state=random_state)
        return np.arange(n)

    resolve_strategy(spy)(clf, X_pool, 2, X_labeled="L", classes="C", random_state=7)
    assert seen == {"X_labeled": "L", "classes": "C", "random_state": 7}


@pytest.mark.parametrize(
    ("result", "message"),
    [((np.arange(2), np.zeros(2)), "returned a tuple"), ([0, 500], "outside the pool"),
     ([-1], "outside the pool"), ([1, 1], "same position twice"),
     ([0.5, 1.5], "integer pool positions"), ([0, 1, 2, 3], "were asked for")],
)
def test_bad_callable_results_are_explained(problem, result, message):
    clf, X_pool = problem
    strategy = resolve_strategy(lambda estimator, X_pool, n: result)
    with pytest.raises(InvalidInputError, match=message):
        strategy(clf, X_pool, 2)


@pytest.mark.parametrize(
    ("modal", "ours"),
    [(entropy_sampling, "entropy"), (margin_sampling, "margin"),
     (uncertainty_sampling, "least_confidence")],
)
def test_modal_functions_pick_what_ours_pick(problem, modal, ours):
    clf, X_pool = problem
    theirs = resolve_strategy(modal)(clf, X_pool, 10)
    mine = resolve_strategy(ours)(clf, X_pool, 10)
    assert set(theirs.tolist()) == set(mine.tolist())
    raw = modal(clf, X_pool, n_instances=10)
    raw = raw[0] if isinstance(raw, tuple) else raw
    assert set(np.asarray(raw).tolist()) == set(mine.tolist())


CONFIGURED = [
    BALD(n_samples=3, n_members=4, random_tie_break=True),
    DiscriminativeAL(discriminator=LogisticRegression(C=0.5), n_subqueries=3, max_unlabeled=100),
    KMeansSampling(minibatch_threshold=10, max_iter=5),
    ContrastiveAL(n_neighbors=3, random_tie_break=True),
    MarginSampling(random_tie_break=True),
]


@pytest.mark.parametrize("strategy", CONFIGURED, ids=lambda s: type(s).__name__)
def test_strategy_objects_survive_clone(strategy):
    copy = clone(strategy)
    assert type(copy) is type(strategy) and copy is not strategy
    params, copied = strategy.get_params(deep=False), copy.get_params(deep=False)
    assert params.keys() == copied.keys()
    for key, value in params.items():
        if hasattr(value, "get_params"):
            assert type(copied[key]) is type(value)
            assert copied[key].get_params() == value.get_params()
        else:
            assert copied[key] == value


DATA_FREE_CHECKS = [
    checks.check_estimator_cloneable,
    checks.check_no_attributes_set_in_init,
    checks.check_parameters_default_constructible,
    checks.check_get_params_invariance,
    checks.check_set_params,
    checks.check_estimator_repr,
]


@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", sorted(_REGISTRY))
def test_registered_strategies_are_sklearn_style(name, check):
    strategy = _REGISTRY[name]()
    check(type(strategy).__name__, strategy)


@pytest.mark.parametrize("name", sorted(n for n, cls in _REGISTRY.items() if cls.needs_vectors))
def test_vector_strategies_reject_texts(problem, name):
    clf, _ = problem
    texts = np.array(["refund please", "login fails", "great product"], dtype=object)
    with pytest.raises(InvalidInputError, match="FrozenLLMTransformer"):
        resolve_strategy(name)(clf, texts, 1, X_labeled=np.zeros((2, 8)), random_state=0)


@pytest.mark.parametrize("name", ["cal", "coreset", "dal"])
def test_strategies_comparing_with_labeled_rows_reject_labeled_texts(problem, name):
    clf, X_pool = problem
    with pytest.raises(InvalidInputError, match="FrozenLLMTransformer"):
        resolve_strategy(name)(
            clf, X_pool[:, :8], 1, X_labeled=np.array(["a", "b"]), y_labeled=[0, 1],
            random_state=0,
        )


def test_the_vector_strategies_are_the_distance_ones():
    needs = {n for n, cls in _REGISTRY.items() if cls.needs_vectors}
    assert {"badge", "cal", "coreset", "dal", "kmeans"} <= needs
    assert not needs & {"random", "entropy", "margin", "least_confidence", "bald"}
