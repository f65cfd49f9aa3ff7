"""Edges of PRepALLearner and its label state that the session tests leave open: parameters set
after construction, checks on new rows, what drop_pool keeps, calls before a fit.

Several of these were written to kill mutants that survived ``make mutation`` (tests/MUTATION.md).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from skprepal import PRepALLearner
from skprepal.exceptions import InvalidInputError, NotFittedError
from skprepal.stopping import MaxLabels


@pytest.fixture
def blobs():
    X, y = make_blobs(n_samples=300, centers=3, n_features=6, random_state=0)
    return X, y


def _session(X, y, n_labeled=30, **params):
    partial = np.where(np.arange(len(y)) < n_labeled, y, -1)
    return PRepALLearner(batch_size=5, random_state=0, **params).fit(X, partial)


def _memmap(path, X):
    out = np.lib.format.open_memmap(path, mode="w+", dtype=X.dtype, shape=X.shape)
    out[:] = X
    out.flush()
    del out
    return np.load(path, mmap_mode="r")


def test_set_params_keeps_a_given_head_and_the_default_one_until_asked():
    learner = PRepALLearner(estimator=SVC(probability=True))
    learner.set_params(estimator__C=3.0)
    assert isinstance(learner.estimator, SVC) and learner.estimator.C == 3.0
    default = PRepALLearner().set_params(batch_size=3)
    assert default.estimator is None and default.batch_size == 3
    nested = PRepALLearner().set_params(estimator__C=0.5)
    assert isinstance(nested.estimator, LogisticRegression) and nested.estimator.C == 0.5


def test_rows_to_predict_must_have_the_features_of_fit(blobs):
    X, y = blobs
    learner = _session(X, y)
    for method in (learner.predict, learner.predict_proba, learner.decision_function):
        with pytest.raises(ValueError, match="features"):
            method(X[:4, :3])
        assert learner.n_features_in_ == 6
    assert learner.predict(X[:4]).shape == (4,)


def test_drop_pool_keeps_neither_the_strategies_nor_where_the_rows_were(blobs, tmp_path):
    X, y = blobs
    pool = _memmap(tmp_path / "pool-rows.npy", X)
    learner = _session(pool, y, query_strategy="entropy")
    assert b"pool-rows.npy" in pickle.dumps(learner)
    lean = pickle.dumps(learner.drop_pool())
    for kept in (b"pool-rows.npy", b"EntropySampling", b"RandomSampling"):
        assert kept not in lean, kept
    np.testing.assert_array_equal(pickle.loads(lean).predict(X[:5]), learner.predict(X[:5]))


def test_a_learner_whose_fit_failed_is_not_fitted(blobs):
    X, y = blobs
    learner = PRepALLearner(stopping=MaxLabels(max_labels=0))
    with pytest.raises(InvalidInputError):
        learner.fit(X, y)
    # The stopping criterion was cloned before its check failed: still not a fitted learner.
    for call in (lambda: learner.attach_pool(X), learner.drop_pool, learner.query):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()


def test_attach_pool_takes_the_rows_as_they_are_and_checks_them(tmp_path):
    X, y = make_blobs(n_samples=3000, centers=3, n_features=6, random_state=0)
    learner = _session(_memmap(tmp_path / "pool.npy", X), y)
    expected = learner.query()
    with pytest.raises(ValueError, match="features"):
        learner.attach_pool(X[:, :3])
    with pytest.raises(InvalidInputError, match="attach the same rows, in the same order"):
        learner.attach_pool(X[:-1])
    assert learner.n_features_in_ == 6
    # In memory: the rows themselves travel with a pickle.
    in_memory = pickle.loads(pickle.dumps(learner)).attach_pool(np.array(X))
    np.testing.assert_array_equal(in_memory.query(), expected)
    assert len(pickle.dumps(in_memory)) > X.nbytes
    # Another mapping of the file: a pickle holds where the rows are, not the rows.
    mapped = pickle.loads(pickle.dumps(in_memory)).attach_pool(np.load(tmp_path / "pool.npy",
                                                                       mmap_mode="r"))
    np.testing.assert_array_equal(mapped.query(), expected)
    assert len(pickle.dumps(mapped)) < X.nbytes / 2


def test_a_dropped_pool_says_what_still_works(blobs):
    X, y = blobs
    learner = _session(X, y).drop_pool()
    with pytest.raises(NotFittedError, match="it predicts but can no longer query. Fit a new "
                       "learner to continue labeling."):
        learner.attach_pool(X)
    with pytest.raises(NotFittedError, match="can no longer query or take labels. Fit a new "
                       "learner to continue labeling."):
        learner.teach([40], [0])
