"""DiscriminativeAL against a plain reference of the algorithm (Gissin & Shalev-Shwartz 2019).

The reference trains, for every sub-round, a discriminator on the labeled rows plus the rows
picked so far (class 0) against a sample of the unpicked rows (class 1), and takes the unpicked
rows with the highest P(unlabeled). Matching it pick for pick pins down which rows train the
discriminator, how they are labeled, which column is read, and how the unpicked rows are sampled.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from sklearn.utils import check_random_state

from skprepal.exceptions import InvalidInputError
from skprepal.strategies import DiscriminativeAL


def reference_dal(X_labeled, X_pool, n, n_subqueries, *, discriminator=None,
                  max_unlabeled=None, random_state=0):
    """The picks, written out directly; ties never occur on the continuous data used here."""
    rng = check_random_state(random_state)
    discriminator = discriminator or LogisticRegression(class_weight="balanced")
    picked = np.zeros(X_pool.shape[0], dtype=bool)
    order: list[int] = []
    for size in [len(s) for s in np.array_split(np.arange(n), n_subqueries)]:
        unpicked = np.flatnonzero(~picked)
        if max_unlabeled is not None and unpicked.size > max_unlabeled:
            unpicked = np.sort(rng.choice(unpicked, size=max_unlabeled, replace=False))
        known = np.vstack([X_labeled, X_pool[picked]])
        model = clone(discriminator).fit(
            np.vstack([known, X_pool[unpicked]]),
            np.r_[np.zeros(len(known), int), np.ones(len(unpicked), int)],
        )
        if hasattr(model, "predict_proba"):
            score = model.predict_proba(X_pool)[:, list(model.classes_).index(1)]
        else:
            score = model.decision_function(X_pool)
        score[picked] = -np.inf
        chosen = np.argsort(-score, kind="stable")[:size]
        order += chosen.tolist()
        picked[chosen] = True
    return order


@pytest.fixture
def rows():
    rng = np.random.RandomState(3)
    X_labeled = rng.normal(size=(25, 3))
    # The pool: rows like the labeled ones, and two regions the labeled set does not cover,
    # one of them (the smaller shift) only partly.
    X_pool = np.vstack([
        rng.normal(size=(60, 3)),
        rng.normal(size=(12, 3)) + [4.0, 0.0, 0.0],
        rng.normal(size=(12, 3)) + [0.0, 1.5, 1.5],
    ])
    return X_labeled, X_pool


@pytest.mark.parametrize("n_subqueries", [1, 3])
def test_picks_match_the_reference(rows, n_subqueries):
    X_labeled, X_pool = rows
    dal = DiscriminativeAL(n_subqueries=n_subqueries, max_unlabeled=None)
    picks = dal(None, X_pool, 9, X_labeled=X_labeled, random_state=0)
    expected = reference_dal(X_labeled, X_pool, 9, n_subqueries)
    # Within a sub-round the order is by score; compare sub-round by sub-round as sets.
    for got, want in zip(np.array_split(picks, n_subqueries),
                         np.array_split(np.array(expected), n_subqueries), strict=True):
        assert sorted(got.tolist()) == sorted(want.tolist())


def test_rows_picked_earlier_count_as_labeled(rows):
    """With sub-rounds the batch differs from one round's top 9 (the picks spread out)."""
    X_labeled, X_pool = rows
    one = DiscriminativeAL(n_subqueries=1, max_unlabeled=None)(
        None, X_pool, 9, X_labeled=X_labeled, random_state=0)
    three = DiscriminativeAL(n_subqueries=3, max_unlabeled=None)(
        None, X_pool, 9, X_labeled=X_labeled, random_state=0)
    assert set(one.tolist()) != set(three.tolist())


def test_the_unpicked_rows_are_subsampled_with_the_learners_random_state(rows):
    X_labeled, X_pool = rows
    for seed in (0, 1):
        picks = DiscriminativeAL(n_subqueries=2, max_unlabeled=20)(
            None, X_pool, 6, X_labeled=X_labeled, random_state=seed)
        expected = reference_dal(X_labeled, X_pool, 6, 2, max_unlabeled=20, random_state=seed)
        assert sorted(picks.tolist()) == sorted(expected)
    # A sample as large as the pool is the whole pool: the same picks as no cap at all.
    whole = DiscriminativeAL(n_subqueries=2, max_unlabeled=X_pool.shape[0])(
        None, X_pool, 6, X_labeled=X_labeled, random_state=0)
    assert sorted(whole.tolist()) == sorted(reference_dal(X_labeled, X_pool, 6, 2))


def test_the_default_discriminator_balances_the_classes(rows):
    """Unbalanced weighting moves the picks on this pool: class_weight="balanced" matters."""
    X_labeled, X_pool = rows
    picks = DiscriminativeAL(n_subqueries=1, max_unlabeled=None)(
        None, X_pool, 9, X_labeled=X_labeled, random_state=0)
    plain = reference_dal(X_labeled, X_pool, 9, 1, discriminator=LogisticRegression())
    balanced = reference_dal(X_labeled, X_pool, 9, 1)
    assert sorted(picks.tolist()) == sorted(balanced)
    assert sorted(plain) != sorted(balanced)


