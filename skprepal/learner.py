"""PRepALLearner: the active-learning loop as a scikit-learn classifier."""

from __future__ import annotations

import logging
import time
from numbers import Integral
from typing import Any

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils import assert_all_finite, check_random_state, column_or_1d, get_tags
from sklearn.utils.metaestimators import available_if

from skprepal._compat import HasMethods, Interval, fit_context, validate_data
from skprepal._history import make_record
from skprepal._pool import LabelPool
from skprepal._validation import check_fitted, validate_texts
from skprepal.exceptions import InvalidInputError, NotFittedError
from skprepal.strategies import resolve_strategy

__all__ = ["PRepALLearner"]

logger = logging.getLogger(__name__)


def _head_has(attribute: str):
    def check(learner: PRepALLearner) -> bool:
        head = getattr(learner, "estimator_", None) or learner._base_estimator()
        return hasattr(head, attribute)

    return check


def _is_missing(value: Any, missing: Any) -> bool:
    if missing is None:
        return value is None
    if isinstance(missing, float) and np.isnan(missing):
        return isinstance(value, (float, np.floating)) and bool(np.isnan(value))
    if isinstance(value, (str, bytes)) != isinstance(missing, (str, bytes)):
        return False
    return bool(value == missing)


def _default_head() -> LogisticRegression:
    return LogisticRegression(max_iter=1000)


def _holds_texts(X: Any) -> bool:
    """Whether X looks like texts (checked on its first element, without copying X)."""
    if issparse(X):
        return False
    if hasattr(X, "iloc"):  # pandas
        X = X.iloc[:1].to_numpy()
    if isinstance(X, np.ndarray):
        return X.size > 0 and X.dtype.kind in "OUS" and isinstance(X.flat[0], str)
    if isinstance(X, (list, tuple)) and X:
        first = X[0]
        return isinstance(first, str) or (
            isinstance(first, (list, tuple)) and bool(first) and isinstance(first[0], str)
        )
    return False


