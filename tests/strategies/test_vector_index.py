"""VectorIndex: what it refuses, which faiss index it builds, and that it normalises every row."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from skprepal.exceptions import InvalidInputError
from skprepal.strategies import VectorIndex

faiss = pytest.importorskip("faiss")


def test_without_faiss_the_index_says_how_to_install_it(monkeypatch):
    # A None entry in sys.modules makes `import faiss` raise ImportError, as if not installed.
    monkeypatch.setitem(sys.modules, "faiss", None)
    with pytest.raises(ImportError, match="need faiss") as caught:
        VectorIndex.build(np.eye(3, dtype=np.float32))
    assert str(caught.value) == (
        "nearest-neighbour strategies need faiss: pip install 'skprepal[ann]' (or faiss-cpu)."
    )


@pytest.mark.parametrize(
    ("X", "shape"),
    [
        ([[1.0, 0.0], [0.0, 1.0]], "None"),  # a list has no shape: refused, not an AttributeError
        (np.ones(5, dtype=np.float32), "(5,)"),
        (np.ones((0, 4), dtype=np.float32), "(0, 4)"),
    ],
)
def test_build_refuses_what_is_not_a_non_empty_2d_array_and_names_its_shape(X, shape):
    with pytest.raises(InvalidInputError, match="non-empty 2-D array") as refused:
        VectorIndex.build(X)
    assert str(refused.value) == (
        f"VectorIndex.build needs a non-empty 2-D array of vectors, got shape {shape}."
    )


def test_a_pool_of_one_row_is_indexed():
    index = VectorIndex.build(np.array([[3.0, 4.0]], dtype=np.float32))
    rows, similarity = index.search(np.array([[6.0, 8.0]]), 1)
    assert repr(index) == "VectorIndex(IndexFlatIP, n_rows=1)"
    assert rows.tolist() == [[0]] and similarity[0, 0] == pytest.approx(1.0, abs=1e-6)


def test_exact_below_n_rows_means_hnsw_at_n_rows_and_flat_below():
    X = np.random.RandomState(0).normal(size=(40, 4)).astype(np.float32)
    assert repr(VectorIndex.build(X, exact_below=40)) == "VectorIndex(IndexHNSWFlat, n_rows=40)"
    assert repr(VectorIndex.build(X, exact_below=41)) == "VectorIndex(IndexFlatIP, n_rows=40)"


def test_hnsw_is_saved_with_inner_product_m_32_and_ef_search_128_by_default(tmp_path):
    X = np.random.RandomState(0).normal(size=(60, 4)).astype(np.float32)
    index = VectorIndex.build(X, path=tmp_path / "pool.faiss", exact_below=1)
    # Cosine similarity, not a squared distance: a row is similar 1 to itself.
    rows, similarity = index.search(X[:3], 1)
    assert rows[:, 0].tolist() == [0, 1, 2]
    np.testing.assert_allclose(similarity[:, 0], 1.0, atol=1e-5)
    # The file is faiss' own: read with faiss itself, it holds the documented parameters.
    saved = faiss.read_index(str(tmp_path / "pool.faiss"))
    assert saved.metric_type == faiss.METRIC_INNER_PRODUCT
    assert saved.hnsw.nb_neighbors(1) == 32 and saved.hnsw.efSearch == 128
    tuned = VectorIndex.build(X, path=tmp_path / "tuned.faiss", exact_below=1, m=8, ef_search=20)
    saved = faiss.read_index(str(tmp_path / "tuned.faiss"))
    assert saved.hnsw.nb_neighbors(1) == 8 and saved.hnsw.efSearch == 20
    assert tuned.n_rows == 60


def test_a_pool_longer_than_one_chunk_is_added_once_row_by_row():
    # 65,536 rows are added at a time: the row after them is the second chunk's first. (Flat:
    # HNSW over 65,537 rows takes seconds.)
    X = np.random.RandomState(0).normal(size=(65_537, 4)).astype(np.float32)
    index = VectorIndex.build(X, exact_below=100_000)
    rows, _ = index.search(X[[0, 65_535, 65_536]], 3)
    assert rows[:, 0].tolist() == [0, 65_535, 65_536]
    # No row is indexed twice, nor under a number past the pool.
    assert (rows < len(X)).all() and all(len(set(r)) == 3 for r in rows.tolist())
    assert rows[0, 1] != 65_536 and rows[2, 1] != 0


def test_short_vectors_are_normalised_so_similarity_is_cosine():
    # Norms far below 1: cosine similarity is still 1 for a row and itself.
    X = np.array([[0.001, 0.0], [0.0, 0.002], [0.0007, 0.0007]], dtype=np.float32)
    rows, similarity = VectorIndex.build(X).search(X, 3)
    assert rows[:, 0].tolist() == [0, 1, 2]
    np.testing.assert_allclose(similarity[:, 0], 1.0, atol=1e-5)
    assert similarity[0, 1] == pytest.approx(np.sqrt(0.5), abs=1e-5)


def test_half_precision_vectors_are_normalised_in_single_precision():
    # float16 holds vectors of norm 600, but not their squares: the norm is taken in float32.
    rng = np.random.RandomState(0)
    X = (rng.normal(size=(30, 8)) * 200).astype(np.float16)
    rows, similarity = VectorIndex.build(X).search(X[:5], 2)
    assert rows[:, 0].tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(similarity[:, 0], 1.0, atol=1e-3)
    assert (similarity[:, 1] < 0.99).all()
