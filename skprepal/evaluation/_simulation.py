"""The learning curve of a simulated active-learning run, read from a fitted learner's history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone

from skprepal.evaluation._orders import check_scoring, learning_curve_from_order
from skprepal.exceptions import InvalidInputError
from skprepal.learner import PRepALLearner

__all__ = ["SimulationCurve", "simulation_curve"]


@dataclass
class SimulationCurve:
    """The learning curve of one simulated active-learning run, from :func:`simulation_curve`.

    One entry per round of the loop in every per-round array: round 0 is the initial sample.

    Attributes
    ----------
    n_labeled : ndarray of int, shape (n_rounds,)
        Labels the head of each round was fit on.
    scores : ndarray of float, shape (n_rounds,)
        Score on the eval set after each round (see ``scoring``).
    fit_seconds : ndarray of float, shape (n_rounds,)
        Time the loop spent fitting each round's head.
    query_seconds : ndarray of float, shape (n_rounds,)
        Time the loop spent choosing each round's rows.
    labeled_indices : ndarray of int, shape (n_labeled[-1],)
        Row numbers of ``X`` in the order they were labeled: ``labeled_indices[:k]`` is the
        training set of the round with ``k`` labels.
    learner : PRepALLearner
        The fitted clone of the learner given; its ``history_`` is where the arrays come from.
    scoring : str, callable or None
        The scoring the ``scores`` are in; None is the head's accuracy.
    """

    n_labeled: np.ndarray
    scores: np.ndarray
    fit_seconds: np.ndarray
    query_seconds: np.ndarray
    labeled_indices: np.ndarray = field(repr=False)
    learner: PRepALLearner = field(repr=False)
    scoring: str | Callable[..., float] | None = None

    @property
    def total_fit_seconds(self) -> float:
        """Seconds of head fits over every round."""
        return float(self.fit_seconds.sum())

    @property
    def total_query_seconds(self) -> float:
        """Seconds of queries over every round."""
        return float(self.query_seconds.sum())


def _shape(X: Any) -> tuple[int, ...]:
    """Rows and row shape of an array, sparse matrix, DataFrame or list, without copying a list."""
    shape = getattr(X, "shape", None)
    if shape is not None:
        return tuple(shape)
    # A list of texts, of text pairs or of numeric rows: its first row tells the row shape.
    first = X[0] if len(X) else None
    row = () if first is None or isinstance(first, str) else np.shape(first)
    return (len(X), *row)


def _describe_row(row_shape: tuple[int, ...]) -> str:
    if not row_shape:
        return "one value or text per row"
    if len(row_shape) == 1:
        return f"{row_shape[0]} columns"
    return f"rows of shape {row_shape}"


def _check_simulation_input(X: Any, y: Any, X_eval: Any, y_eval: Any) -> None:
    given = {"X": X, "y": y, "X_eval": X_eval, "y_eval": y_eval}
    for name, value in given.items():
        if value is None:
            raise InvalidInputError(
                f"{name} is None: simulation_curve needs the pool (X, y) with every label, and "
                "an eval set (X_eval, y_eval) to score each round on."
            )
    shape, eval_shape = _shape(X), _shape(X_eval)
    n_y, n_y_eval = len(y), len(y_eval)
    if shape[0] != n_y:
        raise InvalidInputError(f"X has {shape[0]} rows but y has {n_y} labels.")
    if eval_shape[0] != n_y_eval:
        raise InvalidInputError(
            f"X_eval has {eval_shape[0]} rows but y_eval has {n_y_eval} labels; pass one label "
            "per row of the eval set."
        )
    if n_y_eval == 0:
        raise InvalidInputError("the eval set is empty: pass at least one row to score on.")
    if shape[1:] != eval_shape[1:]:
        raise InvalidInputError(
            f"X_eval has {_describe_row(eval_shape[1:])} but X has {_describe_row(shape[1:])}: "
            "the eval set must be in the same space as X (embedded by the same model, with the "
            "same pair encoding)."
        )


def simulation_curve(
    learner: PRepALLearner,
    X: Any,
    y: Any,
    X_eval: Any,
    y_eval: Any,
    *,
    scoring: str | Callable[..., float] | None = None,
) -> SimulationCurve:
    """Simulate active learning with a clone of ``learner`` and return its learning curve.

    A clone of ``learner`` is fitted on ``(X, y)`` as a simulation, ``y`` being the oracle, with
    ``eval_set=(X_eval, y_eval)``; the curve is read from its ``history_``. ``learner`` itself
    is left as it was (unfitted, if it was).

    With ``scoring=None`` the scores are those the loop recorded: each round's head scored with
    its ``score`` method (accuracy), at no extra cost. The loop records nothing else, so any
    other ``scoring`` replays the acquisition order with :func:`learning_curve_from_order`: for
    each round, a fresh clone of the head is fitted on the labels acquired up to that round and
    scored. That costs one more head fit per round, and where the loop warm-starts its head
    (``LogisticRegression``) or the head is random, the replayed head can differ from the loop's
    within the solver's tolerance, so ``scoring="accuracy"`` need not equal ``scoring=None`` to
    the last digit. ``fit_seconds`` is always the loop's.

    Parameters
    ----------
    learner : PRepALLearner
        The settings of the loop (strategy, sizes, budget, head, seed); it is cloned, not fitted.
    X : array-like of shape (n_samples, n_features), or texts for a text head
        The pool: every row the loop may label.
    y : array-like of shape (n_samples,)
        Every label of the pool (the oracle); none may be ``learner.missing_label``.
    X_eval : array-like of shape (n_eval, n_features), or texts for a text head
        Held-out rows, in the same space as ``X`` (embedded the same way).
    y_eval : array-like of shape (n_eval,)
        Their labels.
    scoring : str, callable or None, default=None
        A scikit-learn scorer name or callable (``sklearn.metrics.get_scorer``); None is the
        accuracy the loop records.

    Returns
    -------
    SimulationCurve
        Per-round ``n_labeled``, ``scores``, ``fit_seconds`` and ``query_seconds``, the
        acquisition order ``labeled_indices`` and the fitted ``learner``.

    Raises
    ------
    InvalidInputError
        If ``learner`` is not a :class:`~skprepal.PRepALLearner`, ``scoring`` names no scorer,
        ``X`` and ``y`` or ``X_eval`` and ``y_eval`` differ in length, the eval set is empty or
        its rows are not shaped like those of ``X``, or ``y`` has missing labels.

    See Also
    --------
    learning_curve_from_order : Scores any classifier on prefixes of an acquisition order.
    plot_learning_curves : Plots the scores of several seeds and strategies.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skprepal import PRepALLearner
    >>> from skprepal.evaluation import simulation_curve
    >>> X, y = make_blobs(n_samples=400, centers=3, n_features=8, random_state=0)
    >>> learner = PRepALLearner(initial_size=10, batch_size=10, budget=40, random_state=0)
    >>> curve = simulation_curve(learner, X[:300], y[:300], X[300:], y[300:])
    >>> curve.n_labeled, curve.scores
    (array([10, 20, 30, 40]), array([1., 1., 1., 1.]))
    >>> curve.labeled_indices.shape, hasattr(learner, "history_")
    ((40,), False)
    >>> simulation_curve(learner, X[:300], y[:300], X[300:], y[300:], scoring="f1_macro").scores
    array([1., 1., 1., 1.])
    """
    if not isinstance(learner, PRepALLearner):
        raise InvalidInputError(
            f"learner must be a PRepALLearner, got {type(learner).__name__}. To simulate with a "
            "Pipeline, embed X and X_eval first and pass the Pipeline's PRepALLearner step."
        )
    check_scoring(scoring)
    _check_simulation_input(X, y, X_eval, y_eval)
    fitted = clone(learner).fit(X, y, eval_set=(X_eval, y_eval))
    # An interactive fit (some labels missing) ends with no stop reason: there was no loop.
    if fitted.stop_reason_ is None:
        raise InvalidInputError(
            f"y holds labels equal to missing_label={learner.missing_label!r}, so fit started an "
            "interactive session instead of a simulation; simulation_curve needs every label of "
            "the pool (y is the oracle)."
        )
    history = fitted.history_
    n_labeled = np.array([r["n_labeled"] for r in history], dtype=np.intp)
    order = np.array(fitted.labeled_indices_, dtype=np.intp)
    if scoring is None:
        scores = np.array([r["score"] for r in history], dtype=np.float64)
    else:
        # The loop's heads are gone (each round refits, or warm-starts, the same object), so
        # score fresh clones of the head fitted on the same labels, round by round. With the
        # default head (estimator=None), the loop's last head says which one that is.
        head = fitted.estimator if fitted.estimator is not None else fitted.estimator_
        replay = learning_curve_from_order(
            head, X, y, order, n_labeled, X_eval, y_eval, scoring=scoring
        )
        scores = replay["score"]
    return SimulationCurve(
        n_labeled=n_labeled,
        scores=scores,
        fit_seconds=np.array([r["fit_seconds"] for r in history], dtype=np.float64),
        query_seconds=np.array([r["query_seconds"] for r in history], dtype=np.float64),
        labeled_indices=order,
        learner=fitted,
        scoring=scoring,
    )
