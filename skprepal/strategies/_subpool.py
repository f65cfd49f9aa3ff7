"""Candidate restriction: run any strategy on a subpool found by nearest neighbours.

On a pool of millions a full scoring pass every round costs more than it buys: the rows worth
labeling lie near what is already labeled (SEALS) or near examples of each class (AnchorAL).
Both wrap a base strategy and hand it a pool mask that holds only the subpool; the neighbours come
from a :class:`~skprepal.strategies.VectorIndex` built once over the frozen vectors.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from numbers import Integral
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from skprepal._compat import HasMethods, Interval
from skprepal.strategies._base import QueryStrategy, ScoreStrategy, refuse_sparse
from skprepal.strategies._index import VectorIndex
from skprepal.strategies._registry import register_strategy, resolve_strategy

__all__ = ["SEALS", "AnchorAL"]

# Indexes built for pools given without one, by the pool's memory: a strategy object stays free
# of state, and a pool is indexed once per process. Indexes given by path, by the file's path,
# size and modification time: opened once per process, not once per query (a million-row index
# is gigabytes, and its memo of searches is kept).
# A built index is kept with a weak reference to the array owning its pool's memory: a pool
# freed and another one allocated at its address must not get the old pool's index.
_AUTO_INDEXES: OrderedDict[tuple, tuple[weakref.ref, VectorIndex]] = OrderedDict()
_OPENED_INDEXES: OrderedDict[tuple, VectorIndex] = OrderedDict()
_INDEXES_KEPT = 4


def _remembered(cache: OrderedDict[tuple, Any], key: tuple, make: Any) -> Any:
    """``cache[key]``, made by ``make()`` if missing; the least recently used go beyond a few."""
    if key not in cache:
        cache[key] = make()
        while len(cache) > _INDEXES_KEPT:
            cache.popitem(last=False)
    cache.move_to_end(key)
    return cache[key]


def _index_for(index: Any, X: Any) -> VectorIndex:
    refuse_sparse(X, "a vector index (SEALS, AnchorAL)")
    if isinstance(index, VectorIndex):
        return index
    if isinstance(index, (str, bytes)) or hasattr(index, "__fspath__"):
        path = Path(os.fsdecode(index)).resolve()
        if not path.is_file():
            return VectorIndex.open(path)  # its clear error
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        return _remembered(_OPENED_INDEXES, key, lambda: VectorIndex.open(path))
    key = (X.__array_interface__["data"][0], X.shape, X.strides, X.dtype.str)
    owner = _memory_owner(X)
    kept = _AUTO_INDEXES.get(key)
    if kept is not None and kept[0]() is not owner:
        del _AUTO_INDEXES[key]
    return _remembered(_AUTO_INDEXES, key, lambda: (weakref.ref(owner), VectorIndex.build(X)))[1]


def _memory_owner(X: Any) -> Any:
    """The array whose memory ``X`` views (``X`` itself if it owns it, or is a memmap)."""
    while isinstance(getattr(X, "base", None), np.ndarray):
        X = X.base
    return X


class _CandidateVectors:
    """The vectors of SEALS' candidates, each gathered from the pool once and kept.

    SEALS' candidates only grow as labels arrive. Gathering them again every round reads rows
    scattered over the pool into fresh memory, which on a memory-mapped million-row pool costs
    about twice as much as scoring them; so each round copies in only its new candidates, as one
    more piece, and scores the pieces. Memory: one vector per candidate (at most
    ``n_neighbors`` per labeled row), plus 8 bytes per pool row.
    """

    _CHECKED = 8  # stored rows compared with the pool's on every use

    def __init__(self, X: Any) -> None:
        self.shape, self.dtype = X.shape, X.dtype
        self.held = np.zeros(X.shape[0], dtype=bool)
        self.pieces: list[tuple[np.ndarray, np.ndarray]] = []
        self.lock = threading.Lock()

    def holds_rows_of(self, X: Any) -> bool:
        """Whether the pieces were gathered from ``X``: same shape and type, same stored rows."""
        if X.shape != self.shape or X.dtype != self.dtype:
            return False
        for rows, vectors in self.pieces[:: max(1, len(self.pieces) // self._CHECKED)]:
            if not np.array_equal(X[rows[:1]], vectors[:1]):
                return False
        return True

    def take(self, X: Any, rows: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every ``(rows, vectors)`` piece so far, with the rows of ``rows`` not held yet."""
        new = rows[~self.held[rows]]
        if new.shape[0]:
            self.pieces.append((new, np.asarray(X[new])))
            self.held[new] = True
        return self.pieces


