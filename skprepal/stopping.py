"""Stopping criteria: when the active-learning loop has labeled enough.

A criterion is a scikit-learn style object (parameters in ``__init__``, ``get_params``,
``clone``). The learner clones it at the start of ``fit`` and, after every fit of the head and
before every query, asks ``criterion.should_stop(estimator, X, *, labeled_mask, n_labeled,
random_state)`` (see :meth:`StoppingCriterion.should_stop`). A criterion keeps its state in
attributes ending in ``_``, set on its first call, and explains a True answer in ``reason_``.
"""

from __future__ import annotations

import logging
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import cohen_kappa_score
from sklearn.utils import check_random_state

from skprepal._compat import Interval, StrOptions
from skprepal._validation import check_params
from skprepal.exceptions import InvalidInputError
from skprepal.strategies._base import score_chunk_rows
from skprepal.strategies._uncertainty import UNCERTAINTY_MEASURES, uncertainty

__all__ = [
    "StoppingCriterion",
    "MaxLabels",
    "StabilizingPredictions",
    "UncertaintyThreshold",
    "AnyOf",
    "uncertainty",
]
# ``uncertainty`` lives with the uncertainty strategies (one computation for ranking and for
# stopping); it is re-exported here, where the stopping criteria document it.

logger = logging.getLogger(__name__)

AGGREGATES = ("max", "mean")


def _take_rows(X: Any, rows: np.ndarray) -> Any:
    """``X[rows]`` for arrays, sparse matrices and pandas objects."""
    if hasattr(X, "iloc"):
        return X.iloc[rows]
    if not hasattr(X, "shape"):
        X = np.asarray(X)
    return X[rows]


class StoppingCriterion(BaseEstimator, metaclass=ABCMeta):
    """Base class of stopping criteria.

    Subclasses implement :meth:`should_stop`, call ``self._check_call`` first (which validates the
    parameters on the first call and the arguments on every call) and return
    ``self._answer(reason)``: True with ``reason_`` set when ``reason`` is a string, False with
    ``reason_ = None`` when it is None.

    Attributes
    ----------
    reason_ : str or None
        Why the last call answered True; None when it answered False.
    n_calls_ : int
        How many times :meth:`should_stop` was called.
    """

    @abstractmethod
    def should_stop(
        self, estimator: Any, X: Any, *, labeled_mask: Any, n_labeled: int, random_state: Any = None
    ) -> bool:
        """Whether the loop should stop before its next query.

        Parameters
        ----------
        estimator : fitted classifier
            The head just fitted on the labeled rows (``predict``; ``predict_proba`` if needed).
        X : ndarray or sparse matrix of shape (n_samples, n_features)
            Every row of the loop, labeled or not; the same rows at every call.
        labeled_mask : array-like of bool, shape (n_samples,)
            True where a label is known.
        n_labeled : int
            How many labels the loop holds.
        random_state : None, int or RandomState
            The learner's ``numpy.random.RandomState``.

        Returns
        -------
        bool
            True to stop; ``reason_`` then says why.
        """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}

    def validate(self) -> None:
        """Check the parameters against ``_parameter_constraints``.

        :class:`~skprepal.PRepALLearner` calls it in ``fit``, before any work; a criterion used on
        its own checks itself on its first :meth:`should_stop`.

        Raises
        ------
        InvalidInputError
            Naming the parameter, what it got and what is allowed.
        """
        check_params(self)

    def _check_call(self, X: Any, labeled_mask: Any, n_labeled: int) -> np.ndarray:
        """Validate parameters (first call) and arguments; return ``labeled_mask`` as bool."""
        if not hasattr(self, "n_calls_"):
            self.validate()
            self.n_calls_ = 0
            self.reason_ = None
        n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
        mask = np.asarray(labeled_mask)
        if mask.dtype != bool or mask.shape != (n_samples,):
            raise InvalidInputError(
                f"labeled_mask must be a boolean array of shape ({n_samples},), one entry per row "
                f"of X, but got dtype {mask.dtype} and shape {mask.shape}."
            )
        if not isinstance(n_labeled, Integral) or n_labeled < 0:
            raise InvalidInputError(f"n_labeled must be an int >= 0, got {n_labeled!r}.")
        self.n_calls_ += 1
        return mask

    def _answer(self, reason: str | None) -> bool:
        self.reason_ = reason
        if reason is not None:
            logger.info("%s: stop after %d calls: %s", type(self).__name__, self.n_calls_, reason)
        return reason is not None


