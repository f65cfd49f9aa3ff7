"""Nearest neighbours over frozen vectors, for strategies that query a candidate subpool.

A thin layer over faiss (``pip install skprepal[ann]``): cosine similarity as the inner product
of L2-normalised vectors, an exact flat index for small pools and HNSW above that. The index is
built once over the frozen vectors (chunk by chunk: a memory-mapped pool is never loaded whole)
and saved in faiss' own file format, never pickled.

faiss over usearch: on this project's 384-d embedding-like benchmark pool, faiss' HNSW (M=32)
built 3.5x faster than usearch's default index on 2 cores with higher recall@100 (0.75 against
0.65 on 20,000 rows; ``benchmarks/scale.py`` has the full comparison), and the same library gives
the exact flat index used for small pools.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from skprepal.exceptions import InvalidInputError

__all__ = ["VectorIndex"]

#: Pools up to this many rows get an exact (flat) index: building HNSW does not pay below it.
EXACT_BELOW = 50_000
_ADD_CHUNK = 65_536


def _faiss() -> Any:
    try:
        import faiss
    except ImportError:
        raise ImportError(
            "nearest-neighbour strategies need faiss: pip install 'skprepal[ann]' "
            "(or faiss-cpu)."
        ) from None
    return faiss


def _normalised(X: Any, start: int, stop: int) -> np.ndarray:
    chunk = np.ascontiguousarray(X[start:stop], dtype=np.float32)
    norms = np.linalg.norm(chunk, axis=1, keepdims=True)
    return chunk / np.maximum(norms, 1e-12)


class VectorIndex:
    """Cosine nearest neighbours of the rows of a pool.

    Build with :meth:`build`, reopen with :meth:`open`. Neighbour lists of pool rows asked for
    through :meth:`neighbours_of` are remembered (per ``k``), so a strategy that asks each
    round about the labeled rows only searches for the new ones.

    Parameters
    ----------
    index : faiss.Index
        The faiss index over the normalised rows, ids = row numbers.
    n_rows : int
        Rows indexed.
    """

    def __init__(self, index: Any, n_rows: int) -> None:
        self._index = index
        self.n_rows = int(n_rows)
        self._memo: dict[tuple[int, int], np.ndarray] = {}
        self._lock = threading.Lock()

    @classmethod
    def build(
        cls,
        X: Any,
        *,
        path: str | os.PathLike | None = None,
        exact_below: int = EXACT_BELOW,
        m: int = 32,
        ef_search: int = 128,
    ) -> VectorIndex:
        """Index every row of ``X`` (n_rows, dim), chunk by chunk.

        Parameters
        ----------
        X : ndarray or np.memmap of shape (n_rows, dim)
            The frozen vectors.
        path : path-like or None
            Save the index there (faiss' format).
        exact_below : int, default=50_000
            Fewer rows than this get an exact flat index.
        m, ef_search : int
            HNSW's links per node and search breadth.

        Returns
        -------
        VectorIndex
        """
        faiss = _faiss()
        if getattr(X, "ndim", 0) != 2 or X.shape[0] == 0:
            raise InvalidInputError(
                f"VectorIndex.build needs a non-empty 2-D array of vectors, got shape "
                f"{getattr(X, 'shape', None)}."
            )
        n, dim = X.shape
        if n < exact_below:
            index = faiss.IndexFlatIP(dim)
        else:
            index = faiss.IndexHNSWFlat(dim, int(m), faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = int(ef_search)
        for start in range(0, n, _ADD_CHUNK):
            index.add(_normalised(X, start, min(start + _ADD_CHUNK, n)))
        built = cls(index, n)
        if path is not None:
            built.save(path)
        return built

    @classmethod
    def open(cls, path: str | os.PathLike) -> VectorIndex:
        """Read an index saved by :meth:`save`."""
        faiss = _faiss()
        if not Path(path).is_file():
            raise FileNotFoundError(f"no vector index at {str(path)!r}; build one first.")
        index = faiss.read_index(str(path))
        return cls(index, index.ntotal)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the index to ``path``."""
        _faiss().write_index(self._index, str(path))
        return Path(path)

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most similar rows of each vector: ``(rows, cosine similarities)``."""
        queries = _normalised(np.atleast_2d(vectors), 0, len(np.atleast_2d(vectors)))
        k = min(int(k), self.n_rows)
        similarity, rows = self._index.search(queries, k)
        return rows.astype(np.intp), similarity

    def neighbours_of(self, rows: np.ndarray, X: Any, k: int) -> dict[int, np.ndarray]:
        """Neighbour rows of each of ``rows`` (pool rows of ``X``), searching new ones only."""
        rows = np.asarray(rows, dtype=np.intp)
        if X.shape[0] != self.n_rows:
            raise InvalidInputError(
                f"the vector index holds {self.n_rows} rows but the pool has {X.shape[0]}; "
                "build the index over the same vectors the learner runs on."
            )
        with self._lock:
            new = np.array([r for r in rows.tolist() if (r, k) not in self._memo], dtype=np.intp)
            if new.size:
                found, _ = self.search(X[np.sort(new)], k)
                for row, neighbours in zip(np.sort(new).tolist(), found, strict=True):
                    self._memo[(row, k)] = neighbours[neighbours >= 0]
            return {r: self._memo[(r, k)] for r in rows.tolist()}

    # The index is a shared, read-only resource: copies (clone) share it, and pickles (and
    # joblib's hashes) carry the faiss bytes, not the memo of searches made so far.
    def __deepcopy__(self, memo: dict) -> VectorIndex:
        return self

    def __getstate__(self) -> dict[str, Any]:
        return {"bytes": _faiss().serialize_index(self._index), "n_rows": self.n_rows}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(_faiss().deserialize_index(state["bytes"]), state["n_rows"])

    def __repr__(self) -> str:
        return f"VectorIndex({type(self._index).__name__}, n_rows={self.n_rows})"
