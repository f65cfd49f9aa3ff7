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


# -- the probes of the checks: each one catches a strategy that the others let through ----------


class _RightInTheLearner(QueryStrategy):
    """Right where the learner calls it (``select_rows``); ``_positions`` is a plain call's answer.

    ``QueryStrategy.__call__`` validates what ``select`` returns, so a strategy only gets odd
    positions to the check by overriding ``__call__`` itself: the check's own asserts are then
    all that stands between it and its users.
    """

    def select(self, estimator, X_pool, n, **context):
        return np.arange(n)

    def select_rows(self, estimator, X, pool_mask, n, **context):
        return np.flatnonzero(pool_mask)[:n]

    def __call__(self, estimator, X_pool, n, **context):
        return self._positions(X_pool, n, **context)


class BareArgmaxForOne(_RightInTheLearner):
    def _positions(self, X_pool, n, **context):
        order = np.argsort(-X_pool[:, 0])
        return order[0] if n == 1 else order[:n]  # the shortcut for one pick returns a scalar


class EverySpacedRow(_RightInTheLearner):
    def _positions(self, X_pool, n, **context):
        k = min(n, len(X_pool))
        # Every (pool // k)-th row: k rows only when k divides the pool (40 // 7 = 5 gives 8).
        return np.arange(0, len(X_pool), max(1, len(X_pool) // k)) if k else np.arange(0)


class DrawsWithReplacementPastThePool(_RightInTheLearner):
    def _positions(self, X_pool, n, *, random_state, **context):
        return random_state.choice(len(X_pool), size=n, replace=n > len(X_pool))


class Int32Positions(_RightInTheLearner):
    def _positions(self, X_pool, n, **context):
        return np.arange(min(n, len(X_pool)), dtype=np.int32)


class ListOfPositions(_RightInTheLearner):
    def _positions(self, X_pool, n, **context):
        return list(range(min(n, len(X_pool))))


class CountsFromTheEnd(_RightInTheLearner):
    def _positions(self, X_pool, n, **context):
        return -1 - np.arange(min(n, len(X_pool)))  # -1 is the last row to numpy, not a position


class OneBasedPositions(_RightInTheLearner):
    def _positions(self, X_pool, n, **context):
        return np.arange(1, min(n, len(X_pool)) + 1)


class AtLeastOneRow(_RightInTheLearner):
    def _positions(self, X_pool, n, **context):
        return np.arange(min(max(n, 1), len(X_pool)))


class AssumesAContiguousPool(QueryStrategy):
    def select(self, estimator, X_pool, n, **context):
        return np.arange(n)

    def select_rows(self, estimator, X, pool_mask, n, **context):
        pool = np.flatnonzero(pool_mask)
        return pool[0] + np.arange(min(n, pool.size))  # right only while no row inside is skipped


class ForgetsTheMaskOfTheLastChunk(QueryStrategy):
    def select(self, estimator, X_pool, n, **context):
        return np.arange(n)

    def select_rows(self, estimator, X, pool_mask, n, **context):
        whole = len(X) - len(X) % 9
        rows = [s + np.flatnonzero(pool_mask[s : s + 9]) for s in range(0, whole, 9)]
        rows.append(np.arange(whole, len(X)))  # the last, partial chunk taken as it is
        return np.concatenate(rows)[:n]


class NewestFirstForgetsSkippedRows(QueryStrategy):
    """Right on a pool mask; in a session it takes the rows not in ``labeled_indices``."""

    def select(self, estimator, X_pool, n, **context):
        return np.arange(len(X_pool))[::-1][:n]

    def select_rows(self, estimator, X, pool_mask, n, *, labeled_indices=None, **context):
        if labeled_indices is None:
            return super().select_rows(estimator, X, pool_mask, n, **context)
        unlabeled = np.setdiff1d(np.arange(len(X)), labeled_indices)  # skipped rows included
        return unlabeled[::-1][:n]


class RandomForgetsSkippedRows(QueryStrategy):
    """As above, drawing its rows at random and returning them in row order."""

    def select(self, estimator, X_pool, n, *, random_state, **context):
        return np.sort(np.argsort(random_state.random_sample(len(X_pool)))[:n])

    def select_rows(self, estimator, X, pool_mask, n, *, labeled_indices=None, **context):
        if labeled_indices is None:
            return super().select_rows(estimator, X, pool_mask, n, **context)
        unlabeled = np.setdiff1d(np.arange(len(X)), labeled_indices)
        keys = context["random_state"].random_sample(len(unlabeled))
        return np.sort(unlabeled[np.argsort(keys)[:n]])


class AuditsLabeledRows(QueryStrategy):
    """Every third slot of a session's batch re-asks a labeled row drawn at random."""

    def select(self, estimator, X_pool, n, **context):
        return np.arange(n)

    def select_rows(self, estimator, X, pool_mask, n, *, labeled_indices=None, **context):
        pool = np.flatnonzero(pool_mask)
        if labeled_indices is None:  # no row numbers to re-ask: the pool alone
            return pool[:n]
        audit = np.arange(min(n, pool.size)) % 3 == 2
        batch = np.empty(audit.size, dtype=np.intp)
        batch[~audit] = pool[: np.count_nonzero(~audit)]
        batch[audit] = context["random_state"].permutation(labeled_indices)[: audit.sum()]
        return batch


class FrozenCachesTheSession(QueryStrategy):
    """Clones to itself (as sklearn's FrozenEstimator does) and keeps a cache of the session."""

    def __sklearn_clone__(self):
        return self

    def select(self, estimator, X_pool, n, **context):
        return np.arange(n)

    def select_rows(self, estimator, X, pool_mask, n, *, labeled_indices=None, **context):
        if labeled_indices is not None:
            self.session_labeled_ = labeled_indices  # written to the object the user holds
        return np.flatnonzero(pool_mask)[:n]


class RowNumbersForPositions(_RightInTheLearner):
    """Returns the row numbers the check hands it in ``pool_indices``, not positions."""

    def _positions(self, X_pool, n, *, pool_indices=None, **context):
        rows = np.arange(len(X_pool)) if pool_indices is None else np.asarray(pool_indices)
        return rows[: min(n, len(X_pool))]  # rows of the whole X: 60 is not a pool position


class MinMaxScaledPerChunk(ScoreStrategy):
    """Margin scaled to [0, 1] over the rows it is given: a chunk's, not the pool's."""

    def score(self, estimator, X_pool, **context):
        proba = np.sort(estimator.predict_proba(X_pool), axis=1)
        margin = proba[:, -2] - proba[:, -1]
        return (margin - margin.min()) / (np.ptp(margin) + 1e-12)


class RandomKeys(QueryStrategy):
    """Correct: the rows with the lowest random keys."""

    def select(self, estimator, X_pool, n, *, random_state, **context):
        return np.argsort(random_state.random_sample(len(X_pool)))[:n]


PROBE_CASES = [
    # Each n the check asks for catches its own kind of mistake.
    (BareArgmaxForOne(), "check_picks_distinct_pool_positions: n=1: a strategy returns a 1-D intp "
                         "array, got int"),
    (EverySpacedRow(), r"check_picks_distinct_pool_positions: n=7: expected 7 picks, got \(8,\)"),
    (DrawsWithReplacementPastThePool(), "check_picks_distinct_pool_positions: n=45: expected 40 "
                                        r"picks, got \(45,\)"),
    (Int32Positions(), "check_picks_distinct_pool_positions: n=1: a strategy returns a 1-D intp "
                       r"array, got ndarray of int32, shape \(1,\)"),
    (ListOfPositions(), "check_picks_distinct_pool_positions: n=1: a strategy returns a 1-D intp "
                        "array, got list"),
    (CountsFromTheEnd(), "check_picks_distinct_pool_positions: n=1: a position is out of range"),
    (OneBasedPositions(), "check_picks_distinct_pool_positions: n=40: a position is out of range"),
    (AtLeastOneRow(), "check_picks_distinct_pool_positions: n=0 must return an empty array$"),
    # pool_indices are the pool's row numbers in X, 60 to 99: returned as they are, they fall
    # outside the pool; missing, or starting at 0, they would pass for positions.
    (RowNumbersForPositions(), "check_picks_distinct_pool_positions: n=1: a position is out of "
                               "range$"),
    # The pool mask of select_rows has skipped rows inside it, the last row of X among them.
    (AssumesAContiguousPool(), "check_select_rows_stays_in_the_pool: n=9: picked a row outside "
                               r"the pool \(labeled or skipped\)"),
    (ForgetsTheMaskOfTheLastChunk(), "check_select_rows_stays_in_the_pool: n=29: expected 26 "
                                     r"rows, got \(27,\)"),
    # Scores scaled per chunk reorder the pool only where the chunks' ranges differ: the probe's
    # rows vary within each class, so they do; rows equal within a class would hide it.
    (MinMaxScaledPerChunk(), "(?s)check_chunking_does_not_change_picks.*\nchunked scoring "
                             "changed the picks\n"),
    # Only a session shows these: skipped rows, labeled_indices, the learner's own clone.
    # The learner refuses a labeled or skipped row; the check reports which query it was.
    (NewestFirstForgetsSkippedRows(), "check_drives_the_learner: query 2: the learner refused "
                                      "the picks: query strategy 'NewestFirstForgetsSkippedRows' "
                                      r"picked row \d+, which is labeled or skipped"),
    # A random one too: the second query asks for the whole rest of the pool.
    (RandomForgetsSkippedRows(), "check_drives_the_learner: query 2: the learner refused the "
                                 "picks: query strategy 'RandomForgetsSkippedRows' picked row "
                                 r"\d+, which is labeled or skipped"),
    # Its first batch re-asks a labeled row in slot 2: caught there, before the learner is asked
    # to skip or teach it.
    (AuditsLabeledRows(), "check_drives_the_learner: query 1: the learner refused the picks: "
                          r"query strategy 'AuditsLabeledRows' picked row ([0-5]?\d), which is "
                          "labeled or skipped"),
    (FrozenCachesTheSession(), "check_drives_the_learner: the learner changed the strategy it "
                               "was given$"),
]


@pytest.mark.parametrize(
    "strategy, message", PROBE_CASES, ids=[type(s).__name__ for s, _ in PROBE_CASES]
)
def test_each_probe_of_the_check_catches_its_broken_strategy(strategy, message):
    with pytest.raises(AssertionError, match=message):
        check_strategy(strategy)


def _the_checks_session(strategy):
    """The two queries check_drives_the_learner makes: 60 rows labeled, 40 in the pool, seed 0."""
    rng = np.random.RandomState(0)
    y = np.r_[np.arange(3).repeat(20), rng.randint(3, size=40)]
    X = rng.normal(size=(100, 4)) + y[:, None]
    partial = np.where(np.arange(100) < 60, y, -1)
    learner = PRepALLearner(query_strategy=strategy, batch_size=5, random_state=0).fit(X, partial)
    first = learner.query()
    learner.skip(first[:2]).teach(first[2:], y[first[2:]])
    return first, learner.query(35)


def test_the_check_accepts_a_strategy_that_proposes_the_first_pool_row_late():
    # The premise: row 60, the first pool row, is not in RandomKeys' first batch but in its
    # second, where the check asks that no row below 60 (labeled at fit) be proposed.
    first, second = _the_checks_session(RandomKeys())
    assert 60 not in first and 60 in second
    check_strategy(RandomKeys())


def test_the_checks_leave_numpys_global_generator_alone():
    # A contract check that draws from np.random would change what the caller's next draw is,
    # and its own verdict on a random strategy would change from run to run.
    np.random.seed(0)  # noqa: NPY002 (the point: the global generator)
    expected = np.random.random_sample()  # noqa: NPY002
    np.random.seed(0)  # noqa: NPY002
    check_strategy(RandomKeys())
    assert np.random.random_sample() == expected  # noqa: NPY002


class RarestClassFirst(QueryStrategy):
    """Correct: the rows likeliest to be of the class with the fewest labels.

    It needs ``classes`` to know which column of ``predict_proba`` is which class, and takes it
    as a required keyword, as the context documents it.
    """

    def select(self, estimator, X_pool, n, *, y_labeled, classes, **context):
        column = int(np.argmin([np.count_nonzero(y_labeled == c) for c in classes]))
        return np.argsort(-estimator.predict_proba(X_pool)[:, column], kind="stable")[:n]


def test_the_check_hands_a_strategy_the_classes_under_their_documented_name():
    # Every call the check makes gives ``classes``, as the learner does; under any other name a
    # correct strategy that needs them would fail the check with a TypeError.
    check_strategy(RarestClassFirst())


def test_the_check_hands_a_strategy_the_same_rows_every_time_it_runs():
    # The probe problem is drawn from a fixed seed, so that a strategy's verdict does not change
    # from one run of the check to the next: every query sees the rows it saw the last time.
    seen = []

    class RecordsItsRows(QueryStrategy):
        def select(self, estimator, X_pool, n, **context):
            seen.append(np.array(X_pool))
            return np.arange(n)

    check_strategy(RecordsItsRows())
    first_run = list(seen)
    seen.clear()
    check_strategy(RecordsItsRows())
    assert len(first_run) == len(seen) > 0
    assert all(np.array_equal(a, b) for a, b in zip(first_run, seen, strict=True))


class CachesItsCommitteeAcrossQueries(QueryStrategy):
    """Keeps the committees it fits in a cache shared by all its clones, keyed on a drawn seed.

    Fitting a committee draws from ``random_state`` and a cached one does not, so the picks
    drawn after it differ between a query that fits the committee and one that finds it cached:
    the same ``random_state`` gives other picks once an earlier query has filled the cache.
    """

    committees = {}  # a class attribute: no clone, and no check of vars(), sees it change

    def select(self, estimator, X_pool, n, *, random_state, **context):
        seed = random_state.randint(np.iinfo(np.int32).max)
        if seed not in self.committees:
            self.committees[seed] = random_state.random_sample(3)  # the members' draws
        return np.argsort(random_state.random_sample(len(X_pool)))[:n]


def test_the_reproducibility_probe_uses_a_seed_the_earlier_probes_did_not():
    # With the seed the earlier queries used, both of its queries would find the cache full and
    # agree; with a fresh one, its first query fills the cache and its second finds it full.
    CachesItsCommitteeAcrossQueries.committees.clear()
    with pytest.raises(AssertionError, match="(?s)check_reproducible.*\nthe same random_state "
                                             "must give the same picks\n"):
        check_strategy(CachesItsCommitteeAcrossQueries())
