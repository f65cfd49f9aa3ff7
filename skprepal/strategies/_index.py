"""Nearest neighbours over frozen vectors, for strategies that query a candidate subpool.

A thin layer over faiss (``pip install skprepal[ann]``): cosine similarity as the inner product
of L2-normalised vectors, an exact flat index for small pools and HNSW above that. The index is
built once over the frozen vectors (chunk by chunk: a memory-mapped pool is never loaded whole)
and saved in faiss' own file format, never pickled. Optionally every row's nearest neighbours are
searched once at build time and kept beside it as a ``.npy`` table, so that SEALS, which asks each
round about the newly labeled rows, looks them up instead of searching.

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
from tqdm.auto import tqdm

from skprepal.exceptions import InvalidInputError
from skprepal.strategies._base import refuse_sparse

__all__ = ["VectorIndex"]

#: Pools up to this many rows get an exact (flat) index: building HNSW does not pay below it.
EXACT_BELOW = 50_000
_ADD_CHUNK = 65_536
_TABLE_CHUNK = 4_096
#: The neighbour table's file: the index's path with this added.
TABLE_SUFFIX = ".neighbours.npy"


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
    through :meth:`neighbours_of` come from the neighbour table where one was built (see
    :meth:`build_neighbour_table`); otherwise they are searched and remembered (per ``k``), so
    a strategy that asks each round about the labeled rows only searches for the new ones.

    Parameters
    ----------
    index : faiss.Index
        The faiss index over the normalised rows, ids = row numbers.
    n_rows : int
        Rows indexed.
    neighbour_table : ndarray of shape (n_rows, k) or None, default=None
        Row ``i`` holds the ``k`` rows most similar to row ``i`` (most similar first, ``-1``
        where fewer were found), as :meth:`search` finds them.
    """

    def __init__(self, index: Any, n_rows: int, neighbour_table: np.ndarray | None = None) -> None:
        self._index = index
        self.n_rows = int(n_rows)
        self.neighbour_table = neighbour_table
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
        neighbour_table: int | None = None,
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
        neighbour_table : int or None, default=None
            Also search every row's ``neighbour_table`` nearest neighbours now and keep them
            (see :meth:`build_neighbour_table`): one search per row at build time instead of
            one per newly labeled row in every round of SEALS.

        Returns
        -------
        VectorIndex
        """
        faiss = _faiss()
        refuse_sparse(X, "VectorIndex.build")
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
        if neighbour_table is not None:
            built.build_neighbour_table(X, neighbour_table, path=path)
        return built

    @staticmethod
    def table_path(index_path: str | os.PathLike) -> Path:
        """Where the neighbour table of the index saved at ``index_path`` is kept."""
        return Path(f"{os.fspath(index_path)}{TABLE_SUFFIX}")

    def build_neighbour_table(
        self, X: Any, k: int, *, path: str | os.PathLike | None = None, progress: bool = False
    ) -> np.ndarray:
        """Search the ``k`` nearest neighbours of every row of ``X`` once, and keep them.

        :meth:`neighbours_of` then reads rows of the table instead of searching (for any ``k``
        up to the table's: the first ``k`` columns). The table is ``int32`` (4 bytes per row and
        neighbour: 400 MB for a million rows at ``k=100``).

        Parameters
        ----------
        X : ndarray or np.memmap of shape (n_rows, dim)
            The vectors the index was built over, searched chunk by chunk.
        k : int
            Neighbours per row (a row is usually the first of its own).
        path : path-like or None
            The index's path: the table is written beside it (:meth:`table_path`) and
            memory-mapped back, or kept in memory if None.
        progress : bool, default=False
            Show a progress bar.

        Returns
        -------
        ndarray of shape (n_rows, k)
        """
        k = int(k)
        if k < 1:
            raise InvalidInputError(f"a neighbour table needs k >= 1 neighbours per row, got {k}.")
        self._check_pool(X)
        k = min(k, self.n_rows)
        if path is None:
            table = np.empty((self.n_rows, k), dtype=np.int32)
        else:
            # Written under a temporary name and renamed when complete: a killed build leaves
            # no table that looks whole.
            partial = Path(f"{self.table_path(path)}.partial")
            table = np.lib.format.open_memmap(
                partial, mode="w+", dtype=np.int32, shape=(self.n_rows, k)
            )
        for start in tqdm(range(0, self.n_rows, _TABLE_CHUNK), disable=not progress,
                          unit="chunk", desc="neighbour table"):
            stop = min(start + _TABLE_CHUNK, self.n_rows)
            table[start:stop], _ = self.search(X[start:stop], k)
        if path is not None:
            table.flush()
            del table
            os.replace(partial, self.table_path(path))
            table = _open_table(self.table_path(path), self.n_rows)
        self.neighbour_table = table
        return table

    @classmethod
    def open(cls, path: str | os.PathLike, *, neighbour_table: bool = True) -> VectorIndex:
        """Read an index saved by :meth:`save`, with its neighbour table if one is beside it.

        Parameters
        ----------
        path : path-like
            The index file.
        neighbour_table : bool, default=True
            Memory-map the neighbour table (:meth:`table_path`) if there is one; False searches
            every time instead.
        """
        faiss = _faiss()
        if not Path(path).is_file():
            raise FileNotFoundError(f"no vector index at {str(path)!r}; build one first.")
        index = faiss.read_index(str(path))
        table = cls.table_path(path)
        if neighbour_table and table.is_file():
            return cls(index, index.ntotal, _open_table(table, index.ntotal))
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
        self._check_pool(X)
        table = self.neighbour_table
        if table is not None and k <= table.shape[1]:
            order = np.sort(rows)  # the table is read in file order
            found = np.asarray(table[order][:, :k], dtype=np.intp)
            by_row = dict(zip(order.tolist(), found, strict=True))
            if (found < 0).any():  # fewer rows than k in the pool: -1 fills the table
                return {r: by_row[r][by_row[r] >= 0] for r in rows.tolist()}
            return {r: by_row[r] for r in rows.tolist()}
        with self._lock:
            new = np.array([r for r in rows.tolist() if (r, k) not in self._memo], dtype=np.intp)
            if new.size:
                found, _ = self.search(X[np.sort(new)], k)
                for row, neighbours in zip(np.sort(new).tolist(), found, strict=True):
                    self._memo[(row, k)] = neighbours[neighbours >= 0]
            return {r: self._memo[(r, k)] for r in rows.tolist()}

    def _check_pool(self, X: Any) -> None:
        if X.shape[0] != self.n_rows:
            raise InvalidInputError(
                f"the vector index holds {self.n_rows} rows but the pool has {X.shape[0]}; "
                "build the index over the same vectors the learner runs on."
            )

    # The index is a shared, read-only resource: copies (clone) share it, and pickles (and
    # joblib's hashes) carry the faiss bytes, not the memo of searches made so far.
    def __deepcopy__(self, memo: dict) -> VectorIndex:
        return self

    def __getstate__(self) -> dict[str, Any]:
        table = None if self.neighbour_table is None else np.asarray(self.neighbour_table)
        return {"bytes": _faiss().serialize_index(self._index), "n_rows": self.n_rows,
                "neighbour_table": table}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(_faiss().deserialize_index(state["bytes"]), state["n_rows"],
                      state.get("neighbour_table"))

    def __repr__(self) -> str:
        table = self.neighbour_table
        width = "" if table is None else f", neighbours={table.shape[1]}"
        return f"VectorIndex({type(self._index).__name__}, n_rows={self.n_rows}{width})"


def _open_table(path: Path, n_rows: int) -> np.ndarray:
    try:
        table = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as error:
        raise InvalidInputError(
            f"the neighbour table {str(path)!r} cannot be read ({error}); delete it and build "
            "it again with VectorIndex.build_neighbour_table."
        ) from None
    if table.ndim != 2 or table.shape[0] != n_rows or table.dtype.kind != "i":
        raise InvalidInputError(
            f"the neighbour table {str(path)!r} holds an array of shape {table.shape} and dtype "
            f"{table.dtype}, not {n_rows} rows of neighbour ids; delete it and build it again "
            "with VectorIndex.build_neighbour_table."
        )
    return table
