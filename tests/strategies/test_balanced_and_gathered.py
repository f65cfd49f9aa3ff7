"""ClassBalancedMargin (the learner's default) and ScoreStrategy.select_gathered, edge by edge."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from skprepal.exceptions import InvalidInputError
from skprepal.strategies import ClassBalancedMargin, ContrastiveAL, MarginSampling
from skprepal.strategies import _base


class RowProba:
    """A fitted head whose probabilities are given per row; column 0 of X holds the row."""

    def __init__(self, proba):
        self.proba = np.asarray(proba, dtype=float)
        self.classes_ = np.arange(self.proba.shape[1])

    def predict_proba(self, X):
        return self.proba[np.asarray(X)[:, 0].astype(int)]


def rows_of(n):
    return np.c_[np.arange(n), np.zeros(n)]


def grid_head(n, seed=0):
    """Three classes, probabilities on a coarse grid: many rows tie on the margin."""
    rng = np.random.RandomState(seed)
    proba = rng.randint(1, 4, size=(n, 3)).astype(float)
    return RowProba(proba / proba.sum(axis=1, keepdims=True))


def test_within_a_class_the_margin_ranks_not_the_top_probability():
    # Both rows are predicted as class 0. Row 0 has the smaller margin (0.05); row 1 the lower
    # top probability (0.4), which least confidence would pick first.
    head = RowProba([[0.50, 0.45, 0.05], [0.40, 0.30, 0.30], [0.9, 0.05, 0.05]])
    assert ClassBalancedMargin()(head, rows_of(3), 1).tolist() == [0]


def test_random_ties_do_not_depend_on_the_chunking():
    head, X = grid_head(40), rows_of(40)
    mask = np.ones(40, dtype=bool)
    mask[[3, 17, 29]] = False
    strategy = ClassBalancedMargin(random_tie_break=True)
    whole = strategy.select_rows(head, X, mask, 9, random_state=3)
    for chunk_rows in (1, 7, 13):
        picks = strategy.select_rows(head, X, mask, 9, chunk_rows=chunk_rows, random_state=3)
        np.testing.assert_array_equal(picks, whole)
    # The ties matter on this head: another seed breaks them otherwise.
    assert not np.array_equal(strategy.select_rows(head, X, mask, 9, random_state=4), whole)


def test_random_ties_without_a_random_state_are_those_of_seed_0():
    head, X = grid_head(40, seed=1), rows_of(40)
    strategy = ClassBalancedMargin(random_tie_break=True)
    np.testing.assert_array_equal(strategy(head, X, 9), strategy(head, X, 9, random_state=0))
    assert not np.array_equal(strategy(head, X, 9), strategy(head, X, 9, random_state=1))


def test_a_head_without_probabilities_is_refused_by_name():
    class Hard:
        classes_ = np.array([0, 1])

        def predict(self, X):
            return np.zeros(len(X), dtype=int)

    with pytest.raises(InvalidInputError, match="'class_balanced_margin' needs class probab"):
        ClassBalancedMargin()(Hard(), rows_of(5), 2)


def test_nothing_to_pick_gives_an_empty_row_array():
    head, X = grid_head(10), rows_of(10)
    picks = ClassBalancedMargin().select_rows(head, X, np.zeros(10, dtype=bool), 3)
    assert picks.shape == (0,) and picks.dtype == np.intp


def test_select_gathered_matches_select_rows_and_handles_nothing_to_pick():
    head, X = grid_head(30), rows_of(30)
    strategy = MarginSampling()
    mask = np.zeros(30, dtype=bool)
    mask[5:25] = True
    # Vectors gathered out of order, in two pieces, with rows outside the mask among them.
    pieces = [(np.arange(20, 30), X[20:30]), (np.arange(0, 20)[::-1], X[0:20][::-1])]
    for n in (1, 4):
        gathered = strategy.select_gathered(head, pieces, mask, n)
        np.testing.assert_array_equal(gathered, strategy.select_rows(head, X, mask, n))
        assert gathered.shape == (n,)
    for n, pool_mask in ((0, mask), (3, np.zeros(30, dtype=bool))):
        empty = strategy.select_gathered(head, pieces, pool_mask, n)
        assert empty.shape == (0,) and empty.dtype == np.intp


def test_select_gathered_hands_the_context_to_the_scorer():
    # Contrastive AL scores a row against its labeled neighbours: without the context it has none.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int)
    labeled = np.arange(0, 60, 6)
    head = LogisticRegression().fit(X[labeled], y[labeled])
    context = {"X_labeled": X[labeled], "y_labeled": y[labeled], "classes": head.classes_}
    mask = np.ones(60, dtype=bool)
    mask[labeled] = False
    pieces = [(np.arange(30, 60), X[30:60]), (np.arange(30), X[:30])]
    strategy = ContrastiveAL(n_neighbors=3)
    np.testing.assert_array_equal(
        strategy.select_gathered(head, pieces, mask, 5, **context),
        strategy.select_rows(head, X, mask, 5, **context),
    )


def test_select_gathered_scores_every_chunk_of_a_long_piece(monkeypatch):
    monkeypatch.setattr(_base, "SCORE_CHUNK_BYTES", 1)  # chunks of 256 rows, the floor
    head, X = grid_head(700), rows_of(700)
    # The first chunk of the piece holds no pool row; the best rows lie in the chunks after it.
    mask = np.zeros(700, dtype=bool)
    mask[300:] = True
    pieces = [(np.arange(700), X)]
    for n in (1, 10, 400):
        gathered = MarginSampling().select_gathered(head, pieces, mask, n)
        np.testing.assert_array_equal(gathered, MarginSampling().select_rows(head, X, mask, n))
        assert np.unique(gathered).size == n and mask[gathered].all()


def test_margin_random_ties_are_those_of_the_gathered_pool_whatever_the_chunking():
    # Tie keys are drawn for every row of X in row order, so chunks that are scored as views,
    # chunks whose few pool rows are gathered, and select_gathered all break ties alike.
    head, X = grid_head(60), rows_of(60)
    mask = np.zeros(60, dtype=bool)
    mask[:25] = True  # mostly-pool chunks
    mask[25::7] = True  # then a pool row here and there
    strategy = MarginSampling(random_tie_break=True)
    gathered = strategy.select_gathered(head, [(np.arange(60), X)], mask, 8, random_state=5)
    for chunk_rows in (None, 1, 4, 7, 13):
        picks = strategy.select_rows(head, X, mask, 8, chunk_rows=chunk_rows, random_state=5)
        np.testing.assert_array_equal(picks, gathered)
    # The ties matter on this head: another seed breaks them otherwise.
    other = strategy.select_gathered(head, [(np.arange(60), X)], mask, 8, random_state=6)
    assert not np.array_equal(other, gathered)


class ThreadsOfMargin(MarginSampling):
    """Margin sampling that records which thread scored each chunk."""

    def score(self, estimator, X_pool, **context):
        self.threads.add(threading.get_ident())
        return super().score(estimator, X_pool, **context)


class ThreadsOfAStatefulScore(ThreadsOfMargin):
    parallel_chunks = False  # as a strategy whose chunks share state or random draws


def _scoring_threads(strategy, n_jobs):
    from skprepal.strategies._pool_scoring import pool_scoring  # what the learner's n_jobs sets

    head, X, pool = grid_head(80), rows_of(80), np.ones(80, dtype=bool)
    strategy.threads = set()
    with pool_scoring(n_jobs):
        picks = strategy.select_rows(head, X, pool, 5, chunk_rows=10)
    np.testing.assert_array_equal(picks, MarginSampling().select_rows(head, X, pool, 5))
    return strategy.threads


def test_n_jobs_scores_the_chunks_of_a_parallel_strategy_on_worker_threads():
    assert ThreadsOfMargin.parallel_chunks
    threads = _scoring_threads(ThreadsOfMargin(), 2)
    assert threading.get_ident() not in threads and 1 <= len(threads) <= 2


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_a_strategy_not_marked_parallel_is_scored_on_the_calling_thread_only(n_jobs):
    # Its chunks may share state (MC dropout's draws), and thread-local settings (torch's grad
    # mode) are the caller's only on the caller's thread.
    assert _scoring_threads(ThreadsOfAStatefulScore(), n_jobs) == {threading.get_ident()}


class ViewsOfMargin(MarginSampling):
    """Margin sampling that records, per chunk it scores, whether the chunk is a view of X."""

    def score(self, estimator, X_pool, **context):
        self.views.append(np.shares_memory(X_pool, self.X))
        return super().score(estimator, X_pool, **context)


def test_mostly_pool_chunks_are_scored_as_views_and_scattered_pool_rows_as_one_copy():
    head, X = grid_head(60), rows_of(60)
    mask = np.ones(60, dtype=bool)
    mask[:30:10] = False  # chunks 0-2 of 10 rows: nine pool rows each
    mask[30:] = False
    mask[35::10] = True  # chunks 3-5: one pool row each
    strategy = ViewsOfMargin()
    strategy.X, strategy.views = X, []
    picks = strategy.select_rows(head, X, mask, 5, chunk_rows=10)
    # No copy of a chunk that is mostly pool; the three scattered rows are scored in one call.
    assert strategy.views == [True, True, True, False]
    np.testing.assert_array_equal(picks, MarginSampling().select_rows(head, X, mask, 5))