class MaxLabels(StoppingCriterion):
    """Stop once the loop holds at least ``max_labels`` labels: a labeling budget.

    Parameters
    ----------
    max_labels : int, default=1000
        The budget, counting the initial labels.

    Attributes
    ----------
    reason_, n_calls_
        As in :class:`StoppingCriterion`.

    Examples
    --------
    >>> import numpy as np
    >>> crit = MaxLabels(max_labels=10)
    >>> mask = np.zeros(20, dtype=bool)
    >>> crit.should_stop(None, np.zeros((20, 2)), labeled_mask=mask, n_labeled=9, random_state=0)
    False
    >>> crit.should_stop(None, np.zeros((20, 2)), labeled_mask=mask, n_labeled=10, random_state=0)
    True
    >>> crit.reason_
    '10 labels >= max_labels=10'
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "max_labels": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, max_labels: int = 1000) -> None:
        self.max_labels = max_labels

    def should_stop(
        self, estimator: Any, X: Any, *, labeled_mask: Any, n_labeled: int, random_state: Any = None
    ) -> bool:
        self._check_call(X, labeled_mask, n_labeled)
        if n_labeled >= self.max_labels:
            return self._answer(f"{n_labeled} labels >= max_labels={self.max_labels}")
        return self._answer(None)


class StabilizingPredictions(StoppingCriterion):
    """Stop when the head's predictions on a fixed stop set no longer change.

    On the first call a stop set of ``stop_set_size`` rows is drawn with ``random_state`` from
    the rows then unlabeled (all of them if fewer; from every row if none is unlabeled), and kept
    for the whole loop. Every call records the head's predictions on it; Cohen's kappa measures
    the agreement between consecutive rounds, and the loop stops once the mean of the last
    ``window`` kappas reaches ``threshold``. The earliest stop is therefore on call
    ``window + 1``. When two rounds predict identical labels, agreement is 1.0, also when a
    single class is predicted (where kappa itself is undefined).

    Parameters
    ----------
    stop_set_size : int, default=2000
        Rows in the stop set.
    window : int, default=3
        Consecutive kappas averaged.
    threshold : float, default=0.99
        Stop when the averaged kappa is at least this.

    Attributes
    ----------
    stop_set_ : ndarray of intp
        Row numbers, into ``X``, of the stop set.
    predictions_ : ndarray
        The head's predictions on the stop set at the last call.
    kappas_ : list of float
        Kappa between consecutive calls, oldest first (one fewer than the calls).
    reason_, n_calls_
        As in :class:`StoppingCriterion`.

    References
    ----------
    .. [1] M. Bloodgood and K. Vijay-Shanker, "A Method for Stopping Active Learning Based on
       Stabilizing Predictions and the Need for User-Adjustable Stopping", CoNLL 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> X, mask = np.zeros((50, 2)), np.zeros(50, dtype=bool)
    >>> head = DummyClassifier().fit(X[:2], [0, 1])
    >>> crit = StabilizingPredictions(stop_set_size=20, window=2)
    >>> [crit.should_stop(head, X, labeled_mask=mask, n_labeled=2, random_state=0)
    ...  for _ in range(3)]
    [False, False, True]
    >>> crit.reason_
    'kappa 1.000 >= 0.99 over the last 2 rounds'
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "stop_set_size": [Interval(Integral, 1, None, closed="left")],
        "window": [Interval(Integral, 1, None, closed="left")],
        "threshold": [Interval(Real, -1.0, 1.0, closed="both")],
    }

    def __init__(
        self, *, stop_set_size: int = 2000, window: int = 3, threshold: float = 0.99
    ) -> None:
        self.stop_set_size = stop_set_size
        self.window = window
        self.threshold = threshold

    def should_stop(
        self, estimator: Any, X: Any, *, labeled_mask: Any, n_labeled: int, random_state: Any = None
    ) -> bool:
        mask = self._check_call(X, labeled_mask, n_labeled)
        if not hasattr(self, "stop_set_"):
            candidates = np.flatnonzero(~mask)
            if candidates.size == 0:
                candidates = np.arange(mask.shape[0])
            size = min(int(self.stop_set_size), candidates.size)
            rng = check_random_state(random_state)
            self.stop_set_ = np.sort(rng.choice(candidates, size=size, replace=False))
            self._n_samples = mask.shape[0]
            self.kappas_ = []
        elif mask.shape[0] != self._n_samples:
            raise InvalidInputError(
                f"X has {mask.shape[0]} rows but had {self._n_samples} on the first call; a "
                "StabilizingPredictions keeps row numbers of its stop set, so X must not change "
                "within a loop. Clone the criterion to start a new loop."
            )
        predictions = np.asarray(estimator.predict(_take_rows(X, self.stop_set_)))
        previous = getattr(self, "predictions_", None)
        self.predictions_ = predictions
        if previous is None:
            return self._answer(None)
        self.kappas_.append(self._kappa(previous, predictions))
        if len(self.kappas_) < self.window:
            return self._answer(None)
        mean = float(np.mean(self.kappas_[-self.window :]))
        logger.debug("StabilizingPredictions: mean kappa %.4f over %d rounds", mean, self.window)
        if mean >= self.threshold:
            return self._answer(
                f"kappa {mean:.3f} >= {self.threshold} over the last {self.window} rounds"
            )
        return self._answer(None)

    @staticmethod
    def _kappa(a: np.ndarray, b: np.ndarray) -> float:
        if np.array_equal(a, b):
            return 1.0  # also where one class is predicted in both rounds and kappa is 0/0
        kappa = cohen_kappa_score(a, b, labels=np.union1d(a, b))
        return 0.0 if np.isnan(kappa) else float(kappa)


