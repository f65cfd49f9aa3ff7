"""The state of an active-learning session, without a copy of the rows.

The learner keeps the ``X`` given to ``fit`` as it is (an ndarray, a read-only ``np.memmap``...).
What changes from round to round is small and lives here: which rows are labeled, with which
label, in which order they were acquired, and which rows were skipped. Rows are read from ``X``
only when the head is fit (the labeled ones) or when a strategy scores the pool (chunk by chunk).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

__all__ = ["LabelState", "memmap_reference", "open_memmap_reference"]


class LabelState:
    """Labels, acquisition order and skips of one session over ``n_samples`` rows.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
        Storage for the labels (copied). In a simulation it holds the oracle; only rows marked
        labeled count.
    labeled : ndarray of bool, shape (n_samples,)
        Which rows are labeled at the start; their acquisition order is their row order.
    """

    def __init__(self, labels: np.ndarray, labeled: np.ndarray) -> None:
        self.labels = labels.copy()
        self.labeled = labeled.copy()
        self.skipped = np.zeros(labels.shape[0], dtype=bool)
        self.order = np.flatnonzero(labeled).astype(np.intp)

    @property
    def n_samples(self) -> int:
        return int(self.labels.shape[0])

    @property
    def n_labeled(self) -> int:
        return int(self.order.shape[0])

    @property
    def n_skipped(self) -> int:
        return int(self.skipped.sum())

    @property
    def n_pool(self) -> int:
        return self.n_samples - self.n_labeled - self.n_skipped

    def pool_mask(self) -> np.ndarray:
        """True for rows a strategy may pick: neither labeled nor skipped."""
        return ~(self.labeled | self.skipped)

    def n_classes_held(self) -> int:
        """How many distinct labels the labeled rows hold now (refit or not)."""
        if not self.n_labeled:
            return 0
        # A set rather than np.unique: labels held as objects sort by Python comparisons, and
        # every query asks this.
        return len(set(self.labels[self.order].tolist()))

    def labeled_rows(self) -> np.ndarray:
        """Labeled row numbers in increasing order: the head's training rows.

        Row order rather than acquisition order, so that the head (and hence the next query) is
        a function of which rows carry which label, not of the order they came in.
        """
        return np.sort(self.order)

    def label(self, rows: np.ndarray, values: Any) -> np.ndarray:
        """Set labels; return the rows that were not labeled before (now acquired, in order).

        A skipped row that gets a label is no longer skipped.
        """
        new = rows[~self.labeled[rows]]
        self.labels[rows] = values
        self.labeled[rows] = True
        self.skipped[rows] = False
        self.order = np.concatenate([self.order, new]).astype(np.intp)
        return new

    def forget(self, rows: np.ndarray) -> None:
        """Take the labels of ``rows`` back: they return to the pool."""
        self.labeled[rows] = False
        self.order = self.order[~np.isin(self.order, rows)]

    def skip(self, rows: np.ndarray) -> None:
        """Never offer ``rows`` again (they stay unlabeled)."""
        self.skipped[rows] = True

    def digest(self) -> bytes:
        """A fingerprint of which rows are labeled and skipped.

        Queries draw their randomness from it (with the seed), so that the same state asks the
        same question however many queries were made before: a resumed session asks what the
        interrupted one would have asked.
        """
        h = hashlib.blake2b(digest_size=16)
        h.update(np.int64(self.n_samples).tobytes())
        h.update(np.packbits(self.labeled).tobytes())
        h.update(np.packbits(self.skipped).tobytes())
        return h.digest()


def _root_memmap(X: np.ndarray) -> np.memmap | None:
    """The np.memmap that owns the file mapping behind ``X``, if there is one."""
    node: Any = X
    root = None
    while isinstance(node, np.ndarray):
        if isinstance(node, np.memmap):
            root = node
        node = node.base
    return root


def memmap_reference(X: np.ndarray) -> dict[str, Any] | None:
    """Where ``X``'s rows live on disk, if ``X`` is a C-contiguous view of a file mapping.

    Returns
    -------
    dict or None
        ``filename``, ``offset`` (bytes), ``dtype``, ``shape``: what :func:`np.memmap` needs to
        map the same rows again. None for an array held in memory.
    """
    root = _root_memmap(X)
    if root is None or getattr(root, "filename", None) is None or not X.flags.c_contiguous:
        return None
    offset = int(root.offset) + (
        X.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    )
    return {
        "filename": str(root.filename),
        "offset": offset,
        "dtype": X.dtype.str,
        "shape": tuple(int(s) for s in X.shape),
    }


def open_memmap_reference(reference: dict[str, Any]) -> np.memmap:
    """Map the rows of a :func:`memmap_reference` again, read-only.

    Raises
    ------
    FileNotFoundError
        If the file is gone.
    ValueError
        If the file is too short for the recorded shape.
    """
    return np.memmap(
        reference["filename"],
        dtype=np.dtype(reference["dtype"]),
        mode="r",
        offset=reference["offset"],
        shape=tuple(reference["shape"]),
    )
