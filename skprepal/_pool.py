"""The rows of an active-learning session: which are labeled, and the pool as a zero-copy view.

Rows are kept in one working array in which the unlabeled rows come first. Labeling moves rows
to the end by swapping a handful of rows, so the pool is always the slice ``X[:n_pool]`` and the
labeled rows ``X[n_pool:]``: no round copies the pool, however large.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["LabelPool"]


class LabelPool:
    """A working copy of ``X`` and ``y``, partitioned into pool (first) and labeled rows (last).

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
        The rows (numeric vectors or an object array of texts). Copied once.
    y : ndarray of shape (n_samples,)
        Labels, with unlabeled rows marked by ``labeled=False``.
    labeled : ndarray of bool, shape (n_samples,)
        Which rows are labeled at the start.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, labeled: np.ndarray) -> None:
        n = X.shape[0]
        order = np.concatenate([np.flatnonzero(~labeled), np.flatnonzero(labeled)])
        self.X = X[order]
        self.y = y[order]
        self.rows = order.astype(np.intp)  # working position -> row number in the user's X
        self.position = np.empty(n, dtype=np.intp)  # row number -> working position
        self.position[self.rows] = np.arange(n)
        self.n_pool = int((~labeled).sum())

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_labeled(self) -> int:
        return self.n_samples - self.n_pool

    def pool(self) -> np.ndarray:
        """The unlabeled rows, as a view."""
        return self.X[: self.n_pool]

    def pool_rows(self) -> np.ndarray:
        """Row numbers (in the user's ``X``) of the unlabeled rows, in :meth:`pool` order."""
        return self.rows[: self.n_pool]

    def labeled(self) -> tuple[np.ndarray, np.ndarray]:
        """The labeled rows and their labels, as views."""
        return self.X[self.n_pool :], self.y[self.n_pool :]

    def labeled_mask(self) -> np.ndarray:
        """Boolean mask over the user's rows: True where labeled."""
        mask = np.zeros(self.n_samples, dtype=bool)
        mask[self.rows[self.n_pool :]] = True
        return mask

    def is_labeled(self, rows: np.ndarray) -> np.ndarray:
        """Whether each of ``rows`` (user row numbers) is labeled."""
        return self.position[rows] >= self.n_pool

    def label(self, rows: np.ndarray, labels: Any) -> None:
        """Give labels to ``rows`` (user row numbers); newly labeled rows leave the pool.

        Rows already labeled get their label replaced. ``rows`` must be distinct.
        """
        rows = np.asarray(rows, dtype=np.intp)
        positions = self.position[rows]
        self.y[positions] = labels
        new = positions[positions < self.n_pool]
        if new.size == 0:
            return
        k = new.size
        start = self.n_pool - k
        # Picked rows already in the target block stay; the others trade places with the
        # unpicked rows of that block.
        outside = np.sort(new[new < start])
        free = np.setdiff1d(np.arange(start, self.n_pool), new[new >= start], assume_unique=True)
        if outside.size:
            for array in (self.X, self.y, self.rows):
                array[outside], array[free] = array[free], array[outside].copy()
            self.position[self.rows[outside]] = outside
            self.position[self.rows[free]] = free
        self.n_pool = start
