"""BALD's bootstrap committee and mutual information against references built in the test."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from skprepal.exceptions import InvalidInputError
from skprepal.strategies import BALD, mutual_information


def reference_mi(samples):
    """``H[mean_t p_t] - mean_t H[p_t]`` in nats, with 0 log 0 = 0, clipped at 0."""
    samples = np.asarray(samples, dtype=np.float64)

    def entropy(p):
        return -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(axis=-1)

    return np.maximum(entropy(samples.mean(axis=0)) - entropy(samples).mean(axis=0), 0.0)


def reference_committee(make, X_labeled, y_labeled, X_pool, n_members, rng, classes):
    """The documented committee: bootstrap redrawn until two classes, stratified after 10."""
    n, classes = len(y_labeled), list(classes)
    samples = np.zeros((n_members, len(X_pool), len(classes)))
    stratified = 0
    for t in range(n_members):
        for _ in range(10):
            rows = rng.randint(n, size=n)
            if len(set(y_labeled[rows].tolist())) >= 2:
                break
        else:
            stratified += 1
            rows = np.concatenate([
                rng.choice(np.flatnonzero(y_labeled == c), size=int((y_labeled == c).sum()))
                for c in np.unique(y_labeled)
            ])
        member = make().fit(X_labeled[rows], y_labeled[rows])
        columns = [classes.index(c) for c in member.classes_.tolist()]
        samples[t][:, columns] = member.predict_proba(X_pool)
    return reference_mi(samples), stratified


class FixedLabels(ClassifierMixin, BaseEstimator):
    """Logistic regression that reports all of ``labels`` as its classes (unseen ones: p = 0)."""

    def __init__(self, labels=(0, 1, 2)):
        self.labels = labels

    def fit(self, X, y):
        self.lr_ = LogisticRegression().fit(X, y)
        self.classes_ = np.asarray(self.labels)
        return self

    def predict_proba(self, X):
        proba = np.zeros((X.shape[0], len(self.labels)))
        proba[:, np.searchsorted(self.classes_, self.lr_.classes_)] = self.lr_.predict_proba(X)
        return proba


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X_labeled = rng.normal(size=(16, 2))
    y_labeled = (X_labeled[:, 0] + 0.7 * rng.normal(size=16) > 0).astype(int)
    X_pool = rng.normal(size=(9, 2))
    return X_labeled, y_labeled, X_pool


def test_mutual_information_computes_in_float64_for_float32_samples():
    # MC heads often return float32; the scores are still float64 and as exact as float64 allows.
    rng = np.random.RandomState(0)
    samples = rng.dirichlet([0.5, 0.5, 0.5], size=(6, 20)).astype(np.float32)
    scores = mutual_information(samples)
    assert scores.dtype == np.float64
    np.testing.assert_allclose(scores, reference_mi(samples), rtol=1e-12, atol=1e-15)


def test_bald_committee_of_an_unfitted_head_without_classes_matches_a_hand_built_one(data):
    # No classes in the context and no classes_ on the head: columns follow y_labeled's labels.
    X_labeled, y_labeled, X_pool = data
    context = {"X_labeled": X_labeled, "y_labeled": y_labeled, "random_state": 3}
    scores = BALD(n_members=6).score(LogisticRegression(), X_pool, **context)
    expected, _ = reference_committee(
        LogisticRegression, X_labeled, y_labeled, X_pool, 6, np.random.RandomState(3), [0, 1]
    )
    assert expected.max() > 0.01  # the members disagree somewhere
    np.testing.assert_allclose(scores, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("container", ["list", "sparse"])
def test_bald_committee_scores_a_list_or_sparse_pool_like_the_dense_one(data, container):
    # A list has no shape and a sparse matrix no len; each must still count its rows.
    X_labeled, y_labeled, X_pool = data
    pool = X_pool.tolist() if container == "list" else sp.csr_matrix(X_pool)
    head = LogisticRegression().fit(X_labeled, y_labeled)
    context = {"X_labeled": X_labeled, "y_labeled": y_labeled, "random_state": 1}
    scores = BALD(n_members=5).score(head, pool, **context)
    expected, _ = reference_committee(
        LogisticRegression, X_labeled, y_labeled, X_pool, 5, np.random.RandomState(1), [0, 1]
    )
    np.testing.assert_allclose(scores, expected, rtol=1e-10, atol=1e-12)


def test_bald_committee_falls_back_to_a_stratified_resample_after_ten_draws():
    # Seed 35607 draws ten one-class resamples of y = [0, 0, 1] for the first member.
    X_labeled, y_labeled = np.array([[-1.0], [-2.0], [1.0]]), np.array([0, 0, 1])
    X_pool = np.array([[-3.0], [0.0], [0.5], [3.0]])
    context = {"X_labeled": X_labeled, "y_labeled": y_labeled, "random_state": 35607}
    scores = BALD(n_members=3).score(LogisticRegression(), X_pool, **context)
    expected, stratified = reference_committee(
        LogisticRegression, X_labeled, y_labeled, X_pool, 3, np.random.RandomState(35607), [0, 1]
    )
    assert stratified >= 1
    np.testing.assert_allclose(scores, expected, rtol=1e-10, atol=1e-12)


NEEDS_ROWS = (
    r"^query strategy 'bald' with LogisticRegression, which has no predict_proba_samples, fits "
    r"a bootstrap committee and needs the labeled rows: pass X_labeled and y_labeled in the "
    r"context \(PRepALLearner does\)\.$"
)


@pytest.mark.parametrize(
    "context",
    [{"y_labeled": [0, 1]}, {"X_labeled": [[0.0], [1.0]]}, {"X_labeled": [], "y_labeled": []}],
    ids=["no X_labeled", "no y_labeled", "no rows"],
)
def test_bald_committee_without_labeled_rows_says_what_to_pass(context):
    # Each missing piece alone is enough to refuse, with the full explanation.
    with pytest.raises(InvalidInputError, match=NEEDS_ROWS):
        BALD().score(LogisticRegression(), np.zeros((3, 1)), **context)


def test_bald_committee_aligns_members_to_the_context_classes(data):
    # The members report class 2 too; the context's classes hold it, the unfitted head has none.
    X_labeled, y_labeled, X_pool = data
    context = {"X_labeled": X_labeled, "y_labeled": y_labeled, "random_state": 2}
    scores = BALD(n_members=4).score(FixedLabels(), X_pool, classes=[0, 1, 2], **context)
    # A class no member gives probability to adds nothing: the plain committee's scores.
    expected, _ = reference_committee(
        LogisticRegression, X_labeled, y_labeled, X_pool, 4, np.random.RandomState(2), [0, 1]
    )
    np.testing.assert_allclose(scores, expected, rtol=1e-10, atol=1e-12)


def test_bald_committee_without_context_classes_uses_the_heads_classes(data):
    X_labeled, y_labeled, X_pool = data
    head = FixedLabels().fit(X_labeled, y_labeled)  # classes_ == [0, 1, 2]
    context = {"X_labeled": X_labeled, "y_labeled": y_labeled, "random_state": 2}
    scores = BALD(n_members=4).score(head, X_pool, **context)
    expected, _ = reference_committee(
        FixedLabels, X_labeled, y_labeled, X_pool, 4, np.random.RandomState(2), [0, 1, 2]
    )
    np.testing.assert_allclose(scores, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "classes, shown", [(None, r"\[0, 1\]"), ([1, 0], r"\[1, 0\]")], ids=["labels", "given"]
)
def test_bald_committee_member_class_outside_the_classes_is_named(data, classes, shown):
    # Without classes (unfitted head) the columns are y_labeled's labels; given classes that hold
    # every label are kept as given. A member's class 2 is in neither, and the error says so.
    X_labeled, y_labeled, X_pool = data
    context = {"X_labeled": X_labeled, "y_labeled": y_labeled, "classes": classes}
    with pytest.raises(InvalidInputError, match=rf"'bald': label 2 .* among classes {shown}\.$"):
        BALD(n_members=2).score(FixedLabels(), X_pool, **context)
