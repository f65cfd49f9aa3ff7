"""Bayesian disagreement: BALD (mutual information between the prediction and the model)."""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from scipy.special import xlogy
from sklearn.base import clone
from sklearn.utils import _safe_indexing, check_random_state

from skprepal._compat import Interval
from skprepal.exceptions import InvalidInputError
from skprepal.strategies._base import ScoreStrategy
from skprepal.strategies._registry import register_strategy

__all__ = ["BALD", "mutual_information"]

#: Bootstrap draws tried per committee member before falling back to a stratified resample.
_MAX_RESAMPLES = 10


def mutual_information(samples: np.ndarray) -> np.ndarray:
    """BALD score of each row: ``H[mean_t p_t] - mean_t H[p_t]`` (in nats).

    Parameters
    ----------
    samples : ndarray of shape (n_samples, n_rows, n_classes)
        Class probabilities of each row under ``n_samples`` draws of the model.

    Returns
    -------
    ndarray of shape (n_rows,)
        The mutual information, clipped at 0 (it is non-negative up to rounding).

    Examples
    --------
    >>> agree = [[[0.5, 0.5]], [[0.5, 0.5]]]
    >>> disagree = [[[1.0, 0.0]], [[0.0, 1.0]]]
    >>> mutual_information(np.array(agree)), mutual_information(np.array(disagree)).round(4)
    (array([0.]), array([0.6931]))
    """
    samples = np.asarray(samples, dtype=np.float64)
    mean = samples.mean(axis=0)
    entropy_of_mean = -xlogy(mean, mean).sum(axis=1)
    mean_entropy = -xlogy(samples, samples).sum(axis=2).mean(axis=0)
    return np.maximum(entropy_of_mean - mean_entropy, 0.0)