class UncertaintyThreshold(StoppingCriterion):
    """Stop when the head is confident on the unlabeled rows.

    Every row's uncertainty is in [0, 1], higher meaning less sure: ``1 - max_c p(c|x)``
    (``"max_probability"``), the entropy divided by ``log(n_classes)`` (``"entropy"``), or
    ``1 - (p_1 - p_2)`` for the two most likely classes (``"margin"``). The loop stops when the
    ``aggregate`` over the unlabeled rows falls strictly below ``threshold``, or when no row is
    unlabeled. ``aggregate="max"`` is the maximum-uncertainty criterion of Zhu et al. [1]_,
    ``"mean"`` their overall-uncertainty one.

    Parameters
    ----------
    threshold : float, default=0.1
        Stop below this uncertainty, in [0, 1].
    measure : {"max_probability", "entropy", "margin"}, default="max_probability"
        Uncertainty of one row.
    aggregate : {"max", "mean"}, default="max"
        How the rows' uncertainties combine.

    Attributes
    ----------
    uncertainties_ : list of float
        The aggregate uncertainty at each call (NaN where no row was unlabeled).
    reason_, n_calls_
        As in :class:`StoppingCriterion`.

    References
    ----------
    .. [1] J. Zhu, H. Wang, E. Hovy and M. Ma, "Confidence-based stopping criteria for active
       learning for data annotation", ACM Trans. Speech Lang. Process. 6(3), 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[-3.0], [-2.0], [2.0], [3.0], [0.0]])
    >>> head = LogisticRegression().fit(X[:4], [0, 0, 1, 1])
    >>> mask = np.array([True, True, True, True, False])
    >>> crit = UncertaintyThreshold(threshold=0.1)
    >>> crit.should_stop(head, X, labeled_mask=mask, n_labeled=4, random_state=0)
    False
    >>> round(crit.uncertainties_[-1], 2)  # the last row lies on the decision boundary
    0.5
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "threshold": [Interval(Real, 0.0, 1.0, closed="both")],
        "measure": [StrOptions(set(UNCERTAINTY_MEASURES))],
        "aggregate": [StrOptions(set(AGGREGATES))],
    }

    def __init__(
        self, threshold: float = 0.1, *, measure: str = "max_probability", aggregate: str = "max"
    ) -> None:
        self.threshold = threshold
        self.measure = measure
        self.aggregate = aggregate

    def should_stop(
        self, estimator: Any, X: Any, *, labeled_mask: Any, n_labeled: int, random_state: Any = None
    ) -> bool:
        mask = self._check_call(X, labeled_mask, n_labeled)
        if not hasattr(self, "uncertainties_"):
            self.uncertainties_ = []
        n_unlabeled = int(mask.shape[0] - np.count_nonzero(mask))
        if n_unlabeled == 0:
            self.uncertainties_.append(float("nan"))
            return self._answer("no unlabeled rows remain")
        if not hasattr(estimator, "predict_proba"):
            raise InvalidInputError(
                f"UncertaintyThreshold needs class probabilities, but {type(estimator).__name__} "
                "has no predict_proba; use a probabilistic head (e.g. LogisticRegression) or "
                "another stopping criterion such as StabilizingPredictions."
            )
        value = self._aggregate_uncertainty(estimator, X, mask)
        self.uncertainties_.append(value)
        if value < self.threshold:
            return self._answer(
                f"{self.aggregate} {self.measure} uncertainty {value:.3f} < {self.threshold} "
                f"on {n_unlabeled} unlabeled rows"
            )
        return self._answer(None)

    def _aggregate_uncertainty(self, estimator: Any, X: Any, mask: np.ndarray) -> float:
        """Max or mean uncertainty over the unlabeled rows, chunk by chunk (never X[~mask])."""
        total, count, peak = 0.0, 0, 0.0
        step = score_chunk_rows(X)
        for start in range(0, mask.shape[0], step):
            rows = start + np.flatnonzero(~mask[start : start + step])
            if rows.size == 0:
                continue
            proba = np.asarray(estimator.predict_proba(_take_rows(X, rows)), dtype=np.float64)
            scores = uncertainty(proba, self.measure)
            total += float(scores.sum())
            count += scores.shape[0]
            peak = max(peak, float(scores.max()))
        return peak if self.aggregate == "max" else total / count


class AnyOf(StoppingCriterion):
    """Stop as soon as any of several criteria stops.

    Every criterion is asked at every call, even after an earlier one said stop, so that criteria
    with a history (such as :class:`StabilizingPredictions`) see every round. The criteria are
    cloned on the first call; the objects passed in are never changed.

    Parameters
    ----------
    criteria : list of StoppingCriterion, default=None
        The criteria, in order of precedence for ``reason_``. None or empty never stops.

    Attributes
    ----------
    criteria_ : list of StoppingCriterion
        The clones that are asked.
    stopped_by_ : StoppingCriterion or None
        The first of ``criteria_`` that said stop at the last call.
    reason_ : str or None
        That criterion's ``reason_``, prefixed by its class name.
    n_calls_ : int
        As in :class:`StoppingCriterion`.

    Examples
    --------
    >>> import numpy as np
    >>> crit = AnyOf([MaxLabels(max_labels=100), MaxLabels(max_labels=5)])
    >>> crit.should_stop(None, np.zeros((9, 1)), labeled_mask=np.zeros(9, dtype=bool),
    ...                  n_labeled=5, random_state=0)
    True
    >>> crit.reason_
    'MaxLabels: 5 labels >= max_labels=5'
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "criteria": [list, tuple, None],
    }

    def __init__(self, criteria: list[StoppingCriterion] | None = None) -> None:
        self.criteria = criteria

    def validate(self) -> None:  # noqa: D102
        criteria = [] if self.criteria is None else self.criteria
        if isinstance(criteria, StoppingCriterion) or not isinstance(criteria, (list, tuple)):
            raise InvalidInputError(
                f"AnyOf(criteria=...) takes a list of stopping criteria, got "
                f"{type(criteria).__name__}; write AnyOf([MaxLabels(500), ...])."
            )
        for i, crit in enumerate(criteria):
            if not callable(getattr(crit, "should_stop", None)):
                raise InvalidInputError(
                    f"AnyOf criteria[{i}] is a {type(crit).__name__}, which has no should_stop "
                    "method; pass StoppingCriterion objects such as MaxLabels(500)."
                )
            if callable(getattr(crit, "validate", None)):
                crit.validate()

    def should_stop(
        self, estimator: Any, X: Any, *, labeled_mask: Any, n_labeled: int, random_state: Any = None
    ) -> bool:
        mask = self._check_call(X, labeled_mask, n_labeled)
        if not hasattr(self, "criteria_"):
            self.criteria_ = [clone(c, safe=False) for c in (self.criteria or [])]
        context = {"labeled_mask": mask, "n_labeled": n_labeled, "random_state": random_state}
        answers = [bool(c.should_stop(estimator, X, **context)) for c in self.criteria_]
        self.stopped_by_ = next(
            (c for c, a in zip(self.criteria_, answers, strict=True) if a), None
        )
        if self.stopped_by_ is None:
            return self._answer(None)
        reason = getattr(self.stopped_by_, "reason_", None) or "stopped"
        return self._answer(f"{type(self.stopped_by_).__name__}: {reason}")