def test_a_given_discriminator_is_cloned_and_used(rows):
    X_labeled, X_pool = rows
    given = LogisticRegression(C=1e-3)
    picks = DiscriminativeAL(discriminator=given, n_subqueries=1, max_unlabeled=None)(
        None, X_pool, 9, X_labeled=X_labeled, random_state=0)
    assert sorted(picks.tolist()) == sorted(reference_dal(X_labeled, X_pool, 9, 1,
                                                          discriminator=given))
    assert not hasattr(given, "coef_")  # the caller's object is never fitted


def test_a_discriminator_without_predict_proba_ranks_by_decision_function(rows):
    X_labeled, X_pool = rows
    svc = LinearSVC(C=0.5, class_weight="balanced")
    picks = DiscriminativeAL(discriminator=svc, n_subqueries=2, max_unlabeled=None)(
        None, X_pool, 8, X_labeled=X_labeled, random_state=0)
    expected = reference_dal(X_labeled, X_pool, 8, 2, discriminator=svc)
    assert sorted(picks.tolist()) == sorted(expected)


class FitOnly(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self


def test_a_discriminator_that_cannot_score_says_what_it_needs(rows):
    X_labeled, X_pool = rows
    with pytest.raises(InvalidInputError, match="FitOnly has neither predict_proba nor "
                       "decision_function; DiscriminativeAL ranks pool rows by P"):
        DiscriminativeAL(discriminator=FitOnly(), n_subqueries=1)(
            None, X_pool, 3, X_labeled=X_labeled, random_state=0)


def test_a_cold_start_draws_distinct_rows_even_for_the_whole_pool(rows):
    _, X_pool = rows
    for n in (3, X_pool.shape[0]):
        picks = DiscriminativeAL(n_subqueries=1)(None, X_pool, n, random_state=0)
        assert np.unique(picks).size == n == picks.size


def test_labeled_rows_of_another_width_are_refused_by_the_strategys_name(rows):
    X_labeled, X_pool = rows
    with pytest.raises(InvalidInputError, match="query strategy 'dal': X_labeled has 2 features "
                       "but the pool has 3"):
        DiscriminativeAL()(None, X_pool, 3, X_labeled=X_labeled[:, :2], random_state=0)


def test_a_pool_within_max_unlabeled_leaves_the_random_state_as_it_was(rows):
    # Nothing to sample: the learner's random stream, shared with what it draws next, is untouched.
    X_labeled, X_pool = rows
    state = np.random.RandomState(0)
    DiscriminativeAL(n_subqueries=2, max_unlabeled=X_pool.shape[0])(
        None, X_pool, 6, X_labeled=X_labeled, random_state=state)
    assert state.randint(2**31) == np.random.RandomState(0).randint(2**31)


class Recording(ClassifierMixin, BaseEstimator):
    """A discriminator that scores by the first feature and keeps what it was trained on.

    ``proba`` False drops ``predict_proba`` (then ``decision_function`` ranks); ``votes`` makes
    the scores whole numbers of an integer dtype, as a voting ensemble gives; ``warn`` warns in
    ``fit``.
    """

    seen: ClassVar[list] = []

    def __init__(self, proba=True, votes=False, warn=None):
        self.proba, self.votes, self.warn = proba, votes, warn

    def fit(self, X, y):
        Recording.seen.append(np.asarray(y))
        if self.warn is not None:
            warnings.warn("from the discriminator", self.warn, stacklevel=2)
        self.classes_ = np.unique(y)
        return self

    def _score(self, X):
        score = np.asarray(X)[:, 0]
        return np.round(score * 10).astype(np.int64) if self.votes else score

    def __getattr__(self, name):
        if name == "predict_proba" and self.proba:
            return lambda X: np.c_[-self._score(X), self._score(X)]
        if name == "decision_function" and not self.proba:
            return self._score
        raise AttributeError(name)


@pytest.mark.parametrize("proba", [True, False])
@pytest.mark.parametrize("votes", [False, True])
def test_the_discriminator_learns_labeled_as_0_and_unlabeled_as_1_and_its_score_ranks(
    rows, proba, votes
):
    X_labeled, X_pool = rows
    Recording.seen.clear()
    picks = DiscriminativeAL(discriminator=Recording(proba=proba, votes=votes), n_subqueries=3,
                             max_unlabeled=None)(None, X_pool, 6, X_labeled=X_labeled,
                                                 random_state=0)
    # Three sub-rounds: the labeled rows and the picks so far are 0, the rest of the pool 1.
    for round_, y in enumerate(Recording.seen):
        assert y.dtype.kind == "i"
        assert np.count_nonzero(y == 0) == 25 + 2 * round_
        assert np.count_nonzero(y == 1) == 84 - 2 * round_
    # The highest first feature wins each sub-round (among equal votes, the lowest row).
    score = np.round(X_pool[:, 0] * 10) if votes else X_pool[:, 0]
    expected = np.lexsort((np.arange(84), -score))[:6]
    assert picks.tolist() == expected.tolist()


def test_only_the_discriminators_convergence_warnings_are_silenced(rows):
    X_labeled, X_pool = rows
    dal = DiscriminativeAL(discriminator=Recording(warn=ConvergenceWarning), n_subqueries=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dal(None, X_pool, 3, X_labeled=X_labeled, random_state=0)
    with pytest.warns(UserWarning, match="from the discriminator"):
        DiscriminativeAL(discriminator=Recording(warn=UserWarning), n_subqueries=1)(
            None, X_pool, 3, X_labeled=X_labeled, random_state=0)
