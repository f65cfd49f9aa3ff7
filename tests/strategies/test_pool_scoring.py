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


@pytest.mark.parametrize("n_classes", [2, 3, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_torch_product_gives_scikit_learns_probabilities(n_classes, dtype):
    from skprepal.strategies._pool_scoring import linear_proba

    rng = np.random.RandomState(n_classes)
    X = rng.randn(3000, 24).astype(dtype)
    # A dead feature, ~0 in every row as two of all-MiniLM-L6-v2's are: its coefficient is as
    # small, and is dropped from the product.
    X[:, 7] = rng.randn(3000) * 1e-32
    y = rng.randint(0, n_classes, 3000)
    head = LogisticRegression(C=10.0, max_iter=2000).fit(X[:500], y[:500])
    fast = linear_proba(head, X)
    assert fast is not None and fast.shape == (3000, n_classes) and fast.dtype == dtype
    np.testing.assert_allclose(fast, head.predict_proba(X), rtol=0, atol=1e-6)


def test_the_torch_product_is_used_only_for_a_plain_logistic_regression():
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skprepal.strategies._pool_scoring import linear_proba

    X, y = X32[:400], Y_TRUE[:400]
    assert linear_proba(LogisticRegressionCV(cv=2).fit(X, y), X) is None
    assert linear_proba(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), X) is None
    assert linear_proba(LogisticRegression().fit(X, y), X.astype(np.float16)) is None
    assert linear_proba(LogisticRegression().fit(X, y), X[:, :5]) is None  # sklearn explains


def test_queries_pick_what_scikit_learns_probabilities_pick():
    from skprepal.strategies import MarginSampling, uncertainty

    y = interactive_labels()
    learner = PRepALLearner(query_strategy="margin", random_state=0, n_jobs=2).fit(X32, y)
    picked = learner.query(30)
    # The same query ranked by scikit-learn's own predict_proba over the pool rows.
    pool = np.flatnonzero(y == -1)
    scores = uncertainty(learner.estimator_.predict_proba(X32[pool]), "margin")
    expected = pool[np.lexsort((pool, -scores))[:30]]
    np.testing.assert_array_equal(picked, expected)
    assert MarginSampling.parallel_chunks


@pytest.mark.parametrize("n_classes", [2, 3, 7])
def test_the_margin_is_the_gap_between_the_two_highest_probabilities_ties_included(n_classes):
    from skprepal.strategies import uncertainty

    rng = np.random.RandomState(n_classes)
    # Probabilities on a coarse grid, so that many rows tie at the top (margin 0, score 1).
    proba = rng.randint(0, 4, size=(2000, n_classes)).astype(np.float64) + 1e-3
    proba /= proba.sum(axis=1, keepdims=True)
    ordered = np.sort(proba, axis=1)
    expected = 1.0 - (ordered[:, -1] - ordered[:, -2])
    assert np.any(expected == 1.0) and np.any(expected < 1.0)
    np.testing.assert_array_equal(uncertainty(proba, "margin"), expected)
    # The same numbers laid out by column (as the fast product returns them).
    np.testing.assert_array_equal(uncertainty(np.asfortranarray(proba), "margin"), expected)


def test_scoring_settings_hold_only_inside_pool_scoring():
    from skprepal.strategies._pool_scoring import in_pool_scoring, pool_scoring, scoring_threads

    assert not in_pool_scoring() and scoring_threads() == 1  # a plain call scores on one thread
    with pool_scoring(3):
        assert in_pool_scoring() and scoring_threads() == 3
    assert not in_pool_scoring() and scoring_threads() == 1


def test_an_unfitted_logistic_regression_is_left_to_its_own_predict_proba():
    from skprepal.strategies._pool_scoring import linear_proba

    # No coef_ or intercept_: None, so that scikit-learn's NotFittedError is what the user sees.
    assert linear_proba(LogisticRegression(), X32[:10]) is None


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize(
    "fit_dtype, pool_dtype", [(np.float64, np.float32), (np.float32, np.float64)]
)
def test_a_head_fitted_on_other_floats_than_the_pool_gets_scikit_learns_probabilities(
    n_classes, fit_dtype, pool_dtype
):
    from skprepal.strategies._pool_scoring import linear_proba

    # coef_ and intercept_ keep the fit's dtype; the product is in the pool's.
    rng = np.random.RandomState(n_classes)
    X = rng.randn(600, 8)
    y = rng.randint(0, n_classes, 600)
    head = LogisticRegression().fit(X[:300].astype(fit_dtype), y[:300])
    assert head.coef_.dtype == fit_dtype and head.intercept_.dtype == fit_dtype
    pool = X[300:].astype(pool_dtype)
    fast = linear_proba(head, pool)
    assert fast is not None and fast.dtype == pool_dtype
    np.testing.assert_allclose(fast, head.predict_proba(pool), rtol=0, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_product_drops_exactly_the_coefficients_below_max_weight_times_eps_squared(dtype):
    from scipy.special import expit

    from skprepal.strategies._pool_scoring import linear_proba

    eps = float(np.finfo(dtype).eps)
    cut = eps**2  # max |w| is 1
    head = LogisticRegression()
    head.classes_ = np.array([0, 1])
    # Powers of two, so each row's one huge feature times its coefficient is exactly 1.
    head.coef_ = np.array([[1.0, cut, cut / 2, eps]])
    head.intercept_ = np.array([0.0])
    X = np.diag([1.0, 1 / cut, 2 / cut, 1 / eps]).astype(dtype)
    fast = linear_proba(head, X)
    # Kept: the largest, one at the cut exactly, one well above it; dropped: the one below.
    np.testing.assert_allclose(fast[:, 1], expit([1.0, 1.0, 0.0, 1.0]), rtol=0, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_softmax_of_large_decisions_is_finite_and_scikit_learns(dtype):
    from skprepal.strategies._pool_scoring import linear_proba

    head = LogisticRegression()
    head.classes_ = np.array([0, 1, 2])
    head.coef_ = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    head.intercept_ = np.zeros(3)
    # Decisions (800, 799, 0) and (0, -1, 0): exp(800) overflows and exp(-800) underflows in
    # both dtypes unless each row is shifted by its own largest decision.
    X = np.array([[800.0, 799.0], [0.0, -1.0]], dtype=dtype)
    fast = linear_proba(head, X)
    assert np.isfinite(fast).all()
    np.testing.assert_allclose(fast, head.predict_proba(X), rtol=0, atol=1e-6)