# One block per index (so per pool), dropped with the index.
_CANDIDATES: weakref.WeakKeyDictionary[VectorIndex, _CandidateVectors] = (
    weakref.WeakKeyDictionary()
)
_CANDIDATES_LOCK = threading.Lock()


def _candidates_for(index: VectorIndex, X: Any) -> _CandidateVectors:
    with _CANDIDATES_LOCK:
        block = _CANDIDATES.get(index)
        if block is None or not block.holds_rows_of(X):
            block = _CANDIDATES[index] = _CandidateVectors(X)
        return block


class _SubpoolStrategy(QueryStrategy):
    """Shared part: resolve the base strategy, restrict the mask, fill up from the full pool."""

    needs_vectors = True

    def _base(self) -> QueryStrategy:
        return clone(resolve_strategy(self.base_strategy), safe=False)

    def select(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        mask = np.ones(X_pool.shape[0], dtype=bool)
        context.pop("pool_indices", None)
        return self.select_rows(estimator, X_pool, mask, n, **context)

    def select_rows(
        self, estimator: Any, X: Any, pool_mask: np.ndarray, n: int, **context: Any
    ) -> np.ndarray:
        """Pick with the base strategy inside the subpool; top up from the pool if it is small."""
        base = self._base()
        subpool = self._subpool(X, pool_mask, context) & pool_mask
        if not subpool.any():  # cold start: nothing to be near yet
            return base.select_rows(estimator, X, pool_mask, n, **context)
        rows = np.asarray(self._pick(base, estimator, X, subpool, n, context), dtype=np.intp)
        if rows.size < n and (pool_mask & ~subpool).any():
            rest = base.select_rows(estimator, X, pool_mask & ~subpool, n - rows.size, **context)
            rows = np.concatenate([rows, np.asarray(rest, dtype=np.intp)])
        return rows

    def _pick(
        self, base: QueryStrategy, estimator: Any, X: Any, subpool: np.ndarray, n: int,
        context: dict[str, Any],
    ) -> np.ndarray:
        return base.select_rows(estimator, X, subpool, n, **context)

    def _subpool(self, X: Any, pool_mask: np.ndarray, context: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError


@register_strategy("seals")
class SEALS(_SubpoolStrategy):
    """Similarity search for efficient active learning: only neighbours of labeled rows compete.

    The candidates are the ``n_neighbors`` nearest neighbours (cosine) of every labeled row, so
    the subpool grows as labels arrive; ``base_strategy`` picks among them. With no label yet
    (or fewer candidates than asked) the rest comes from the whole pool.

    Where the index has a neighbour table at least ``n_neighbors`` wide
    (:meth:`VectorIndex.build_neighbour_table`), the neighbours are read from it instead of
    searched. With a margin-like base (least confidence, margin, entropy), the vectors of the
    candidates are kept in memory, each copied from the pool once, and scored there: one vector
    per candidate, at most ``n_neighbors`` per labeled row.

    Parameters
    ----------
    base_strategy : str, strategy object or callable, default="margin"
        The strategy run on the candidates.
    n_neighbors : int, default=100
        Neighbours per labeled row.
    index : VectorIndex, path or None, default=None
        An index over the learner's ``X`` (built once, e.g. next to an
        :class:`~skprepal.embedding.EmbeddingStore`); None builds one per pool and process.

    References
    ----------
    .. [1] C. Coleman et al., "Similarity Search for Efficient Active Learning and Search of
       Rare Concepts", AAAI 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from skprepal import PRepALLearner
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(2000, 8)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> learner = PRepALLearner(query_strategy=SEALS(n_neighbors=20), batch_size=20,
    ...                         initial_size=20, budget=100, random_state=0).fit(X, y)
    >>> learner.labeled_indices_.shape
    (100,)
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "base_strategy": [str, callable],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "index": [VectorIndex, str, HasMethods(["__fspath__"]), None],
    }

    def __init__(self, base_strategy: Any = "margin", *, n_neighbors: int = 100, index: Any = None):
        self.base_strategy = base_strategy
        self.n_neighbors = n_neighbors
        self.index = index

    def _pick(
        self, base: QueryStrategy, estimator: Any, X: Any, subpool: np.ndarray, n: int,
        context: dict[str, Any],
    ) -> np.ndarray:
        # A base whose scores are a function of each row alone scores the kept block of
        # candidates: the same picks, ties included, as scoring them in the pool.
        if not (isinstance(base, ScoreStrategy) and base.parallel_chunks):
            return super()._pick(base, estimator, X, subpool, n, context)
        block = _candidates_for(_index_for(self.index, X), X)
        with block.lock:
            pieces = block.take(X, np.flatnonzero(subpool))
            return base.select_gathered(estimator, pieces, subpool, n, **context)

    def _subpool(self, X: Any, pool_mask: np.ndarray, context: dict[str, Any]) -> np.ndarray:
        mask = np.zeros(pool_mask.shape[0], dtype=bool)
        labeled = context.get("labeled_indices")
        if labeled is None or len(labeled) == 0:
            return mask
        neighbours = _index_for(self.index, X).neighbours_of(labeled, X, int(self.n_neighbors))
        mask[np.concatenate(list(neighbours.values()))] = True
        return mask


@register_strategy("anchoral", "anchor_al")
class AnchorAL(_SubpoolStrategy):
    """Anchored active learning: a subpool of the rows most similar to anchors of every class.

    Each query draws up to ``n_anchors`` labeled rows of every class (the anchors, with the
    learner's ``random_state``), retrieves the rows most similar to them, and keeps for each
    class the ``subpool_size / n_classes`` rows closest to its anchors, so rare classes get
    their share of the subpool. ``base_strategy`` picks among them.

    Parameters
    ----------
    base_strategy : str, strategy object or callable, default="margin"
        The strategy run on the subpool.
    n_anchors : int, default=10
        Labeled rows per class used as anchors.
    subpool_size : int, default=10_000
        Rows in the subpool (before leaving out labeled and skipped ones).
    index : VectorIndex, path or None, default=None
        As in :class:`SEALS`.

    References
    ----------
    .. [1] P. Lesci and A. Vlachos, "AnchorAL: Computationally Efficient Active Learning for
       Large and Imbalanced Datasets", NAACL 2024.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "base_strategy": [str, callable],
        "n_anchors": [Interval(Integral, 1, None, closed="left")],
        "subpool_size": [Interval(Integral, 1, None, closed="left")],
        "index": [VectorIndex, str, HasMethods(["__fspath__"]), None],
    }

    def __init__(
        self,
        base_strategy: Any = "margin",
        *,
        n_anchors: int = 10,
        subpool_size: int = 10_000,
        index: Any = None,
    ) -> None:
        self.base_strategy = base_strategy
        self.n_anchors = n_anchors
        self.subpool_size = subpool_size
        self.index = index

    def _subpool(self, X: Any, pool_mask: np.ndarray, context: dict[str, Any]) -> np.ndarray:
        mask = np.zeros(pool_mask.shape[0], dtype=bool)
        labeled, y_labeled = context.get("labeled_indices"), context.get("y_labeled")
        if labeled is None or len(labeled) == 0 or y_labeled is None:
            return mask
        labeled, y_labeled = np.asarray(labeled), np.asarray(y_labeled)
        rng = check_random_state(context.get("random_state"))
        classes = np.unique(y_labeled)
        per_class = max(1, int(self.subpool_size) // classes.size)
        index = _index_for(self.index, X)
        for c in classes:
            members = labeled[y_labeled == c]
            size = min(int(self.n_anchors), members.size)
            anchors = rng.choice(members, size=size, replace=False)
            k = min(index.n_rows, max(per_class // anchors.size, 1) * 2)
            rows, similarity = index.search(X[np.sort(anchors)], k)
            rows, similarity = rows.ravel(), similarity.ravel()
            keep = (rows >= 0) & pool_mask[np.maximum(rows, 0)]
            rows, similarity = rows[keep], similarity[keep]
            # A row near several anchors counts once, at its highest similarity.
            order = np.lexsort((rows, -similarity))
            rows = rows[order]
            _, first = np.unique(rows, return_index=True)
            mask[rows[np.sort(first)][:per_class]] = True
        return mask