class PRepALLearner(ClassifierMixin, BaseEstimator):
    """Active learning as an estimator: a light head on fixed vectors picks what to label.

    ``fit`` runs in one of two modes, chosen by ``y``:

    * **Simulation** — every label is known: ``y`` is the oracle. ``initial_size`` rows are
      labeled by ``initial_strategy``; then rounds of "fit the head, query ``batch_size`` rows,
      reveal their labels" run until ``budget`` labels or ``stopping`` ends them. The head is
      finally fit on everything acquired.
    * **Interactive** — rows whose label equals ``missing_label`` form the pool; the labeled rows
      train the head. Then :meth:`query` proposes rows and :meth:`teach` takes their labels.
      With no label at all (a cold start) :meth:`query` uses ``initial_strategy``.

    Until two classes are labeled, the head is a :class:`~sklearn.dummy.DummyClassifier`
    predicting the one class seen and queries use ``initial_strategy``.

    Parameters
    ----------
    estimator : classifier or None, default=None
        The head: any scikit-learn classifier with ``predict_proba`` (None means
        ``LogisticRegression(max_iter=1000)``), the torch MLP head, or a text classifier such as
        ``TransferFineTuner`` on raw texts (the AL+FT baseline). It is cloned; heads with a
        ``warm_start`` parameter are warm-started between rounds while the classes stay the same.
    query_strategy : str, strategy object or callable, default="margin"
        A registered name or alias (see :func:`skprepal.strategies.available_strategies`), a
        strategy object, a modAL query function used as it is, or any callable
        ``f(estimator, X_pool, n, **context) -> indices``.
    batch_size : int, default=50
        Rows queried per round.
    initial_size : int, default=50
        Rows labeled by ``initial_strategy`` before the first head is fit (simulation).
    budget : int or None, default=None
        Total labels of a simulation, initial ones included. None runs until ``stopping`` stops
        it or the pool is empty.
    initial_strategy : str, strategy object or callable, default="random"
        Picks rows while no head can be fit: the initial sample and cold starts. It is called
        with ``estimator=None``, so it must not need a fitted head ("random", "kmeans",
        "coreset").
    stopping : stopping criterion or None, default=None
        An object with ``should_stop(estimator, X, *, labeled_mask, n_labeled, random_state)``
        (see :mod:`skprepal.stopping`), checked after each head fit of a simulation. It is cloned.
    missing_label : object, default=-1
        The value of ``y`` that marks an unlabeled row. None and NaN work too.
    random_state : int, RandomState or None, default=None
        Seeds the initial sample, random strategies and tie-breaks.

    Attributes
    ----------
    estimator_ : classifier or None
        The head fit on every label so far (None before any label).
    classes_ : ndarray
        Labels the head knows, in ``predict_proba`` column order.
    labeled_indices_ : ndarray of int
        Row numbers of the ``X`` given to ``fit`` that were labeled, in acquisition order.
    history_ : list of dict
        One record per round: ``iteration``, ``n_labeled``, ``n_queried``, ``queried`` (row
        numbers), ``strategy``, ``query_seconds``, ``fit_seconds`` and ``score`` (on
        ``eval_set``, else None). ``pandas.DataFrame(learner.history_)`` makes a table of it.
    stopping_ : stopping criterion or None
        The fitted clone of ``stopping``.
    stop_reason_ : str or None
        Why the simulation ended (budget, empty pool or the stopping criterion's reason).
    n_features_in_ : int
        Number of features of ``X`` (vector heads).

    See Also
    --------
    skprepal.FrozenLLMTransformer : Embeds texts once, for the learner to run on.

    References
    ----------
    .. [1] A. Vysogorets and A. Gopal, "Towards Efficient Active Learning in NLP via Pretrained
       Representations", arXiv:2402.15613, 2024.
    .. [2] B. Settles, "Active Learning Literature Survey", University of Wisconsin-Madison,
       2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from skprepal import PRepALLearner
    >>> X, y = make_blobs(n_samples=600, centers=4, n_features=16, random_state=0)
    >>> learner = PRepALLearner(batch_size=20, initial_size=20, budget=100, random_state=0)
    >>> learner.fit(X, y).labeled_indices_.shape
    (100,)
    >>> len(learner.history_), learner.history_[-1]["n_labeled"]
    (5, 100)
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "query_strategy": [str, callable],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "initial_size": [Interval(Integral, 0, None, closed="left")],
        "budget": [Interval(Integral, 1, None, closed="left"), None],
        "initial_strategy": [str, callable],
        "stopping": [HasMethods(["should_stop"]), None],
        "missing_label": "no_validation",
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        query_strategy: Any = "margin",
        batch_size: int = 50,
        initial_size: int = 50,
        budget: int | None = None,
        initial_strategy: Any = "random",
        stopping: Any = None,
        missing_label: Any = -1,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.query_strategy = query_strategy
        self.batch_size = batch_size
        self.initial_size = initial_size
        self.budget = budget
        self.initial_strategy = initial_strategy
        self.stopping = stopping
        self.missing_label = missing_label
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------

    @fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: Any, y: Any, *, eval_set: tuple[Any, Any] | None = None) -> PRepALLearner:
        """Simulate active learning (``y`` fully labeled) or start an interactive session.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or texts for a text head
            Every row: labeled ones and the pool.
        y : array-like of shape (n_samples,)
            Labels; ``missing_label`` marks the pool. Fully labeled means simulation.
        eval_set : tuple (X_eval, y_eval), optional
            Held-out rows the head is scored on after every round (``history_[i]["score"]``).
            In a Pipeline, ``X_eval`` must already be in the head's input space (embedded).

        Returns
        -------
        self : PRepALLearner
        """
        X = self._check_X(X, reset=True)
        y = self._check_y(y, X.shape[0])
        labeled = np.fromiter((not _is_missing(v, self.missing_label) for v in y), bool, len(y))
        if self.budget is not None and self.budget < self.initial_size:
            raise InvalidInputError(
                f"budget={self.budget} is below initial_size={self.initial_size}; the budget "
                "counts every label, the initial ones included. Raise budget or lower initial_size."
            )
        self._rng = check_random_state(self.random_state)
        # The stopping criterion draws from its own stream, so that adding one does not change
        # which rows the strategies pick.
        self._stopping_rng = np.random.RandomState(self._rng.randint(np.iinfo(np.int32).max))
        self._query_strategy = resolve_strategy(self.query_strategy)
        self._initial_strategy = resolve_strategy(self.initial_strategy)
        self._eval_set = eval_set
        self.stopping_ = None if self.stopping is None else clone(self.stopping)
        self.stop_reason_ = None
        self.history_ = []
        self.estimator_ = None
        self.classes_ = np.array([])
        self._pending_query = None
        if labeled.all():
            self._pool = LabelPool(X, y.copy(), np.zeros(len(y), dtype=bool))
            self.labeled_indices_ = np.empty(0, dtype=np.intp)
            self._simulate(X, y)
        else:
            self._pool = LabelPool(X, y.copy(), labeled)
            self.labeled_indices_ = np.flatnonzero(labeled)
            if labeled.any():
                self._refit(queried=self.labeled_indices_, query_seconds=0.0, strategy=None)
        self._eval_set = None
        return self

    def _simulate(self, X: np.ndarray, oracle: np.ndarray) -> None:
        n = X.shape[0]
        budget = n if self.budget is None else min(int(self.budget), n)
        first = min(int(self.initial_size), budget) or min(int(self.batch_size), budget)
        rows, seconds = self._select(self._initial_strategy, first, head=None)
        self._reveal(rows, oracle[rows])
        self._refit(queried=rows, query_seconds=seconds, strategy=self._initial_strategy.name)
        while True:
            if self._pool.n_pool == 0:
                self.stop_reason_ = "the pool is empty"
                break
            if self._pool.n_labeled >= budget:
                self.stop_reason_ = f"budget of {budget} labels reached"
                break
            if self.stopping_ is not None and self.stopping_.should_stop(
                self.estimator_,
                X,
                labeled_mask=self._pool.labeled_mask(),
                n_labeled=self._pool.n_labeled,
                random_state=self._stopping_rng,
            ):
                self.stop_reason_ = getattr(self.stopping_, "reason_", None) or "stopping criterion"
                break
            size = min(int(self.batch_size), budget - self._pool.n_labeled)
            strategy = self._current_strategy()
            rows, seconds = self._select(strategy, size, head=self._head_for(strategy))
            self._reveal(rows, oracle[rows])
            self._refit(queried=rows, query_seconds=seconds, strategy=strategy.name)
        logger.info("simulation ended with %d labels: %s", self._pool.n_labeled, self.stop_reason_)

    # -- interactive labeling ----------------------------------------------------------------

    def query(self, n: int | None = None) -> np.ndarray:
        """Propose rows to label next.

        Parameters
        ----------
        n : int, optional
            How many; defaults to ``batch_size``. More than the pool returns the whole pool.

        Returns
        -------
        ndarray of int
            Row numbers of the ``X`` given to ``fit``, most informative first where the strategy
            orders them. Empty when the pool is empty.
        """
        check_fitted(self, "history_")
        n = self.batch_size if n is None else n
        if not isinstance(n, Integral) or isinstance(n, bool) or n < 1:
            raise InvalidInputError(f"n={n!r} must be a positive integer (or None for batch_size).")
        strategy = self._current_strategy()
        rows, seconds = self._select(strategy, int(n), head=self._head_for(strategy))
        self._pending_query = (rows, seconds, strategy.name)
        return rows.copy()

    def teach(self, indices: Any, labels: Any) -> PRepALLearner:
        """Give labels to rows and refit the head.

        Parameters
        ----------
        indices : array-like of int
            Row numbers of the ``X`` given to ``fit`` (as :meth:`query` returns them). A row
            that already has a label gets the new one.
        labels : array-like
            One label per index.

        Returns
        -------
        self : PRepALLearner

        Raises
        ------
        InvalidInputError
            If an index is out of range, negative, repeated or not an integer, or the labels do
            not match the indices. Nothing is changed then: every label given before is kept.
        """
        check_fitted(self, "history_")
        rows, values = self._check_teach(indices, labels)
        pending = self._pending_query
        seconds, name = (pending[1], pending[2]) if pending is not None else (0.0, None)
        self._pending_query = None
        new = rows[~self._pool.is_labeled(rows)]
        self._reveal(rows, values)
        self._refit(queried=new, query_seconds=seconds, strategy=name)
        return self

    # -- prediction --------------------------------------------------------------------------

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the current head."""
        return self._fitted_head().predict(self._check_X(X, reset=False))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the current head, columns in ``classes_`` order."""
        return self._fitted_head().predict_proba(self._check_X(X, reset=False))

    @available_if(_head_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision function of the current head."""
        return self._fitted_head().decision_function(self._check_X(X, reset=False))

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        head = get_tags(self._base_estimator())
        tags.input_tags.string = self._takes_texts()
        tags.input_tags.two_d_array = head.input_tags.two_d_array
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags

    def set_params(self, **params: Any) -> PRepALLearner:
        """Set parameters; ``estimator__*`` also reaches the default head.

        With ``estimator=None``, setting e.g. ``estimator__C`` first puts the default
        ``LogisticRegression(max_iter=1000)`` in place, so grid searches over the default head's
        parameters work.
        """
        nested = any(key.startswith("estimator__") for key in params)
        if nested and self.estimator is None and "estimator" not in params:
            self.estimator = _default_head()
        return super().set_params(**params)

    # -- helpers ---------------------------------------------------------------------------

    def _base_estimator(self) -> Any:
        return _default_head() if self.estimator is None else self.estimator

    def _takes_texts(self) -> bool:
        head = self._base_estimator()
        # A Pipeline's tags do not carry its first step's input type: look at that step.
        if isinstance(head, Pipeline):
            head = head.steps[0][1]
        return get_tags(head).input_tags.string

    def _check_X(self, X: Any, *, reset: bool) -> np.ndarray:
        texts_given = _holds_texts(X)
        if texts_given and self._takes_texts():
            return validate_texts(self, X, reset=reset)
        if texts_given:
            raise InvalidInputError(
                f"{type(self._base_estimator()).__name__} needs numeric vectors, but X holds "
                "texts. Embed them first, e.g. Pipeline([('embed', FrozenLLMTransformer()), "
                "('al', PRepALLearner())]), or use a text head."
            )
        return validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])

    def _check_y(self, y: Any, n_samples: int) -> np.ndarray:
        if y is None:
            raise InvalidInputError(
                "PRepALLearner requires y to be passed, but the target y is None: pass the "
                "oracle's labels for a simulation, or labels with "
                f"missing_label={self.missing_label!r} marking the pool for interactive labeling."
            )
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.ndim != 1:
            raise InvalidInputError(f"y should be a 1d array, got shape {y.shape}.")
        if y.dtype.kind in "fc":
            nan_marks_missing = (
                isinstance(self.missing_label, float) and np.isnan(self.missing_label)
            )
            assert_all_finite(y, allow_nan=nan_marks_missing, input_name="y")
        if y.shape[0] != n_samples:
            raise InvalidInputError(f"X has {n_samples} rows but y has {y.shape[0]} labels.")
        # Fixed-width str arrays would silently truncate longer labels given later to teach.
        return y.astype(object) if y.dtype.kind in "US" else y

    def _check_teach(self, indices: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
        rows = np.asarray(indices)
        values = np.asarray(labels, dtype=object)
        if rows.ndim == 0:
            rows, values = rows.reshape(1), values.reshape(1)
        n = self._pool.n_samples
        if rows.ndim != 1 or (rows.size and rows.dtype.kind not in "iu"):
            raise InvalidInputError(
                f"indices must be a 1-D array of integer row numbers, got {rows.dtype} of shape "
                f"{rows.shape}."
            )
        if values.ndim != 1 or values.shape[0] != rows.shape[0]:
            raise InvalidInputError(
                f"got {rows.shape[0]} indices but {values.shape[0] if values.ndim else 1} labels."
            )
        if rows.size and (rows.min() < 0 or rows.max() >= n):
            bad = rows[(rows < 0) | (rows >= n)][0]
            raise InvalidInputError(
                f"index {bad} is out of range: X given to fit has {n} rows (0..{n - 1})."
            )
        if np.unique(rows).size != rows.size:
            raise InvalidInputError("indices repeat a row; give each row one label per teach call.")
        missing = [
            i for i, v in zip(rows, values, strict=True) if _is_missing(v, self.missing_label)
        ]
        if missing:
            raise InvalidInputError(
                f"the label of row {missing[0]} is missing_label={self.missing_label!r}; teach "
                "only real labels."
            )
        try:
            dtype = self._pool.y.dtype
            cast = values if dtype.kind == "O" else np.asarray(list(values), dtype=dtype)
            # A label that changes when stored (1.5 into integer labels) is refused, not rounded.
            if dtype.kind != "O" and not all(
                a == b for a, b in zip(cast.tolist(), values, strict=True)
            ):
                raise ValueError("lossy cast")
        except (ValueError, TypeError):
            raise InvalidInputError(
                f"labels {list(values[:3])!r}... do not fit the labels given to fit (dtype "
                f"{self._pool.y.dtype}); use labels of the same type."
            ) from None
        return rows.astype(np.intp), cast

    def _reveal(self, rows: np.ndarray, labels: np.ndarray) -> None:
        new = rows[~self._pool.is_labeled(rows)]
        self._pool.label(rows, labels)
        if new.size:
            self.labeled_indices_ = np.concatenate([self.labeled_indices_, new]).astype(np.intp)

    def _refit(self, *, queried: np.ndarray, query_seconds: float, strategy: str | None) -> None:
        X_labeled, y_labeled = self._pool.labeled()
        start = time.perf_counter()
        self.estimator_ = self._fit_head(X_labeled, y_labeled)
        fit_seconds = time.perf_counter() - start
        self.classes_ = np.asarray(self.estimator_.classes_)
        score = None
        if self._eval_set is not None:
            X_eval, y_eval = self._eval_set
            score = self.estimator_.score(X_eval, y_eval)
        self.history_.append(
            make_record(
                iteration=len(self.history_),
                n_labeled=self._pool.n_labeled,
                queried=queried,
                query_seconds=query_seconds,
                fit_seconds=fit_seconds,
                score=score,
                strategy=strategy,
            )
        )

    def _fit_head(self, X: np.ndarray, y: np.ndarray) -> Any:
        classes = np.unique(y)
        if classes.size < 2:
            return DummyClassifier(strategy="most_frequent").fit(X, y)
        previous = self.estimator_
        same_classes = (
            previous is not None
            and not isinstance(previous, DummyClassifier)
            and np.array_equal(np.asarray(previous.classes_), classes)
        )
        if same_classes and "warm_start" in previous.get_params():
            head = previous.set_params(warm_start=True)
        else:
            head = clone(self._base_estimator())
        return head.fit(X, y)

    def _head_ready(self) -> bool:
        return self.estimator_ is not None and not isinstance(self.estimator_, DummyClassifier)

    def _current_strategy(self) -> Any:
        return self._query_strategy if self._head_ready() else self._initial_strategy

    def _head_for(self, strategy: Any) -> Any:
        return self.estimator_ if strategy is self._query_strategy else None

    def _select(self, strategy: Any, n: int, *, head: Any) -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        X_labeled, y_labeled = self._pool.labeled()
        positions = strategy(
            head,
            self._pool.pool(),
            n,
            X_labeled=X_labeled,
            y_labeled=y_labeled,
            classes=self.classes_,
            random_state=self._rng,
            pool_indices=self._pool.pool_rows(),
        )
        rows = self._pool.pool_rows()[positions]
        return rows, time.perf_counter() - start

    def _fitted_head(self) -> Any:
        check_fitted(self, "history_")
        if self.estimator_ is None:
            raise NotFittedError(
                "PRepALLearner has no labels yet, so no head to predict with; teach() some first."
            )
        return self.estimator_
