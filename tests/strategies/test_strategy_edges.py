"""Edges of the strategy layer that the known-picks and contract tests leave open: what the
registry records, what errors name, and that every documented argument is used.

Several of these were written to kill mutants that survived ``make mutation`` (tests/MUTATION.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from skprepal.exceptions import InvalidInputError
from skprepal.strategies import (
    BALD,
    EntropySampling,
    LeastConfidence,
    MarginSampling,
    QueryStrategy,
    ScoreStrategy,
    _registry,
    available_strategies,
    register_strategy,
    resolve_strategy,
    top_n,
)


@pytest.fixture
def problem():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y, LogisticRegression().fit(X[:30], y[:30])


@pytest.fixture
def clean_registry(monkeypatch):
    """Register strategies for one test only."""
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))
    monkeypatch.setattr(_registry, "_ALIASES", dict(_registry._ALIASES))


def test_register_strategy_records_the_name_and_every_alias(clean_registry):
    @register_strategy("first_rows", "head_rows", "top_rows")
    class FirstRows(QueryStrategy):
        def select(self, estimator, X_pool, n, **context):
            return np.arange(n)

    assert FirstRows.name == "first_rows"
    assert available_strategies()["first_rows"] == ["head_rows", "top_rows"]
    for spelling in ("first_rows", "head_rows", "Top-Rows"):
        assert type(resolve_strategy(spelling)) is FirstRows


def test_top_n_names_itself_when_the_scores_have_the_wrong_shape():
    with pytest.raises(InvalidInputError, match="strategy 'top_n' scored 2 rows"):
        top_n(np.ones((2, 2)), 1)


@pytest.mark.parametrize(
    "strategy, name",
    [(EntropySampling(), "entropy"), (LeastConfidence(), "least_confidence"),
     (MarginSampling(), "margin")],
)
def test_uncertainty_needs_probabilities_and_says_which_strategy(problem, strategy, name):
    X, y, _ = problem
    head = LinearSVC().fit(X[:30], y[:30])
    with pytest.raises(InvalidInputError, match=f"query strategy '{name}' needs class prob"):
        strategy.score(head, X[30:])


def test_bald_score_uses_the_labeled_rows_of_the_context(problem):
    X, y, head = problem
    context = {"X_labeled": X[:30], "y_labeled": y[:30], "random_state": 0}
    scores = BALD(n_members=4).score(head, X[30:], **context)
    assert scores.shape == (30,) and (scores >= 0).all() and scores.max() > 0
    picks = BALD(n_members=4)(head, X[30:], 5, **context)
    np.testing.assert_array_equal(picks, top_n(scores, 5))


@pytest.mark.parametrize("n", [0, -2])
def test_top_n_of_none_is_an_empty_row_array(n):
    picks = top_n(np.array([0.3, 0.1, 0.2]), n)
    assert picks.shape == (0,) and picks.dtype == np.intp


class MCHead:
    """A head with MC samples over any rows (texts, sparse): row i is sure iff i is even."""

    classes_ = np.array([0, 1])

    def predict_proba(self, X):
        return self.predict_proba_samples(X, 1)[0]

    def predict_proba_samples(self, X, n_samples, random_state=None):
        n = X.shape[0] if hasattr(X, "shape") else len(X)
        rng = np.random.RandomState(0)
        p = np.where(np.arange(n) % 2 == 0, 0.99, rng.uniform(0.05, 0.95, size=(n_samples, n)))
        return np.stack([p, 1 - p], axis=-1).astype(np.float32)


@pytest.mark.parametrize("container", ["list", "sparse"])
def test_bald_mc_samples_work_on_rows_without_a_shape_or_a_len(container):
    from scipy.sparse import csr_matrix

    rows = [f"text {i}" for i in range(10)] if container == "list" else csr_matrix(np.eye(10))
    picks = BALD(n_samples=8)(MCHead(), rows, 5)
    assert sorted(picks.tolist()) == [1, 3, 5, 7, 9]  # the rows the samples disagree on


def test_a_plain_callable_gets_the_fitted_head(problem):
    from skprepal import PRepALLearner

    X, y, _ = problem
    seen = []

    def most_uncertain(estimator, X_pool, n):
        seen.append(estimator)
        p = estimator.predict_proba(X_pool)[:, 1]
        return np.argsort(np.abs(p - 0.5))[:n]

    partial = np.where(np.arange(60) < 30, y, -1)
    learner = PRepALLearner(query_strategy=most_uncertain, random_state=0).fit(X, partial)
    rows = learner.query(4)
    assert seen[-1] is learner.estimator_
    expected = np.argsort(np.abs(learner.predict_proba(X[30:])[:, 1] - 0.5))[:4] + 30
    np.testing.assert_array_equal(rows, expected)


class Unconstrained(QueryStrategy):
    def __init__(self, k=1):
        self.k = k

    def select(self, estimator, X_pool, n, **context):
        return np.arange(n)


class TurnsIntoAnother(Unconstrained):
    _parameter_constraints = {"k": [int]}

    def __sklearn_clone__(self):
        return Unconstrained(k=self.k)


class GrowsAParameter(Unconstrained):
    _parameter_constraints = {"k": [int]}

    def get_params(self, deep=True):
        return {**super().get_params(deep), **({"extra": 1} if getattr(self, "_twin", 0) else {})}

    def __sklearn_clone__(self):
        twin = GrowsAParameter(k=self.k)
        twin._twin = 1
        return twin


@pytest.mark.parametrize(
    "strategy, message",
    [
        (Unconstrained(), r"^Unconstrained has parameters without _parameter_constraints: "
                          r"\['k'\]$"),
        (TurnsIntoAnother(), r"^clone\(\) must return the same type$"),
        (GrowsAParameter(), r"^clone\(\) changed the parameters$"),
    ],
)
def test_check_parameters_says_what_broke(strategy, message):
    from skprepal.strategies._checks import check_parameters

    with pytest.raises(AssertionError, match=message):
        check_parameters(strategy)


def test_cal_score_ranks_as_cal_picks(problem):
    from skprepal.strategies import ContrastiveAL

    X, y, head = problem
    context = {"X_labeled": X[:30], "y_labeled": y[:30]}
    scores = ContrastiveAL(n_neighbors=5).score(head, X[30:], **context)
    assert scores.shape == (30,) and np.isfinite(scores).all()
    picks = ContrastiveAL(n_neighbors=5)(head, X[30:], 6, **context)
    np.testing.assert_array_equal(picks, top_n(scores, 6))


def test_a_modal_strategy_takes_the_function_and_its_keywords_as_parameters():
    from skprepal.strategies import ModALStrategy

    def first(classifier, X, n_instances=1, offset=0):
        return np.arange(offset, offset + n_instances)

    def last(classifier, X, n_instances=1, offset=0):
        return np.arange(len(X) - n_instances - offset, len(X) - offset)

    strategy = ModALStrategy(first)
    assert strategy.set_params(offset=2) is strategy
    np.testing.assert_array_equal(strategy(None, np.zeros((10, 2)), 3), [2, 3, 4])
    strategy.set_params(func=last)
    assert strategy.func is last
    np.testing.assert_array_equal(strategy(None, np.zeros((10, 2)), 3), [5, 6, 7])


def test_a_modal_function_returning_three_items_is_named_in_the_error():
    from skprepal.strategies import ModALStrategy

    def three(classifier, X, n_instances=1):
        return np.arange(n_instances), np.zeros(n_instances), None

    with pytest.raises(InvalidInputError) as caught:
        ModALStrategy(three)(None, np.zeros((10, 2)), 2)
    assert str(caught.value) == (
        f"modAL function {three.__qualname__} returned a tuple of 3 items; expected indices, "
        "(indices, scores) or (indices, samples)."
    )


def test_a_function_strategy_is_named_after_the_function_or_the_callable_class():
    from skprepal.strategies import FunctionStrategy

    def pick_first(estimator, X_pool, n):
        return np.arange(n)

    class PickLast:
        def __call__(self, estimator, X_pool, n):
            return np.arange(len(X_pool) - n, len(X_pool))

    assert FunctionStrategy(pick_first).name == pick_first.__qualname__
    assert FunctionStrategy(PickLast()).name == "PickLast"


@pytest.mark.parametrize(
    "name, who",
    [
        ("typiclust", "query strategy 'typiclust'"),
        ("cold_start_switch", "query strategy 'typiclust'"),  # its cold half is TypiClust
        ("cluster_margin", "query strategy 'cluster_margin'"),
        ("seals", "a vector index (SEALS, AnchorAL)"),
        ("anchoral", "a vector index (SEALS, AnchorAL)"),
    ],
)
def test_strategies_that_need_dense_vectors_say_so_for_a_sparse_pool(name, who):
    import scipy.sparse as sp

    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 6))
    X[np.abs(X) < 0.5] = 0.0
    y = (X[:, 0] > 0).astype(int)
    head = LogisticRegression().fit(X[:30], y[:30])
    context = {"X_labeled": sp.csr_matrix(X[:30]), "y_labeled": y[:30],
               "classes": head.classes_, "labeled_indices": np.arange(30)}
    with pytest.raises(InvalidInputError) as refused:
        resolve_strategy(name)(head, sp.csr_matrix(X[30:]), 5, random_state=0, **context)
    assert str(refused.value) == (
        f"{who} needs dense vectors, but got a sparse csr_matrix; pass X.toarray() (where it fits "
        "in memory), or use a strategy that takes sparse vectors, such as 'margin', 'kmeans' or "
        "'coreset'."
    )


def test_a_vector_index_of_a_sparse_matrix_is_refused_with_what_to_do():
    import scipy.sparse as sp

    from skprepal.strategies import VectorIndex

    with pytest.raises(InvalidInputError, match=r"^VectorIndex.build needs dense vectors, but got "
                       r"a sparse csr_matrix; pass X.toarray\(\)"):
        VectorIndex.build(sp.csr_matrix(np.eye(20, 4, dtype=np.float32)))


class ReturnsWhatItIsGiven(QueryStrategy):
    """A strategy whose select returns a fixed result, to test what __call__ accepts."""

    def __init__(self, result=None):
        self.result = result

    def select(self, estimator, X_pool, n, **context):
        return self.result


def test_a_tuple_result_is_refused_with_the_whole_explanation():
    with pytest.raises(InvalidInputError) as refused:
        ReturnsWhatItIsGiven((np.arange(2), np.zeros(2)))(None, np.zeros((5, 2)), 2)
    assert str(refused.value) == (
        "query strategy 'ReturnsWhatItIsGiven' returned a tuple; a strategy returns an array of "
        "pool positions. (modAL functions are recognised and adapted automatically.)"
    )


@pytest.mark.parametrize(
    "result, described",
    [(np.array([0.0, 1.0]), "float64 values of shape (2,)"),
     (np.array([[0, 1]], dtype=np.int64), "int64 values of shape (1, 2)")],
)
def test_a_result_that_is_not_a_row_of_integers_is_refused_naming_its_dtype_and_shape(
    result, described
):
    with pytest.raises(InvalidInputError) as refused:
        ReturnsWhatItIsGiven(result)(None, np.zeros((5, 2)), 2)
    assert str(refused.value) == (
        f"query strategy 'ReturnsWhatItIsGiven' returned {described}; expected a 1-D array of "
        "integer pool positions."
    )


class PicksTheLastRows(QueryStrategy):
    """Picks the pool rows with the highest row numbers of X, read from pool_indices."""

    def select(self, estimator, X_pool, n, **context):
        return np.argsort(-context["pool_indices"], kind="stable")[:n]


def test_the_default_select_rows_tells_the_strategy_which_rows_of_x_its_pool_is():
    # The pool handed to select is X[pool_mask], a copy; pool_indices maps it back to X.
    X = np.arange(20.0).reshape(10, 2)
    pool_mask = np.array([1, 0, 1, 1, 0, 0, 1, 1, 0, 0], dtype=bool)
    rows = PicksTheLastRows().select_rows(None, X, pool_mask, 3)
    assert rows.tolist() == [7, 6, 3]


class RecordsItsPool(QueryStrategy):
    """Picks the first rows and keeps the pool it was handed, to see what reached ``select``."""

    def select(self, estimator, X_pool, n, **context):
        self.seen = X_pool
        return np.arange(n)


class RecordsItsVectors(RecordsItsPool):
    needs_vectors = True


def _refusal(shape, dtype):
    return (
        f"query strategy 'RecordsItsVectors' measures distances between samples and needs numeric "
        f"vectors of shape (n_samples, n_features), but got an array of shape {shape} and dtype "
        f"{dtype}. For texts, put a FrozenLLMTransformer before the learner, e.g. "
        "Pipeline([('embed', FrozenLLMTransformer()), ('al', PRepALLearner())])."
    )


@pytest.mark.parametrize(
    "pool, shape, dtype",
    [
        (["a cat", "a dog"], "(2,)", "<U5"),  # a list of texts, the usual mistake
        (np.array([["a cat"], ["a dog"]]), "(2, 1)", "<U5"),  # two dimensions, but texts
        (np.array([0.5, 1.5]), "(2,)", "float64"),  # numbers, but one per sample
    ],
    ids=["texts", "2-d-texts", "1-d-numbers"],
)
def test_a_vector_strategy_refuses_what_is_not_vectors_and_says_what_to_do(pool, shape, dtype):
    with pytest.raises(InvalidInputError) as refused:
        RecordsItsVectors()(None, pool, 1)
    assert str(refused.value) == _refusal(shape, dtype)


def test_a_vector_strategy_gets_float_vectors_without_a_copy_of_a_float_or_sparse_pool():
    import scipy.sparse as sp

    strategy = RecordsItsVectors()
    # Whole numbers (counts, flags) become float64 vectors.
    for pool in ([[1, 2], [3, 4]], np.array([[1, 2], [3, 4]]), np.array([[True], [False]])):
        strategy(None, pool, 1)
        assert strategy.seen.dtype == np.float64
        np.testing.assert_array_equal(strategy.seen, np.asarray(pool, dtype=np.float64))
    # A float32 pool (a memmap of embeddings) and a sparse matrix of counts (a
    # CountVectorizer's) are handed on as they are: a float64 copy would double the memory.
    for pool in (np.ones((3, 2), dtype=np.float32), np.ones((3, 2)),
                 sp.csr_matrix(np.eye(3, dtype=np.int64))):
        strategy(None, pool, 1)
        assert strategy.seen is pool


@pytest.mark.parametrize(
    "X",
    [np.arange(20.0).reshape(10, 2), "sparse", [f"text {i}" for i in range(10)]],
    ids=["array", "sparse", "list"],
)
def test_the_default_select_rows_hands_the_pool_rows_in_the_container_of_x(X):
    import scipy.sparse as sp

    X = sp.csr_matrix(np.arange(20.0).reshape(10, 2)) if isinstance(X, str) else X
    pool_mask = np.array([1, 0, 1, 1, 0, 0, 1, 1, 0, 0], dtype=bool)
    strategy = RecordsItsPool()
    strategy.select_rows(None, X, pool_mask, 2)
    # An array stays an array and a sparse matrix sparse (not a list of their rows).
    assert type(strategy.seen) is type(X)
    if isinstance(X, list):
        assert strategy.seen == [X[i] for i in np.flatnonzero(pool_mask)]
    else:
        dense = X.toarray() if sp.issparse(X) else X
        seen = strategy.seen.toarray() if sp.issparse(X) else strategy.seen
        np.testing.assert_array_equal(seen, dense[pool_mask])


class SignedFirstColumn(ScoreStrategy):
    """Scores a row by its first value times ``sign``, which it reads from the query's context."""

    def score(self, estimator, X_pool, **context):
        return context["sign"] * np.asarray(X_pool)[:, 0]


