"""Evaluating acquisition orders: learning curves, overlap between strategies, plots and tables.

An active-learning run is summed up by its *order*: the row numbers of the labeled rows, in the
order they were labeled. :func:`simulation_curve` runs a simulation and returns its learning
curve, :func:`learning_curve_from_order` replays an order with any classifier (the head of the
loop, or a fine-tuned model), :func:`acquisition_overlap` compares two orders, and
:func:`plot_learning_curves` and :func:`summarize_curves` show curves over several seeds.
"""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.metrics import get_scorer, get_scorer_names

from skprepal.exceptions import InvalidInputError
from skprepal.learner import PRepALLearner

__all__ = [
    "SimulationCurve",
    "simulation_curve",
    "learning_curve_from_order",
    "acquisition_overlap",
    "plot_learning_curves",
    "summarize_curves",
    "format_mean_std",
]

logger = logging.getLogger(__name__)


def _check_order(order: Any, n_samples: int | None, name: str = "order") -> np.ndarray:
    arr = np.asarray(order)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise InvalidInputError(
            f"{name} must be a 1-D array of integer row numbers, got dtype {arr.dtype} and shape "
            f"{arr.shape}."
        )
    arr = arr.astype(np.intp, copy=False)
    if n_samples is not None and arr.size and (arr.min() < 0 or arr.max() >= n_samples):
        raise InvalidInputError(
            f"{name} holds row numbers from {arr.min()} to {arr.max()}, but X has {n_samples} rows."
        )
    if np.unique(arr).size != arr.size:
        raise InvalidInputError(
            f"{name} lists the same row more than once; an acquisition order labels each row once."
        )
    return arr


def _check_budgets(budgets: Any, max_budget: int, what: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(budgets))
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu":
        raise InvalidInputError(
            f"budgets must be a non-empty 1-D array of ints (numbers of labels), got {budgets!r}."
        )
    arr = arr.astype(np.intp, copy=False)
    if arr.min() < 1:
        raise InvalidInputError(f"budgets must be >= 1, got {arr.min()}.")
    if arr.max() > max_budget:
        raise InvalidInputError(
            f"budget {arr.max()} is larger than {what} ({max_budget}); use budgets up to "
            f"{max_budget} or run the active-learning loop further."
        )
    return arr


def _as_indexable(X: Any) -> Any:
    """Arrays, sparse matrices and pandas objects as they are; lists as numpy arrays."""
    if isinstance(X, np.ndarray) or hasattr(X, "tocsr") or hasattr(X, "iloc"):
        return X
    arr = np.asarray(X) if len(X) else np.empty(0)
    if arr.dtype.kind not in "fiubc":
        arr = np.empty(len(X), dtype=object)  # texts: keep Python str, no '<U' copy
        arr[:] = list(X)
    return arr


