"""How a strategy reads the labeled rows of its context (``labeled_vectors``): what it accepts,
what it casts, and whose name its errors carry.

Written to kill mutants of ``skprepal.strategies._diversity.labeled_vectors`` that survived the
mutation run (tests/MUTATION.md).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp

from skprepal.exceptions import InvalidInputError
from skprepal.strategies import ContrastiveAL, CoreSet, DiscriminativeAL
from skprepal.strategies._diversity import labeled_vectors

# The CoreSet docstring's pool: row 2 is the one far from a labeled row at the origin.
POOL = np.array([[0.0, 0.1], [0.1, 0.0], [5.0, 5.0], [0.0, -0.1]])


def test_coreset_takes_labeled_rows_given_as_a_list_of_lists():
    # A list has no .shape: its length is the number of labeled rows.
    assert CoreSet()(None, POOL, 1, X_labeled=[[0.0, 0.0]]).tolist() == [2]


def test_an_empty_list_of_labeled_rows_is_no_labeled_rows():
    # Without labeled rows the first core-set pick is a random one, drawn from random_state.
    for seed in range(5):
        expected = CoreSet()(None, POOL, 2, random_state=seed)
        np.testing.assert_array_equal(CoreSet()(None, POOL, 2, X_labeled=[], random_state=seed),
                                      expected)


@pytest.mark.parametrize(
    "strategy, name",
    [(CoreSet(), "coreset"), (DiscriminativeAL(), "dal"), (ContrastiveAL(), "cal")],
)
def test_labeled_rows_that_are_not_vectors_are_refused_in_the_strategy_name(strategy, name):
    expected = (
        f"query strategy {name!r} measures distances between samples and needs numeric vectors of "
        "shape (n_samples, n_features), but got an array of shape (2,) and dtype float64. For "
        "texts, put a FrozenLLMTransformer before the learner, e.g. "
        "Pipeline([('embed', FrozenLLMTransformer()), ('al', PRepALLearner())])."
    )
    with pytest.raises(InvalidInputError, match="^" + re.escape(expected) + "$"):
        strategy(None, POOL, 1, X_labeled=np.zeros(2))


def test_dense_labeled_rows_take_the_dtype_of_a_dense_pool():
    # Cast so that distance routines between the two never upcast (copy) the pool.
    labeled = np.array([[0.25, 1.5], [2.0, -3.0]])
    out = labeled_vectors({"X_labeled": labeled}, POOL.astype(np.float32), "coreset")
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, labeled)  # these values are exact in float32


@pytest.mark.parametrize(
    "labeled_sparse, pool_sparse",
    [(True, False), (False, True), (True, True)],
    ids=["sparse-labeled", "sparse-pool", "both-sparse"],
)
def test_labeled_rows_are_not_cast_where_either_side_is_sparse(labeled_sparse, pool_sparse):
    # Only a dense pair is cast. Beside a float32 pool a cast would round the labeled rows to
    # float32 (0.1 and 1/3 are not float32 numbers); here they come back as they were given.
    labeled = np.array([[0.1, 1 / 3], [2.0, -3.0]])
    pool = np.array([[0, 1], [3, 0], [2, 2]], dtype=np.float32)
    out = labeled_vectors(
        {"X_labeled": sp.csr_matrix(labeled) if labeled_sparse else labeled},
        sp.csr_matrix(pool) if pool_sparse else pool,
        "coreset",
    )
    assert sp.issparse(out) == labeled_sparse
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.toarray() if labeled_sparse else out, labeled)


def test_float_labeled_rows_keep_their_values_beside_a_dense_integer_pool():
    # The learner hands strategies that scan chunks of X (ContrastiveAL, TypiClust) the raw rows,
    # so an integer X reaches labeled_vectors as the pool.
    labeled = np.array([[0.25, 1.5]])
    out = labeled_vectors({"X_labeled": labeled}, np.array([[0, 1], [3, 0]]), "cal")
    np.testing.assert_array_equal(out, labeled)