def test_a_score_strategy_gets_the_query_context_in_score():
    X = np.c_[np.arange(6.0), np.zeros(6)]
    pool_mask = np.ones(6, dtype=bool)
    strategy = SignedFirstColumn()
    assert strategy(None, X, 2, sign=-1.0).tolist() == [0, 1]
    assert strategy.select_rows(None, X, pool_mask, 2, sign=1.0).tolist() == [5, 4]


def test_top_n_ranks_nan_and_none_scores_last_even_when_it_keeps_fewer_than_all():
    # A NaN (or a missing None) score is the lowest: it must neither win nor be dropped when
    # only some rows are kept (n < len), where the n-th highest score sets the cut.
    assert top_n(np.array([np.nan, 0.1, 0.5]), 2).tolist() == [2, 1]
    assert top_n([0.2, None, 0.7], 3).tolist() == [2, 0, 1]


def test_a_running_top_n_is_an_empty_row_array_before_any_chunk_and_keeps_none_of_nothing():
    from skprepal.strategies import RunningTopN

    # The result indexes X: it is an intp array even when nothing was offered yet.
    fresh = RunningTopN(3).result()
    assert fresh.dtype == np.intp and fresh.size == 0
    # Keeping none of an empty chunk is an empty result, not an error.
    none = RunningTopN(0)
    none.update(np.empty(0), np.empty(0), np.empty(0, dtype=np.intp))
    assert none.result().dtype == np.intp and none.result().size == 0