def _rows(X: Any, rows: np.ndarray) -> Any:
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def _check_scoring(scoring: Any) -> None:
    """Fail before any fit on a scorer name scikit-learn does not know, with a "did you mean"."""
    if scoring is None or callable(scoring):
        return
    try:
        get_scorer(scoring)
    except (ValueError, TypeError):
        close = difflib.get_close_matches(str(scoring), get_scorer_names(), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InvalidInputError(
            f"scoring={scoring!r} is not a scikit-learn scorer: pass a name from "
            f"sklearn.metrics.get_scorer_names(), a callable scorer(estimator, X, y), or None "
            f"for accuracy.{hint}"
        ) from None


def _fit_and_score(
    estimator: Any, X_train: Any, y_train: np.ndarray, X_test: Any, y_test: Any, scoring: Any
) -> tuple[float, float, bool]:
    fallback = np.unique(y_train).size < 2
    model = DummyClassifier(strategy="most_frequent") if fallback else clone(estimator)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    if scoring is None:
        score = model.score(X_test, y_test)
    else:
        score = get_scorer(scoring)(model, X_test, y_test)
    return float(score), seconds, fallback


def learning_curve_from_order(
    estimator: Any,
    X: Any,
    y: Any,
    order: Any,
    budgets: Any,
    X_test: Any,
    y_test: Any,
    *,
    scoring: Any = None,
    n_jobs: int | None = None,
) -> dict[str, np.ndarray]:
    """Score a classifier trained on the first ``k`` rows of an acquisition order, for each ``k``.

    For each budget ``k``, a clone of ``estimator`` is fitted on ``X[order[:k]], y[order[:k]]``
    and scored on ``(X_test, y_test)``. When those ``k`` labels hold a single class (common for
    small budgets), no classifier can be fitted; the score is then that of always predicting the
    class seen, from a ``DummyClassifier(strategy="most_frequent")``, and ``majority_fallback``
    says so. Its ``fit_seconds`` is the dummy's. Scorers that need a probability for every class
    (``"roc_auc"``, ``"neg_log_loss"``) are undefined for such a guess and raise.

    Parameters
    ----------
    estimator : classifier
        Unfitted estimator, cloned for every budget (it may be a Pipeline that embeds texts).
    X : ndarray, sparse matrix, DataFrame, or list of texts
        Every row the order refers to.
    y : array-like of shape (n_samples,)
        Labels of the rows of ``X``.
    order : array-like of int
        Row numbers of ``X`` in the order they were labeled (e.g. the learner's query order).
    budgets : array-like of int
        Numbers of labels to score at, each in ``[1, len(order)]``.
    X_test, y_test : array-like
        Held-out rows and labels.
    scoring : str, callable or None, default=None
        A scikit-learn scorer name or callable (``sklearn.metrics.get_scorer``); None uses
        ``estimator.score`` (accuracy for classifiers).
    n_jobs : int or None, default=None
        Budgets fitted in parallel with ``joblib``; None is 1, -1 uses every core.

    Returns
    -------
    dict
        ``"budget"`` (ndarray of int), ``"score"`` and ``"fit_seconds"`` (ndarray of float) and
        ``"majority_fallback"`` (ndarray of bool), one entry per budget, in the order given.

    Raises
    ------
    InvalidInputError
        If ``order`` repeats or exceeds rows of ``X``, a budget is < 1 or > ``len(order)``, or
        ``scoring`` names no scikit-learn scorer.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [0.1], [0.9], [0.2], [0.8]])
    >>> y = np.array([0, 1, 0, 1, 0, 1])
    >>> curve = learning_curve_from_order(LogisticRegression(), X, y, [0, 2, 1, 3], [1, 2, 4],
    ...                                   X, y)
    >>> curve["budget"], curve["score"], curve["majority_fallback"]
    (array([1, 2, 4]), array([0.5, 0.5, 1. ]), array([ True,  True, False]))
    """
    X = _as_indexable(X)
    n_samples = X.shape[0]
    y = np.asarray(y)
    if y.shape[0] != n_samples:
        raise InvalidInputError(f"X has {n_samples} rows but y has {y.shape[0]} labels.")
    order = _check_order(order, n_samples)
    budgets = _check_budgets(budgets, order.size, "the order's length")
    _check_scoring(scoring)
    jobs = (
        delayed(_fit_and_score)(
            estimator, _rows(X, order[:k]), y[order[:k]], X_test, y_test, scoring
        )
        for k in budgets
    )
    results = Parallel(n_jobs=n_jobs)(jobs)
    scores, seconds, fallback = (np.array(col) for col in zip(*results, strict=True))
    for k in budgets[fallback]:
        logger.info("budget %d: the first %d labels hold one class; scored a majority guess", k, k)
    return {
        "budget": budgets,
        "score": scores.astype(np.float64),
        "fit_seconds": seconds.astype(np.float64),
        "majority_fallback": fallback.astype(bool),
    }


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
    _check_scoring(scoring)
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


def acquisition_overlap(order_a: Any, order_b: Any, budgets: Any) -> np.ndarray:
    """Jaccard similarity of the first ``k`` rows acquired by two orders, for each ``k``.

    Parameters
    ----------
    order_a, order_b : array-like of int
        Two acquisition orders (row numbers of the same data).
    budgets : array-like of int
        Values of ``k``, each in ``[1, min(len(order_a), len(order_b))]``.

    Returns
    -------
    ndarray of float, shape (n_budgets,)
        ``|A_k ∩ B_k| / |A_k ∪ B_k|``: 1 for the same rows, 0 for disjoint ones.

    Examples
    --------
    >>> acquisition_overlap([0, 1, 2, 3], [1, 0, 4, 5], [1, 2, 4])
    array([0.        , 1.        , 0.33333333])
    """
    a = _check_order(order_a, None, "order_a")
    b = _check_order(order_b, None, "order_b")
    budgets = _check_budgets(budgets, min(a.size, b.size), "the shorter order's length")
    out = np.empty(budgets.size, dtype=np.float64)
    for i, k in enumerate(budgets):
        inter = np.intersect1d(a[:k], b[:k], assume_unique=True).size
        out[i] = inter / (2 * k - inter)
    return out


def _check_curves(
    curves: Mapping[str, Any], budgets: Any
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    if not isinstance(curves, Mapping) or not curves:
        raise InvalidInputError(
            "curves must be a non-empty dict mapping a name to scores of shape "
            "(n_seeds, n_budgets), e.g. {'margin': scores}."
        )
    out = {}
    for name, values in curves.items():
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
            raise InvalidInputError(
                f"curves[{name!r}] has shape {np.shape(values)}; expected (n_seeds, n_budgets), "
                "or (n_budgets,) for one seed."
            )
        out[str(name)] = arr
    widths = {arr.shape[1] for arr in out.values()}
    if len(widths) != 1:
        raise InvalidInputError(
            f"the curves have different numbers of budgets {sorted(widths)}; score every "
            "strategy at the same budgets."
        )
    if budgets is not None:
        budgets = np.asarray(budgets)
        if budgets.shape != (widths.pop(),):
            raise InvalidInputError(
                f"budgets has shape {budgets.shape} but the curves have "
                f"{next(iter(out.values())).shape[1]} budgets each; pass one budget per column."
            )
    return out, budgets


def summarize_curves(curves: Mapping[str, Any], budgets: Any) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds, one row per name and budget.

    Parameters
    ----------
    curves : dict of str to array-like
        Scores of shape (n_seeds, n_budgets), or (n_budgets,) for one seed, per name.
    budgets : array-like of shape (n_budgets,)
        The budget of each column.

    Returns
    -------
    list of dict
        Rows ``{"name", "budget", "mean", "std", "n_seeds"}``, by name then budget;
        ``std`` is numpy's (``ddof=0``), so 0.0 for a single seed. ``pandas.DataFrame(rows)``
        makes a table.

    Examples
    --------
    >>> rows = summarize_curves({"random": [[0.5, 0.75], [0.75, 1.0]]}, budgets=[10, 20])
    >>> rows[0]
    {'name': 'random', 'budget': 10, 'mean': 0.625, 'std': 0.125, 'n_seeds': 2}
    >>> format_mean_std(rows[1]["mean"], rows[1]["std"])
    '0.875 ± 0.125'
    """
    checked, budgets = _check_curves(curves, budgets)
    if budgets is None:
        raise InvalidInputError("summarize_curves needs budgets, one per column of the curves.")
    rows = []
    for name, arr in checked.items():
        means, stds = arr.mean(axis=0), arr.std(axis=0)
        for j, budget in enumerate(budgets.tolist()):
            rows.append(
                {
                    "name": name,
                    "budget": budget,
                    "mean": float(means[j]),
                    "std": float(stds[j]),
                    "n_seeds": int(arr.shape[0]),
                }
            )
    return rows


def format_mean_std(mean: float, std: float, digits: int = 3) -> str:
    """``"mean ± std"`` with ``digits`` decimals, for tables.

    Examples
    --------
    >>> format_mean_std(0.81234, 0.0123)
    '0.812 ± 0.012'
    """
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def plot_learning_curves(
    curves: Mapping[str, Any],
    budgets: Sequence[float] | np.ndarray | None = None,
    *,
    ax: Any = None,
    title: str | None = None,
    ylabel: str = "accuracy",
) -> Any:
    """Plot the mean learning curve of each strategy with a band of ±1 standard deviation.

    Parameters
    ----------
    curves : dict of str to array-like
        Scores of shape (n_seeds, n_budgets), or (n_budgets,) for one seed, per name.
    budgets : array-like of shape (n_budgets,), default=None
        The x values (numbers of labels); None plots against the round number 0, 1, ....
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.
    title : str, default=None
        Title of the axes.
    ylabel : str, default="accuracy"
        Label of the y axis.

    Returns
    -------
    matplotlib.axes.Axes
        One line and one band (numpy's std over seeds, ``ddof=0``) per name, a legend, a grid.

    Raises
    ------
    ImportError
        If matplotlib is not installed.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_learning_curves({"margin": [[0.6, 0.8], [0.7, 0.9]]}, budgets=[50, 100])
    >>> len(ax.lines), ax.get_xlabel()
    (1, 'number of labels')
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "plot_learning_curves needs matplotlib: pip install matplotlib "
            "(or pip install 'skprepal[demo]')."
        ) from exc
    checked, budgets = _check_curves(curves, budgets)
    n_budgets = next(iter(checked.values())).shape[1]
    x = np.arange(n_budgets) if budgets is None else budgets
    if ax is None:
        _, ax = plt.subplots()
    for name, arr in checked.items():
        mean, std = arr.mean(axis=0), arr.std(axis=0)
        (line,) = ax.plot(x, mean, marker="o", markersize=3, label=f"{name} (n={arr.shape[0]})")
        ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("round" if budgets is None else "number of labels")
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return ax