@register_strategy("bald")
class BALD(ScoreStrategy):
    """Bayesian Active Learning by Disagreement: pick the rows where samples of the model disagree.

    The score is the mutual information between a row's label and the model,
    ``H[mean_t p_t(y|x)] - mean_t H[p_t(y|x)]`` over ``T`` probability samples ``p_t``. Unlike
    entropy, a row on which every sample is equally unsure (noise) scores 0; only disagreement
    between samples counts.

    Where the samples come from:

    * **MC samples** -- if the estimator has a method
      ``predict_proba_samples(X, n_samples, random_state=...)`` returning an array of shape
      ``(n_samples, n_rows, n_classes)`` (e.g. the torch MLP head: MC dropout), ``n_samples``
      draws of it are used; the labeled rows are not needed.
    * **Bootstrap committee** -- otherwise, ``n_members`` clones of the estimator
      (:func:`sklearn.base.clone`) are fit on bootstrap resamples of the context's ``X_labeled``,
      ``y_labeled``. A resample is redrawn until it holds at least two classes; after
      10 failed draws a stratified resample (each class resampled within itself) is used. Each
      member's ``predict_proba`` columns are aligned to the context's ``classes`` (else the
      estimator's ``classes_``); a class a member never saw gets probability 0.

    Parameters
    ----------
    n_samples : int, default=10
        Number of MC samples drawn from ``predict_proba_samples`` (MC source only).
    n_members : int, default=10
        Number of bootstrap committee members (bootstrap source only).
    random_tie_break : bool, default=False
        Break ties between equal scores at random rather than by position.

    References
    ----------
    .. [1] N. Houlsby, F. Huszár, Z. Ghahramani and M. Lengyel, "Bayesian Active Learning for
       Classification and Preference Learning", arXiv:1112.5745, 2011.
    .. [2] Y. Gal, R. Islam and Z. Ghahramani, "Deep Bayesian Active Learning with Image Data",
       ICML 2017 (MC dropout).
    .. [3] H. S. Seung, M. Opper and H. Sompolinsky, "Query by committee", COLT 1992.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(40, 2))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> clf = LogisticRegression().fit(X, y)
    >>> BALD(n_members=5)(clf, X, 3, X_labeled=X, y_labeled=y, random_state=0).shape
    (3,)
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_members": [Interval(Integral, 1, None, closed="left")],
        "random_tie_break": ["boolean"],
    }

    def __init__(
        self, *, n_samples: int = 10, n_members: int = 10, random_tie_break: bool = False
    ) -> None:
        self.n_samples = n_samples
        self.n_members = n_members
        self.random_tie_break = random_tie_break

    def score(self, estimator: Any, X_pool: Any, **context: Any) -> np.ndarray:
        return self.scorer(estimator, **context)(X_pool)

    def scorer(self, estimator: Any, **context: Any) -> Any:
        """Fit the committee once per query; each chunk is then only predicted on."""
        rng = check_random_state(context.get("random_state"))
        if hasattr(estimator, "predict_proba_samples"):

            def score_chunk(X_chunk: Any) -> np.ndarray:
                return mutual_information(self._mc_samples(estimator, X_chunk, rng))

            return score_chunk
        members, cols, n_classes = self._committee(estimator, rng, context)

        def score_committee(X_chunk: Any) -> np.ndarray:
            n_rows = X_chunk.shape[0] if hasattr(X_chunk, "shape") else len(X_chunk)
            samples = np.zeros((len(members), n_rows, n_classes))
            for t, (member, columns) in enumerate(zip(members, cols, strict=True)):
                samples[t][:, columns] = member.predict_proba(X_chunk)
            return mutual_information(samples)

        return score_committee

    def _mc_samples(self, estimator: Any, X_pool: Any, rng: np.random.RandomState) -> np.ndarray:
        samples = np.asarray(
            estimator.predict_proba_samples(X_pool, int(self.n_samples), random_state=rng),
            dtype=np.float64,
        )
        n_pool = X_pool.shape[0] if hasattr(X_pool, "shape") else len(X_pool)
        if samples.ndim != 3 or samples.shape[1] != n_pool:
            raise InvalidInputError(
                f"query strategy {self.name!r}: {type(estimator).__name__}.predict_proba_samples "
                f"returned shape {samples.shape}; expected (n_samples, {n_pool}, n_classes)."
            )
        return samples

    def _committee(
        self, estimator: Any, rng: np.random.RandomState, context: dict[str, Any]
    ) -> tuple[list[Any], list[list[int]], int]:
        """Fit ``n_members`` bootstrap clones; return them with their columns in ``classes``."""
        X_labeled, y_labeled = context.get("X_labeled"), context.get("y_labeled")
        if X_labeled is None or y_labeled is None or len(y_labeled) == 0:
            raise InvalidInputError(
                f"query strategy {self.name!r} with {type(estimator).__name__}, which has no "
                "predict_proba_samples, fits a bootstrap committee and needs the labeled rows: "
                "pass X_labeled and y_labeled in the context (PRepALLearner does)."
            )
        y_labeled = np.asarray(y_labeled)
        present = np.unique(y_labeled)
        if present.shape[0] < 2:
            raise InvalidInputError(
                f"query strategy {self.name!r}: a bootstrap committee needs labeled rows of at "
                f"least two classes, but y_labeled holds only {present.tolist()}."
            )
        classes = context.get("classes")
        if classes is None:
            classes = getattr(estimator, "classes_", present)
        # Labels taught since the head's last fit (teach(refit=False)) get their own columns.
        classes = np.asarray(classes)
        if not np.isin(present, classes).all():
            classes = np.union1d(classes, present)
        column = {c: i for i, c in enumerate(classes.tolist())}
        members, cols = [], []
        for _ in range(int(self.n_members)):
            rows = self._bootstrap(y_labeled, present, rng)
            member = clone(estimator).fit(
                _safe_indexing(X_labeled, rows), _safe_indexing(y_labeled, rows)
            )
            try:
                cols.append([column[c] for c in np.asarray(member.classes_).tolist()])
            except KeyError as exc:
                raise InvalidInputError(
                    f"query strategy {self.name!r}: label {exc.args[0]!r} of y_labeled is not "
                    f"among classes {classes.tolist()}."
                ) from None
            members.append(member)
        return members, cols, classes.shape[0]

    @staticmethod
    def _bootstrap(y: np.ndarray, present: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
        n = y.shape[0]
        for _ in range(_MAX_RESAMPLES):
            rows = rng.randint(n, size=n)
            if np.unique(y[rows]).shape[0] >= 2:
                return rows
        # Stratified: resample each class within itself, so every class is present.
        parts = [rng.choice(np.flatnonzero(y == c), size=int((y == c).sum())) for c in present]
        return np.concatenate(parts)