def test_score_chunk_rows_counts_every_value_as_eight_bytes_with_a_floor_of_256():
    from skprepal.strategies._base import SCORE_CHUNK_BYTES, score_chunk_rows

    # 384-d embeddings: 16 MiB / (8 bytes * 384) = 5461 rows, as SCORE_CHUNK_BYTES says.
    assert score_chunk_rows(np.empty((0, 384))) == 5461
    # One value per row (a column, a 1-D array, a list of texts): 16 MiB / 8 bytes.
    for X in (np.empty((0, 1)), np.empty(0), ["a text", "another"]):
        assert score_chunk_rows(X) == SCORE_CHUNK_BYTES // 8
    # Very wide rows still come 256 at a time.
    assert score_chunk_rows(np.empty((0, 100_000))) == 256


class FirstColumnOfVectors(ScoreStrategy):
    """Scores a row by its first value; keeps the length of every chunk it scores."""

    name = "first_column_of_vectors"
    needs_vectors = True

    def score(self, estimator, X_pool, **context):
        self.chunks = [*getattr(self, "chunks", []), X_pool.shape[0]]
        return np.asarray(X_pool)[:, 0]


def test_score_strategy_select_rows_chunks_by_the_width_of_x_or_by_chunk_rows():
    # 600 rows of 100,000 values (a broadcast view: no memory) come 256 rows per chunk.
    wide = np.broadcast_to(np.zeros(1), (600, 100_000))
    strategy = FirstColumnOfVectors()
    strategy.select_rows(None, wide, np.ones(600, dtype=bool), 2)
    assert strategy.chunks == [256, 256, 88]
    # chunk_rows=1 scores one row at a time (0 is raised to 1).
    for chunk_rows in (1, 0):
        strategy = FirstColumnOfVectors()
        picks = strategy.select_rows(
            None, np.arange(6.0).reshape(3, 2), np.ones(3, dtype=bool), 1, chunk_rows=chunk_rows
        )
        assert picks.tolist() == [2] and strategy.chunks == [1, 1, 1]


