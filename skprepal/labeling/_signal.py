"""A small live signal of how learning goes, for the labeling page.

Two numbers, both cheap next to a head refit and neither kept in the learner:

- **changed**: the share of a fixed random sample of (at most 500) items whose predicted label
  changed at the last refit. It falls towards zero as the model settles; a spike means the last
  answers taught it something new (or contradicted it).
- **cv_accuracy**: 3-fold cross-validated accuracy of a fresh copy of the head on the last (at
  most 1,000) labels, recomputed every 10 labels in a background thread once the labeler pauses
  (no answer for half a second): three head fits on the two cores the next answer's refit and
  query need would otherwise delay the next item.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.dummy import DummyClassifier

__all__ = ["LearningSignal"]

logger = logging.getLogger(__name__)


class LearningSignal:
    """Track how a session's predictions move and how well its labels cross-validate.

    Parameters
    ----------
    vectors : ndarray of shape (n_items, dim)
        The session's embeddings.
    sample_size : int, default=500
        Items in the fixed sample whose predictions are compared from refit to refit.
    cv_every : int, default=10
        Recompute the cross-validated accuracy when the label count has moved by this much.
    cv_max_labels : int, default=1000
        Cross-validate on at most the last this many labels.
    n_folds : int, default=3
        Folds of the cross-validation.
    random_state : int, default=0
        Seeds the sample and the folds.
    background : bool, default=True
        Cross-validate in a worker thread (False: in the calling thread, at once, for tests).
    quiet_seconds : float, default=0.5
        The worker waits until no change has come for this long, and then cross-validates the
        labels as they are by then.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        *,
        sample_size: int = 500,
        cv_every: int = 10,
        cv_max_labels: int = 1000,
        n_folds: int = 3,
        random_state: int = 0,
        background: bool = True,
        quiet_seconds: float = 0.5,
    ) -> None:
        self._vectors = vectors
        rng = np.random.RandomState(random_state)
        n = vectors.shape[0]
        self._sample = np.sort(rng.choice(n, size=min(sample_size, n), replace=False))
        self._cv_every = cv_every
        self._cv_max = cv_max_labels
        self._n_folds = n_folds
        self._seed = random_state
        self._state_key: bytes | None = None
        self._predictions: np.ndarray | None = None
        self._changed: float | None = None
        self._history: deque[float] = deque(maxlen=30)
        self._cv: dict[str, Any] | None = None
        self._cv_at: int | None = None  # label count the last CV was started at
        self._cv_running = False
        self._cv_request: tuple[Any, np.ndarray, np.ndarray] | None = None
        self._changed_at = time.monotonic()
        self._quiet = float(quiet_seconds)
        self._cv_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1) if background else None

    def update(self, learner: Any) -> dict[str, Any]:
        """Read the learner's current state; return the signal as a JSON-ready dict.

        Call it after every change (cheap when nothing changed: one hash of the labels).
        """
        rows = learner.labeled_indices_
        labels = [str(v) for v in learner.y_labeled_]
        key = hashlib.sha256(rows.tobytes() + "\x00".join(labels).encode()).digest()
        if key != self._state_key:
            self._state_key = key
            self._changed_at = time.monotonic()
            self._after_refit(learner)
            self._maybe_cross_validate(learner, rows, labels)
        with self._cv_lock:
            cv = dict(self._cv) if self._cv else None
        return {
            "changed": self._changed,
            "changed_history": list(self._history),
            "n_sample": int(self._sample.size),
            "cv_accuracy": None if cv is None else cv["accuracy"],
            "cv_n_labels": None if cv is None else cv["n_labels"],
            "cv_folds": self._n_folds,
        }

    def _after_refit(self, learner: Any) -> None:
        head = getattr(learner, "estimator_", None)
        if head is None or isinstance(head, DummyClassifier):
            # One class so far: every prediction is that class; nothing to compare yet.
            self._predictions, self._changed = None, None
            return
        predictions = np.asarray(learner.predict(self._vectors[self._sample]))
        if self._predictions is not None:
            self._changed = float(np.mean(predictions != self._predictions))
            self._history.append(self._changed)
        self._predictions = predictions

    def _maybe_cross_validate(self, learner: Any, rows: np.ndarray, labels: list[str]) -> None:
        head = getattr(learner, "estimator_", None)
        if head is None or isinstance(head, DummyClassifier):
            return
        n = len(labels)
        if self._cv_at is not None and abs(n - self._cv_at) < self._cv_every:
            return
        _, counts = np.unique(np.asarray(labels[-self._cv_max :], dtype=object), return_counts=True)
        if np.sum(counts >= self._n_folds) < 2:
            return  # not yet two classes with a label per fold
        self._cv_at = n
        # Row numbers and labels only (the vectors are read when the work runs): the worker
        # never reads state the next answer changes.
        request = (clone(head), rows[-self._cv_max :].copy(),
                   np.asarray(labels[-self._cv_max :], dtype=object))
        if self._executor is None:
            self._cross_validate(*request)
            return
        with self._cv_lock:
            self._cv_request = request  # a newer request replaces one not started yet
            if self._cv_running:
                return
            self._cv_running = True
        self._executor.submit(self._work_when_quiet)

    def _work_when_quiet(self) -> None:
        while True:
            wait = self._quiet - (time.monotonic() - self._changed_at)
            if wait > 0:
                time.sleep(wait)
                continue
            with self._cv_lock:
                request, self._cv_request = self._cv_request, None
                if request is None:
                    self._cv_running = False
                    return
            self._cross_validate(*request)

    def _cross_validate(self, estimator: Any, rows: np.ndarray, y: np.ndarray) -> None:
        from sklearn.model_selection import StratifiedKFold, cross_val_score

        try:
            X = np.asarray(self._vectors[rows])
            # Classes with fewer labels than folds cannot be stratified: left out until they
            # have enough.
            names, counts = np.unique(y, return_counts=True)
            keep = np.isin(y, names[counts >= self._n_folds])
            result = None
            if np.unique(y[keep]).size >= 2:
                folds = StratifiedKFold(self._n_folds, shuffle=True, random_state=self._seed)
                scores = cross_val_score(estimator, X[keep], y[keep], cv=folds)
                result = {"accuracy": float(np.mean(scores)), "n_labels": int(keep.sum())}
        except Exception:  # a signal must never take the labeling down
            logger.exception("cross-validating the labels so far failed")
            result = None
        if result is not None:
            with self._cv_lock:
                self._cv = result

    def close(self) -> None:
        """Stop the worker thread (waits for a running cross-validation)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
