"""What every query strategy is: a callable ``f(estimator, X_pool, n, **context) -> indices``.

Strategy objects are scikit-learn style (parameters in ``__init__``, ``get_params``, ``clone``),
so ``al__query_strategy__n_members`` works in a grid search. The learner calls them with the
fitted head, the unlabeled rows and how many to pick, plus keyword context that a strategy may
use or ignore:

``X_labeled``, ``y_labeled``
    The labeled rows and their labels (for committees, coresets, discriminators).
``classes``
    The labels the head knows, in ``predict_proba`` column order.
``random_state``
    A ``numpy.random.RandomState`` owned by the learner, for reproducible draws.
``pool_indices``
    Row numbers, in the learner's ``X``, of the rows of ``X_pool``.
``labeled_indices``
    Row numbers, in the learner's ``X``, of the labeled rows (those of ``X_labeled``).
"""

from __future__ import annotations

import contextvars
import itertools
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np
import sklearn
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from skprepal._compat import one_blas_thread
from skprepal._validation import check_params
from skprepal.exceptions import InvalidInputError
from skprepal.strategies._pool_scoring import scoring_threads

__all__ = [
    "QueryStrategy",
    "RunningTopN",
    "ScoreStrategy",
    "SCORE_CHUNK_BYTES",
    "check_dense_vectors",
    "check_query_result",
    "check_selected_rows",
    "check_vectors",
    "n_rows",
    "score_chunk_rows",
    "top_n",
]

#: Bytes of pool rows (counted as float64) scored at once. A pool of 384-d vectors is scored
#: 5,461 rows at a time: the head's float64 copy of a chunk is 16 MiB, its probabilities a few
#: hundred KiB, and a chunk is still large enough for BLAS to run at full speed.
SCORE_CHUNK_BYTES = 16 * 2**20


def check_vectors(X_pool: Any, strategy: str) -> np.ndarray:
    """Return ``X_pool`` as a 2-D float array, or explain that ``strategy`` needs vectors."""
    arr = np.asarray(X_pool) if not hasattr(X_pool, "toarray") else X_pool
    if hasattr(arr, "toarray"):
        return arr
    if arr.ndim != 2 or arr.dtype.kind not in "fiub":
        raise InvalidInputError(
            f"query strategy {strategy!r} measures distances between samples and needs numeric "
            f"vectors of shape (n_samples, n_features), but got an array of shape {arr.shape} and "
            f"dtype {arr.dtype}. For texts, put a FrozenLLMTransformer before the learner, "
            "e.g. Pipeline([('embed', FrozenLLMTransformer()), ('al', PRepALLearner())])."
        )
    return arr.astype(np.float64, copy=False) if arr.dtype.kind != "f" else arr


def refuse_sparse(X: Any, who: str) -> None:
    """Explain that ``who`` (a strategy, an index) cannot take the scipy sparse matrix ``X``."""
    if hasattr(X, "toarray"):
        raise InvalidInputError(
            f"{who} needs dense vectors, but got a sparse {type(X).__name__}; pass X.toarray() "
            "(where it fits in memory), or use a strategy that takes sparse vectors, such as "
            "'margin', 'kmeans' or 'coreset'."
        )


def check_dense_vectors(X_pool: Any, strategy: str) -> np.ndarray:
    """:func:`check_vectors` for a strategy whose clustering or index needs dense rows."""
    refuse_sparse(X_pool, f"query strategy {strategy!r}")
    return check_vectors(X_pool, strategy)