def test_score_strategy_select_rows_of_none_is_an_empty_row_array_without_scoring():
    X = np.arange(8.0).reshape(4, 2)
    for pool_mask, n in ((np.ones(4, dtype=bool), 0), (np.zeros(4, dtype=bool), 3)):
        strategy = FirstColumnOfVectors()
        picks = strategy.select_rows(None, X, pool_mask, n)
        # Nothing to pick: an intp array (it indexes X), and no chunk was scored.
        assert picks.dtype == np.intp and picks.size == 0
        assert not hasattr(strategy, "chunks")


def test_random_tie_break_without_a_random_state_is_seeded_and_ignores_numpy_global_seed():
    # Without the learner's random_state the random ties are still reproducible: those of
    # random_state=0, whatever the global numpy seed is.
    X = np.zeros((40, 2))
    strategy = FirstColumnOfVectors(random_tie_break=True)
    seeded = strategy(None, X, 5, random_state=0).tolist()
    assert seeded != list(range(5))  # the ties are broken at random, not by position
    for global_seed in (1, 2):
        np.random.seed(global_seed)
        assert strategy(None, X, 5).tolist() == seeded
        np.random.seed(global_seed)
        assert strategy.select_rows(None, X, np.ones(40, dtype=bool), 5).tolist() == seeded


def test_a_score_strategy_names_itself_when_a_chunk_is_not_vectors_or_scored_wrongly():
    # select_gathered checks each gathered piece: texts are refused, naming the strategy.
    texts = [(np.arange(2), np.array(["a cat", "a dog"]))]
    with pytest.raises(InvalidInputError, match="query strategy 'first_column_of_vectors'"):
        FirstColumnOfVectors().select_gathered(None, texts, np.ones(2, dtype=bool), 1)

    class OneScoreTooFew(FirstColumnOfVectors):
        def score(self, estimator, X_pool, **context):
            return np.zeros(X_pool.shape[0] - 1)

    named = "query strategy 'first_column_of_vectors' scored 3 rows"
    with pytest.raises(InvalidInputError, match=named):
        OneScoreTooFew().select_rows(None, np.zeros((3, 2)), np.ones(3, dtype=bool), 1)


def test_random_sampling_of_none_is_an_empty_row_array_and_leaves_the_rng_alone():
    from skprepal.strategies import RandomSampling

    X = np.zeros((5, 2))
    for pool_mask, n in ((np.ones(5, dtype=bool), 0), (np.zeros(5, dtype=bool), 2)):
        rng = np.random.RandomState(0)
        picks = RandomSampling().select_rows(None, X, pool_mask, n, random_state=rng)
        assert picks.dtype == np.intp and picks.size == 0
        # Asking for no rows draws nothing: the next draw is the seed's first.
        assert rng.randint(10**9) == np.random.RandomState(0).randint(10**9)


def test_random_sampling_select_rows_hands_the_head_to_select():
    from skprepal.strategies import RandomSampling

    class RecordsTheHead(RandomSampling):
        def select(self, estimator, X_pool, n, **context):
            self.head = estimator
            return super().select(estimator, X_pool, n, **context)

    strategy, head = RecordsTheHead(), object()
    strategy.select_rows(head, np.zeros((4, 2)), np.ones(4, dtype=bool), 2, random_state=0)
    assert strategy.head is head


def test_score_strategy_select_rows_of_a_list_reads_the_first_row_and_the_pool_rows_only():
    # A list of vectors whose rows outside the pool are placeholders (None): the up-front check
    # looks at the first row only, and the few pool rows of a chunk are gathered before they are
    # scored, so the placeholders are never turned into vectors.
    X = [np.array([0.0, 1.0]), None, None, None, np.array([4.0, 5.0])]
    pool_mask = np.array([1, 0, 0, 0, 1], dtype=bool)
    assert FirstColumnOfVectors().select_rows(None, X, pool_mask, 1).tolist() == [4]