def _best(
    scores: np.ndarray, ties: np.ndarray, rows: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``n`` best entries, best first: highest score, then lowest tie key, then lowest row."""
    if scores.shape[0] > n:
        # Everything at or above the n-th highest score: the winners plus the ties at the edge.
        kth = np.partition(scores, scores.shape[0] - n)[scores.shape[0] - n]
        keep = scores >= kth
        scores, ties, rows = scores[keep], ties[keep], rows[keep]
    order = np.lexsort((rows, ties, -scores))[:n]
    return scores[order], ties[order], rows[order]


def _score_keys(scores: Any, n_rows: int, strategy: str) -> np.ndarray:
    keys = np.asarray(scores, dtype=np.float64)
    if keys.shape != (n_rows,):
        raise InvalidInputError(
            f"query strategy {strategy!r} scored {n_rows} rows but returned scores of shape "
            f"{keys.shape}; expected one score per row."
        )
    return np.where(np.isnan(keys), -np.inf, keys)


def top_n(scores: np.ndarray, n: int, random_state: Any = None) -> np.ndarray:
    """Positions of the ``n`` highest scores, highest first.

    Parameters
    ----------
    scores : ndarray of shape (n_pool,)
        Informativeness: higher is picked first. NaN counts as the lowest.
    n : int
        How many to return (at most ``len(scores)``).
    random_state : None, int or RandomState
        None breaks ties by position (lowest first); otherwise ties are broken at random.

    Returns
    -------
    ndarray of intp, shape (min(n, n_pool),)

    Examples
    --------
    >>> top_n(np.array([0.1, 0.9, 0.5]), 2)
    array([1, 2])
    >>> top_n(np.array([0.5, 0.9, 0.5]), 2)
    array([1, 0])
    """
    keys = _score_keys(scores, np.shape(scores)[0], "top_n")
    n = min(int(n), keys.shape[0])
    if n <= 0:
        return np.empty(0, dtype=np.intp)
    if random_state is None:
        ties = np.zeros(keys.shape[0])
    else:
        ties = check_random_state(random_state).random_sample(keys.shape[0])
    return _best(keys, ties, np.arange(keys.shape[0], dtype=np.intp), n)[2]


class RunningTopN:
    """The ``n`` best rows seen so far, fed chunk by chunk: memory ``O(n + chunk)``.

    The result does not depend on how the rows are chunked: ties at equal score go to the lower
    tie key (random, or 0), then to the lower row number.

    Parameters
    ----------
    n : int
        How many rows to keep.
    """

    def __init__(self, n: int) -> None:
        self.n = int(n)
        self.scores = np.empty(0)
        self.ties = np.empty(0)
        self.rows = np.empty(0, dtype=np.intp)

    def update(self, scores: np.ndarray, ties: np.ndarray, rows: np.ndarray) -> None:
        """Offer rows with their scores (higher is better) and tie keys."""
        self.scores, self.ties, self.rows = _best(
            np.concatenate([self.scores, scores]),
            np.concatenate([self.ties, ties]),
            np.concatenate([self.rows, rows]).astype(np.intp),
            self.n,
        )

    def result(self) -> np.ndarray:
        """The kept rows, best first."""
        return self.rows.copy()


def score_chunk_rows(X: Any) -> int:
    """Rows per scoring chunk: ``SCORE_CHUNK_BYTES`` of the rows as float64, at least 256."""
    width = int(np.prod(X.shape[1:])) if hasattr(X, "shape") and len(X.shape) > 1 else 1
    return max(256, SCORE_CHUNK_BYTES // (8 * max(width, 1)))


def check_query_result(result: Any, n: int, n_pool: int, strategy: str) -> np.ndarray:
    """Validate what a strategy returned: distinct positions into the pool, at most ``n``."""
    if isinstance(result, tuple):
        raise InvalidInputError(
            f"query strategy {strategy!r} returned a tuple; a strategy returns an array of pool "
            "positions. (modAL functions are recognised and adapted automatically.)"
        )
    idx = np.asarray(result)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise InvalidInputError(
            f"query strategy {strategy!r} returned {idx.dtype} values of shape {idx.shape}; "
            "expected a 1-D array of integer pool positions."
        )
    idx = idx.astype(np.intp, copy=False)
    if idx.size and (idx.min() < 0 or idx.max() >= n_pool):
        raise InvalidInputError(
            f"query strategy {strategy!r} returned positions outside the pool of {n_pool} rows "
            f"(min {idx.min()}, max {idx.max()})."
        )
    if np.unique(idx).size != idx.size:
        raise InvalidInputError(f"query strategy {strategy!r} returned the same position twice.")
    if idx.size > n:
        raise InvalidInputError(
            f"query strategy {strategy!r} returned {idx.size} positions; {n} were asked for."
        )
    return idx


def check_selected_rows(result: Any, n: int, pool_mask: np.ndarray, strategy: str) -> np.ndarray:
    """Validate what ``select_rows`` returned: distinct rows inside ``pool_mask``, at most ``n``."""
    rows = check_query_result(result, n, pool_mask.shape[0], strategy)
    outside = rows[~pool_mask[rows]]
    if outside.size:
        raise InvalidInputError(
            f"query strategy {strategy!r} picked row {int(outside[0])}, which is labeled or "
            "skipped; select_rows picks only rows where pool_mask is True."
        )
    return rows


def n_rows(X: Any) -> int:
    """Number of rows of an array, sparse matrix or list."""
    return int(X.shape[0]) if hasattr(X, "shape") else len(X)


def _take(X: Any, rows: np.ndarray) -> Any:
    """``X[rows]`` for arrays, sparse matrices and lists."""
    if hasattr(X, "shape"):
        return X[rows]
    return [X[i] for i in rows]


class QueryStrategy(BaseEstimator):
    """Base class of strategy objects.

    Subclasses implement :meth:`select`; calling the object validates its arguments and result.
    Set ``needs_vectors = True`` on strategies that compute distances on ``X_pool``.

    The learner calls :meth:`select_rows`, which by default gathers the pool rows into one array
    and calls the strategy on it. Strategies that can work on the whole ``X`` with a mask (such
    as every :class:`ScoreStrategy`, chunk by chunk) override it to avoid that copy.
    """

    needs_vectors: ClassVar[bool] = False
    #: Registry name, used in messages.
    name: ClassVar[str] = ""
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}

    @property
    def _label(self) -> str:
        return self.name or type(self).__name__

    def __call__(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        """Pick up to ``n`` positions of ``X_pool`` to label next.

        Parameters
        ----------
        estimator : fitted classifier
            The current head.
        X_pool : array-like of shape (n_pool, ...)
            The unlabeled rows.
        n : int
            How many to pick; more than the pool returns the whole pool.
        **context
            See the module's documentation.

        Returns
        -------
        ndarray of intp
            Distinct positions into ``X_pool``, most informative first where there is an order.
        """
        check_params(self)
        n_pool = n_rows(X_pool)
        n = min(int(n), n_pool)
        if n <= 0:
            return np.empty(0, dtype=np.intp)
        if self.needs_vectors:
            X_pool = check_vectors(X_pool, self._label)
        picked = self.select(estimator, X_pool, n, **context)
        return check_query_result(picked, n, n_pool, self._label)

    def select_rows(
        self, estimator: Any, X: Any, pool_mask: np.ndarray, n: int, **context: Any
    ) -> np.ndarray:
        """Pick up to ``n`` rows of ``X`` among those where ``pool_mask`` is True.

        This is what :class:`~skprepal.PRepALLearner` calls. The default gathers the pool rows
        (``X[pool_mask]``, a copy) and calls the strategy on them, with ``pool_indices`` in the
        context.

        Parameters
        ----------
        estimator : fitted classifier or None
            The current head.
        X : array-like of shape (n_samples, ...)
            Every row of the session, labeled or not (an ndarray, a memmap, texts).
        pool_mask : ndarray of bool, shape (n_samples,)
            The rows that may be picked.
        n : int
            How many to pick.
        **context
            See the module's documentation.

        Returns
        -------
        ndarray of intp
            Distinct row numbers of ``X``, all in the pool, most informative first.
        """
        rows = np.flatnonzero(pool_mask).astype(np.intp)
        positions = self(estimator, _take(X, rows), n, pool_indices=rows, **context)
        return rows[positions]

    @abstractmethod
    def select(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        """Return ``n`` distinct positions into ``X_pool`` (``1 <= n <= len(X_pool)``)."""


class ScoreStrategy(QueryStrategy):
    """A strategy that scores each pool row independently and takes the ``n`` best.

    Subclasses implement :meth:`score`, or :meth:`scorer` when some work (fitting a committee,
    indexing the labeled rows) should be done once per query rather than once per chunk. The
    learner scores the pool in chunks of :func:`score_chunk_rows` rows, leaves out labeled and
    skipped rows, and keeps a running top ``n``: no step holds more than one chunk of
    probabilities, whatever the size of the pool.

    Parameters
    ----------
    random_tie_break : bool, default=False
        Break ties between equal scores at random (with the learner's ``random_state``) rather
        than by position.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {"random_tie_break": ["boolean"]}
    #: Whether several threads may score chunks at once (the learner's ``n_jobs``): only where a
    #: chunk's scores are a pure function of the head and the chunk (no random draws, as MC
    #: dropout makes, and no state shared between chunks).
    parallel_chunks: ClassVar[bool] = False

    def __init__(self, *, random_tie_break: bool = False) -> None:
        self.random_tie_break = random_tie_break

    @abstractmethod
    def score(self, estimator: Any, X_pool: Any, **context: Any) -> np.ndarray:
        """Informativeness of every pool row: higher is picked first."""

    def scorer(self, estimator: Any, **context: Any) -> Any:
        """A function ``f(X_chunk) -> scores`` for one query; by default :meth:`score`."""

        def score_chunk(X_chunk: Any) -> np.ndarray:
            return self.score(estimator, X_chunk, **context)

        return score_chunk

    def _tie_rng(self, context: dict[str, Any]) -> np.random.RandomState | None:
        if not self.random_tie_break:
            return None
        rng = context.get("random_state")
        return np.random.RandomState(0) if rng is None else check_random_state(rng)

    def select(self, estimator: Any, X_pool: Any, n: int, **context: Any) -> np.ndarray:
        scores = self.scorer(estimator, **context)(X_pool)
        return top_n(scores, n, self._tie_rng(context))

    def select_rows(
        self,
        estimator: Any,
        X: Any,
        pool_mask: np.ndarray,
        n: int,
        *,
        chunk_rows: int | None = None,
        **context: Any,
    ) -> np.ndarray:
        """Score ``X`` chunk by chunk, skipping rows outside ``pool_mask``; the ``n`` best rows.

        Chunks are contiguous slices of ``X`` (views of an ndarray or memmap, never a copy of
        the pool), so the memory is one chunk of rows, scores and probabilities plus ``n`` rows.
        ``chunk_rows`` sets the chunk size (default :func:`score_chunk_rows`); the picks do not
        depend on it.
        """
        check_params(self)
        n = min(int(n), int(np.count_nonzero(pool_mask)))
        if n <= 0:
            return np.empty(0, dtype=np.intp)
        if self.needs_vectors:
            check_vectors(X[:1], self._label)
        score_chunk = self.scorer(estimator, **context)
        rng = self._tie_rng(context)
        best = RunningTopN(n)
        step = score_chunk_rows(X) if chunk_rows is None else max(1, int(chunk_rows))
        with one_blas_thread():
            return self._scan(score_chunk, X, pool_mask, step, rng, best)

    def select_gathered(
        self,
        estimator: Any,
        pieces: Sequence[tuple[np.ndarray, Any]],
        pool_mask: np.ndarray,
        n: int,
        **context: Any,
    ) -> np.ndarray:
        """The ``n`` best rows of vectors gathered from the pool already.

        ``pieces`` are ``(rows, vectors)`` pairs: ``vectors[i]`` is pool row ``rows[i]``; only
        rows inside ``pool_mask`` (over the whole pool) may be picked. The picks, and the ties
        between them, are those of :meth:`select_rows` on the pool with the mask of the gathered
        rows, whatever their order: ties go by tie key, then by row number, and random tie keys
        are drawn for every pool row in row order, as there.
        """
        check_params(self)
        kept = [pool_mask[rows] for rows, _ in pieces]
        n = min(int(n), sum(int(np.count_nonzero(k)) for k in kept))
        if n <= 0:
            return np.empty(0, dtype=np.intp)
        rng = self._tie_rng(context)
        ties = None if rng is None else rng.random_sample(pool_mask.shape[0])
        score_chunk = self.scorer(estimator, **context)
        best = RunningTopN(n)
        with one_blas_thread():
            for (rows, vectors), keep in zip(pieces, kept, strict=True):
                step = score_chunk_rows(vectors)
                for start in range(0, rows.shape[0], step):
                    stop = min(start + step, rows.shape[0])
                    inside, picked = keep[start:stop], rows[start:stop]
                    if not inside.any():
                        continue
                    scores = self._chunk_scores(score_chunk, vectors[start:stop], inside)
                    picked = picked[inside]
                    keys = np.zeros(picked.shape[0]) if ties is None else ties[picked]
                    best.update(scores, keys, picked)
        return best.result()

    def _chunk_scores(self, score_chunk: Any, chunk: Any, keep: Any) -> np.ndarray:
        """The checked scores of a chunk of rows, those selected by ``keep`` only."""
        if self.needs_vectors:
            chunk = check_vectors(chunk, self._label)
        return _score_keys(score_chunk(chunk), n_rows(chunk), self._label)[keep]

    def _scan(
        self,
        score_chunk: Any,
        X: Any,
        pool_mask: np.ndarray,
        step: int,
        rng: np.random.RandomState | None,
        best: RunningTopN,
    ) -> np.ndarray:
        n_samples = n_rows(X)

        def spans() -> Iterator[tuple[Any, np.ndarray, np.ndarray]]:
            """``(rows, pool rows, their tie keys)`` per piece of work, in row order.

            ``rows`` is a slice (a mostly-pool chunk, scored as a view of ``X``: no copy) or
            None (pool rows gathered from sparse chunks into one copy of at most ``step`` rows:
            a few thousand candidates spread over a million rows are scored in a handful of
            calls, not one call per chunk).
            """
            gathered: list[np.ndarray] = []
            gathered_ties: list[np.ndarray] = []
            n_gathered = 0
            no_ties = np.zeros(min(step, n_samples))  # read-only: sliced, never written
            for start in range(0, n_samples, step):
                stop = min(start + step, n_samples)
                # Tie keys are drawn for every row, in row order, so that they depend neither on
                # the chunk size, nor on which rows are labeled, nor on how many threads score.
                ties = no_ties[: stop - start] if rng is None else rng.random_sample(stop - start)
                where = np.flatnonzero(pool_mask[start:stop])
                if not where.shape[0]:
                    continue
                if 2 * where.shape[0] >= stop - start:
                    yield slice(start, stop), start + where, ties[where]
                    continue
                if n_gathered + where.shape[0] > step:
                    yield None, np.concatenate(gathered), np.concatenate(gathered_ties)
                    gathered, gathered_ties, n_gathered = [], [], 0
                gathered.append(start + where)
                gathered_ties.append(ties[where])
                n_gathered += where.shape[0]
            if gathered:
                yield None, np.concatenate(gathered), np.concatenate(gathered_ties)

        def score_span(span: tuple[Any, np.ndarray, np.ndarray]) -> np.ndarray:
            rows, picked, _ = span
            if rows is None:
                chunk, keep = _take(X, picked), slice(None)
            else:
                # Score the whole chunk as a view and drop the rows outside the pool.
                chunk, keep = X[rows], picked - rows.start
            return self._chunk_scores(score_chunk, chunk, keep)

        threads = scoring_threads() if self.parallel_chunks else 1
        if threads <= 1:
            for span in spans():
                best.update(score_span(span), span[2], span[1])
            return best.result()
        # scikit-learn's settings (assume_finite) and context variables (pool_scoring's) are
        # per thread: the workers take this one's.
        config, context = sklearn.get_config(), contextvars.copy_context()

        def score_span_in_worker(span: tuple[Any, np.ndarray, np.ndarray]) -> np.ndarray:
            with sklearn.config_context(**config):
                return context.copy().run(score_span, span)

        # A window of `threads` chunks at a time, merged in row order: at most that many chunks
        # in memory, and the same picks as one thread.
        todo = spans()
        with ThreadPoolExecutor(threads) as pool:
            while window := list(itertools.islice(todo, threads)):
                scored = pool.map(score_span_in_worker, window)
                for span, scores in zip(window, scored, strict=True):
                    best.update(scores, span[2], span[1])
        return best.result()
