"""PRepALLearner: the active-learning loop as a scikit-learn classifier."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
import warnings
from numbers import Integral
from typing import Any

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.metaestimators import available_if

from skprepal._compat import HasMethods, Interval, fit_context, one_blas_thread, validate_data
from skprepal._history import make_record
from skprepal._labels import (
    check_classes,
    check_label_vector,
    check_labels_for,
    check_rows,
    label_storage,
    missing_mask,
)
from skprepal._pool import LabelState, memmap_reference, open_memmap_reference
from skprepal._validation import check_fitted, check_params, validate_texts
from skprepal.exceptions import InvalidInputError, NotFittedError
from skprepal.strategies import resolve_strategy
from skprepal.strategies._base import check_selected_rows
from skprepal.strategies._pool_scoring import pool_scoring

__all__ = ["PRepALLearner"]

logger = logging.getLogger(__name__)

# scikit-learn warns on every fit when a round holds more classes than half its labels (77
# intents, 50 initial labels): expected in active learning, and said once in the log instead.
_MANY_CLASSES_WARNING = "The number of unique classes is greater than 50%"
# Heads fit on up to this many labels run BLAS on one thread (see _compat.one_blas_thread).
_SMALL_FIT_ROWS = 20_000


def _head_has(attribute: str):
    def check(learner: PRepALLearner) -> bool:
        head = getattr(learner, "estimator_", None) or learner._base_estimator()
        return hasattr(head, attribute)

    return check


def _default_head() -> LogisticRegression:
    # L-BFGS to a gradient tolerance of 1e-3: on 384-d embeddings the test accuracy is that of
    # the default 1e-4 (within seed noise), in 30-40% less time per fit; warm-started between
    # the rounds of a simulation it needs a few iterations per round (benchmarks/loop.py).
    return LogisticRegression(tol=1e-3, max_iter=1000)


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
      train the head. Then :meth:`query` proposes rows, :meth:`teach` takes their labels,
      :meth:`skip` sets rows aside and :meth:`forget` takes an answer back. With no label at all
      (a cold start) :meth:`query` uses ``initial_strategy``.

    Until two classes are labeled, the head is a :class:`~sklearn.dummy.DummyClassifier`
    predicting the one class seen and queries use ``initial_strategy``. What counts is the labels
    held now: after ``forget(refit=False)`` leaves fewer than two classes, queries go back to
    ``initial_strategy`` before any refit; after ``teach(refit=False)`` brings the second class
    to a one-class head, they stay with it until the head is refit.

    The learner keeps the ``X`` given to ``fit`` as it is, never a copy: its own state is a label
    per row, the acquisition order and the skipped rows. Score-based strategies read the pool in
    chunks, so a read-only ``np.memmap`` of millions of rows works in bounded memory. In an
    interactive session the head is fit from scratch on the labeled rows, and every query draws
    its randomness from the seed and the set of labeled and skipped rows: the next query is a
    function of the labels, the skips, the settings and the seed, never of how many queries came
    before, so a session rebuilt from its answers asks what the interrupted one would have asked.

    Parameters
    ----------
    estimator : classifier or None, default=None
        The head: any scikit-learn classifier with ``predict_proba`` (None means
        ``LogisticRegression(tol=1e-3, max_iter=1000)``), the torch MLP head, or a text
        classifier such as ``TransferFineTuner`` on raw texts (the AL+FT baseline). It is
        cloned. Within a simulation a head with a ``warm_start`` parameter starts each round
        from the previous round's fit (while the classes stay the same); in an interactive
        session every refit starts from scratch, so the head is a function of the labels.
    query_strategy : str, strategy object or callable, default="class_balanced_margin"
        A registered name or alias (see :func:`skprepal.strategies.available_strategies`), a
        strategy object, a modAL query function used as it is, or any callable
        ``f(estimator, X_pool, n, **context) -> indices``. Strategy objects are cloned, never
        changed. Strategies that are not score-based (and plain callables) receive the pool as
        one array, a copy of its rows. The default,
        :class:`~skprepal.strategies.ClassBalancedMargin` (margin sampling with the batch shared
        out over the predicted classes), is what a rule registered before the results chose
        from eight candidates on five real data sets at 100 to 2,000 labels: the best mean rank,
        and never behind random by more than seed noise (``benchmarks/README.md``,
        "default_research.py"). ``"margin"``, the default before, is the same score without
        the sharing out.
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
    classes : array-like or None, default=None
        The label set. None takes every label of ``y`` in a simulation and the labels seen so far
        in an interactive session. Declared classes must include every label given, and fix
        ``classes_`` and the columns of :meth:`predict_proba` from the start.
    random_state : int, RandomState or None, default=None
        Seeds the initial sample, random strategies and tie-breaks.
    n_jobs : int or None, default=None
        Threads that score the pool's chunks at once in a query (None: 1; -1: every CPU), for
        strategies whose chunk scores are independent (margin, entropy, least confidence). The
        picks are the same for every value; a labeling server, where a person waits for the
        next item, gains most from it.

    Attributes
    ----------
    estimator_ : classifier or None
        The head fit on the labels as of the last refit (None before any label).
    classes_ : ndarray
        The label space, sorted: the columns of :meth:`predict_proba`, always, with zero
        probability for a class the head has no label of yet.
    labeled_indices_ : ndarray of int
        Row numbers of the ``X`` given to ``fit`` that hold a label, in acquisition order.
    y_labeled_ : ndarray
        The label of each row of ``labeled_indices_``, in the same order.
    skipped_indices_ : ndarray of int
        Row numbers set aside by :meth:`skip`, in row order.
    history_ : list of dict
        One record per head fit: ``iteration``, ``n_labeled``, ``n_queried``, ``queried`` (rows
        newly labeled since the previous record), ``forgotten`` and ``skipped`` (rows taken back
        or skipped since then), ``strategy``, ``query_seconds``, ``fit_seconds`` and ``score``
        (on ``eval_set``, else None). ``pandas.DataFrame(learner.history_)`` makes a table.
    stopping_ : stopping criterion or None
        The fitted clone of ``stopping``.
    stop_reason_ : str or None
        Why the simulation ended (budget, empty pool or the stopping criterion's reason); None
        for an interactive session.
    n_features_in_ : int
        Number of features of ``X`` (vector heads).

    See Also
    --------
    skprepal.FrozenLLMTransformer : Embeds texts once, for the learner to run on.

    Notes
    -----
    **What a pickle holds.** The head, the label state and ``history_``, and the rows of ``X``
    when they are held in memory. The rows of a memory-mapped ``X`` are not pickled: only the
    file's name, offset, dtype and shape, and the unpickled learner maps the file again when it
    next needs the pool. :meth:`attach_pool` hands it the rows explicitly (a moved file, an
    in-memory copy); :meth:`drop_pool` keeps only what :meth:`predict` needs.

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

    Interactive labeling, with a declared label set:

    >>> y_pool = np.full(600, -1)
    >>> learner = PRepALLearner(classes=[0, 1, 2, 3], random_state=0).fit(X, y_pool)
    >>> rows = learner.query(4)
    >>> learner.teach(rows[:3], y[rows[:3]]).skip(rows[3:]).predict_proba(X[:1]).shape
    (1, 4)
    >>> learner.forget(rows[:1]).labeled_indices_.tolist() == rows[1:3].tolist()
    True
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
        "classes": ["array-like", None],
        "random_state": ["random_state"],
        "n_jobs": [
            Interval(Integral, None, -1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
    }

    def __init__(
        self,
        estimator: Any = None,
        *,
        query_strategy: Any = "class_balanced_margin",
        batch_size: int = 50,
        initial_size: int = 50,
        budget: int | None = None,
        initial_strategy: Any = "random",
        stopping: Any = None,
        missing_label: Any = -1,
        classes: Any = None,
        random_state: Any = None,
        n_jobs: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.query_strategy = query_strategy
        self.batch_size = batch_size
        self.initial_size = initial_size
        self.budget = budget
        self.initial_strategy = initial_strategy
        self.stopping = stopping
        self.missing_label = missing_label
        self.classes = classes
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- fitting ---------------------------------------------------------------------------

    @fit_context(prefer_skip_nested_validation=False)
    def fit(self, X: Any, y: Any, *, eval_set: tuple[Any, Any] | None = None) -> PRepALLearner:
        """Simulate active learning (``y`` fully labeled) or start an interactive session.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or texts for a text head
            Every row: labeled ones and the pool. Kept as it is (an ndarray or a read-only
            ``np.memmap`` is not copied).
        y : array-like of shape (n_samples,)
            Labels; ``missing_label`` marks the pool. Fully labeled means simulation.
        eval_set : tuple (X_eval, y_eval), optional
            Held-out rows the head is scored on after every round (``history_[i]["score"]``).
            In a Pipeline, ``X_eval`` must already be in the head's input space (embedded).

        Returns
        -------
        self : PRepALLearner
        """
        rows = self._check_X(X, reset=True)
        y = check_label_vector(y, rows.shape[0], self.missing_label)
        labeled = ~missing_mask(y, self.missing_label)
        if self.budget is not None and self.budget < self.initial_size:
            raise InvalidInputError(
                f"budget={self.budget} is below initial_size={self.initial_size}; the budget "
                "counts every label, the initial ones included. Raise budget or lower initial_size."
            )
        simulation = bool(labeled.all())
        declared = None if self.classes is None else check_classes(self.classes, y[labeled])
        self._declared = declared
        self._query_strategy = self._strategy_from(self.query_strategy)
        self._initial_strategy = self._strategy_from(self.initial_strategy)
        self.stopping_ = None if self.stopping is None else clone(self.stopping)
        if self.stopping_ is not None and callable(getattr(self.stopping_, "validate", None)):
            self.stopping_.validate()
        self._seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        # The stopping criterion draws from its own stream, so that adding one does not change
        # which rows the strategies pick.
        self._stopping_rng = np.random.RandomState([self._seed, 1])
        self._X = rows
        self._pool_reference = memmap_reference(rows)
        storage = label_storage(y, declared)
        if declared is None and not labeled.any():
            # Nothing says what the labels will be: hold any type teach() brings.
            storage = storage.astype(object)
        self._state = LabelState(storage, labeled & (not simulation))
        self._eval_set = eval_set
        self._since_refit: dict[str, list[np.ndarray]] = {"forgotten": [], "skipped": []}
        self._pending_query: tuple[float, str] | None = None
        self._recorded_order = np.empty(0, dtype=np.intp)
        self._many_classes_logged = False
        self.stop_reason_ = None
        self.history_ = []
        self.estimator_ = None
        if declared is not None:
            self.classes_ = declared
        else:
            self.classes_ = self._distinct_labels(y if simulation else y[labeled])
        self._sync_attributes()
        if simulation:
            logger.info(
                "fit: simulation, y is the oracle (no row holds missing_label=%r)",
                self.missing_label,
            )
        else:
            logger.info(
                "fit: interactive session, %d labeled rows and %d in the pool "
                "(missing_label=%r)", int(labeled.sum()), int((~labeled).sum()),
                self.missing_label,
            )
        self._warm = False
        try:
            if simulation:
                self._simulate(y)
            elif labeled.any():
                self._refit(queried=self.labeled_indices_, query_seconds=0.0, strategy=None)
        finally:
            self._eval_set = None
            self._warm = False
        return self

    def _simulate(self, oracle: np.ndarray) -> None:
        n = self._state.n_samples
        budget = n if self.budget is None else min(int(self.budget), n)
        first = min(int(self.initial_size), budget) or min(int(self.batch_size), budget)
        rows, seconds = self._select(self._initial_strategy, first, head=None)
        self._reveal(rows, oracle[rows])
        self._refit(queried=rows, query_seconds=seconds, strategy=self._initial_strategy.name)
        # Within one simulation the next fit starts from the last: a simulation is replayed from
        # its seed, never resumed from its labels, so it may trade that purity for speed.
        self._warm = True
        while True:
            if self._state.n_pool == 0:
                self.stop_reason_ = "the pool is empty"
                break
            if self._state.n_labeled >= budget:
                self.stop_reason_ = f"budget of {budget} labels reached"
                break
            if self.stopping_ is not None and self.stopping_.should_stop(
                self.estimator_,
                self._X,
                labeled_mask=self._state.labeled,
                n_labeled=self._state.n_labeled,
                random_state=self._stopping_rng,
            ):
                self.stop_reason_ = getattr(self.stopping_, "reason_", None) or "stopping criterion"
                break
            size = min(int(self.batch_size), budget - self._state.n_labeled)
            strategy = self._current_strategy()
            rows, seconds = self._select(strategy, size, head=self._head_for(strategy))
            self._reveal(rows, oracle[rows])
            self._refit(queried=rows, query_seconds=seconds, strategy=strategy.name)
        logger.info("simulation ended with %d labels: %s", self._state.n_labeled, self.stop_reason_)

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
            Row numbers of the ``X`` given to ``fit``, never labeled or skipped ones, most
            informative first where the strategy orders them. Empty when the pool is empty.
            The same state (labels, skips, settings, seed) always gives the same rows.
        """
        self._check_session()
        n = self.batch_size if n is None else n
        if not isinstance(n, Integral) or isinstance(n, bool) or n < 1:
            raise InvalidInputError(f"n={n!r} must be a positive integer (or None for batch_size).")
        strategy = self._current_strategy()
        rows, seconds = self._select(strategy, int(n), head=self._head_for(strategy))
        self._pending_query = (seconds, strategy.name)
        return rows.copy()

    def teach(self, indices: Any, labels: Any, *, refit: bool = True) -> PRepALLearner:
        """Give labels to rows, and refit the head.

        Parameters
        ----------
        indices : array-like of int
            Row numbers of the ``X`` given to ``fit`` (as :meth:`query` returns them). A row
            that already has a label gets the new one; a skipped row is skipped no more.
        labels : array-like
            One label per index (among ``classes`` if they were declared).
        refit : bool, default=True
            False records the labels without refitting: many answers then share one
            :meth:`refit` (queries until then use the head as it was).

        Returns
        -------
        self : PRepALLearner

        Raises
        ------
        InvalidInputError
            If an index is out of range, negative, repeated or not an integer, or the labels do
            not match the indices or the declared classes. Nothing is changed then.
        """
        self._check_session()
        _check_flag("refit", refit)
        rows = check_rows(indices, self._state.n_samples)
        values = check_labels_for(
            rows,
            labels,
            storage=self._state.labels,
            missing=self.missing_label,
            classes=self._declared,
        )
        if self._declared is None:
            # Checked before anything is stored: a rejected call changes nothing.
            self._distinct_labels(
                np.concatenate([np.asarray(self.classes_, dtype=object), values.astype(object)])
            )
        self._reveal(rows, values)
        if refit:
            self.refit()
        return self

    def skip(self, indices: Any) -> PRepALLearner:
        """Set rows aside: they get no label and are never proposed again.

        Parameters
        ----------
        indices : array-like of int
            Row numbers of unlabeled rows. Skipping a skipped row changes nothing; take a skip
            back with :meth:`forget`.

        Returns
        -------
        self : PRepALLearner

        Raises
        ------
        InvalidInputError
            If an index is invalid or a row holds a label (``forget`` it first). Nothing is
            changed then.
        """
        self._check_session()
        rows = check_rows(indices, self._state.n_samples)
        labeled = rows[self._state.labeled[rows]]
        if labeled.size:
            raise InvalidInputError(
                f"row {labeled[0]} holds a label and cannot be skipped; forget([{labeled[0]}]) "
                "takes the label back first."
            )
        new = rows[~self._state.skipped[rows]]
        self._state.skip(new)
        self._since_refit["skipped"].append(new)
        self._sync_attributes()
        return self

    def forget(self, indices: Any, *, refit: bool = True) -> PRepALLearner:
        """Take back what was said about rows (a label or a skip): they return to the pool.

        Parameters
        ----------
        indices : array-like of int
            Row numbers of labeled or skipped rows.
        refit : bool, default=True
            Refit the head without the forgotten labels (False: at the next :meth:`refit`).

        Returns
        -------
        self : PRepALLearner

        Raises
        ------
        InvalidInputError
            If an index is invalid or a row is neither labeled nor skipped. Nothing is changed
            then.
        """
        self._check_session()
        _check_flag("refit", refit)
        rows = check_rows(indices, self._state.n_samples)
        unknown = rows[~(self._state.labeled[rows] | self._state.skipped[rows])]
        if unknown.size:
            raise InvalidInputError(
                f"row {unknown[0]} has neither a label nor a skip to forget; it is in the pool."
            )
        had_label = rows[self._state.labeled[rows]]
        self._state.forget(had_label)
        self._state.skipped[rows] = False
        self._since_refit["forgotten"].append(rows)
        self._sync_attributes()
        if refit and had_label.size:
            self.refit()
        return self

    def refit(self) -> PRepALLearner:
        """Fit the head on every label held now, and record it in ``history_``.

        Returns
        -------
        self : PRepALLearner
        """
        self._check_session()
        seconds, name = self._pending_query or (0.0, None)
        self._pending_query = None
        self._refit(queried=self._take_new(), query_seconds=seconds, strategy=name)
        return self

    # -- the pool's rows -----------------------------------------------------------------------

    def attach_pool(self, X: Any) -> PRepALLearner:
        """Give the learner the rows of its pool again, e.g. after unpickling or moving a file.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The same rows as the ``X`` given to ``fit``, in the same order.

        Returns
        -------
        self : PRepALLearner
        """
        check_fitted(self, "history_")
        if getattr(self, "_state", None) is None:
            raise NotFittedError(
                "this learner was reduced to its head by drop_pool(); it predicts but can no "
                "longer query. Fit a new learner to continue labeling."
            )
        rows = self._check_X(X, reset=False)
        if rows.shape[0] != self._state.n_samples:
            raise InvalidInputError(
                f"X has {rows.shape[0]} rows but the learner was fit on {self._state.n_samples}; "
                "attach the same rows, in the same order."
            )
        self._X = rows
        self._pool_reference = memmap_reference(rows)
        return self

    def drop_pool(self) -> PRepALLearner:
        """Keep only what :meth:`predict` needs: the head, ``classes_`` and the records.

        The rows, the per-row label state and the strategies go, so a pickle holds the head and
        little else. The learner still predicts; :meth:`query` and :meth:`teach` then raise.

        Returns
        -------
        self : PRepALLearner
        """
        check_fitted(self, "history_")
        for name in ("_X", "_pool_reference", "_state", "_query_strategy", "_initial_strategy"):
            setattr(self, name, None)
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        if state.get("_pool_reference") is not None:
            # The rows stay on disk; only where they are is pickled.
            state["_X"] = None
        return state

    # -- prediction --------------------------------------------------------------------------

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the current head."""
        return self._fitted_head().predict(self._check_X(X, reset=False))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: one column per ``classes_`` entry, in that order, always."""
        proba = self._fitted_head().predict_proba(self._check_X(X, reset=False))
        columns = self._head_columns()
        if columns is None:
            return proba
        out = np.zeros((proba.shape[0], self.classes_.shape[0]), dtype=np.float64)
        out[:, columns] = proba
        return out

    @available_if(_head_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision function of the current head (columns in ``classes_`` order).

        Classes the head has no label of yet get ``-inf``.
        """
        scores = self._fitted_head().decision_function(self._check_X(X, reset=False))
        columns = self._head_columns()
        if columns is None:
            return scores
        if scores.ndim == 1:  # a binary head: the score of its second class against its first
            scores = np.column_stack([-scores, scores])
        out = np.full((scores.shape[0], self.classes_.shape[0]), -np.inf)
        out[:, columns] = scores
        return out

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

        With ``estimator=None``, setting e.g. ``estimator__C`` first puts the default head in
        place, so grid searches over the default head's parameters work.
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
        # float16 stays float16: a half-precision store on disk is read as it is, never copied.
        return validate_data(self, X, reset=reset, dtype=[np.float64, np.float32, np.float16])

    @staticmethod
    def _strategy_from(spec: Any) -> Any:
        strategy = clone(resolve_strategy(spec), safe=False)
        check_params(strategy)
        return strategy

    @staticmethod
    def _distinct_labels(values: np.ndarray) -> np.ndarray:
        try:
            return np.unique(values)
        except TypeError:
            raise InvalidInputError(
                f"y mixes labels of different types ({sorted({type(v).__name__ for v in values})}"
                "); use labels of the same type."
            ) from None

    def _check_session(self) -> None:
        check_fitted(self, "history_")
        if getattr(self, "_state", None) is None:
            raise NotFittedError(
                "this learner was reduced to its head by drop_pool(); it predicts but can no "
                "longer query or take labels. Fit a new learner to continue labeling."
            )

    def _rows(self) -> Any:
        """The ``X`` given to fit, mapping a memory-mapped file again after unpickling."""
        if self._X is None and self._pool_reference is not None:
            try:
                self._X = open_memmap_reference(self._pool_reference)
            except (OSError, ValueError) as exc:
                raise InvalidInputError(
                    f"the pool's rows were in {self._pool_reference['filename']!r}, which cannot "
                    f"be mapped again ({exc}); hand them over with learner.attach_pool(X)."
                ) from None
        return self._X

    def _sync_attributes(self) -> None:
        self.labeled_indices_ = self._state.order.copy()
        self.y_labeled_ = self._state.labels[self._state.order]
        self.skipped_indices_ = np.flatnonzero(self._state.skipped).astype(np.intp)

    def _reveal(self, rows: np.ndarray, labels: np.ndarray) -> None:
        self._state.label(rows, labels)
        if self._declared is None:
            fresh = self._distinct_labels(np.asarray(labels, dtype=self._state.labels.dtype))
            if not np.isin(fresh, self.classes_).all():
                self.classes_ = np.union1d(self.classes_, fresh)
        self._sync_attributes()

    def _take_new(self) -> np.ndarray:
        """Rows labeled since the last recorded refit, in acquisition order."""
        order = self._state.order
        return order[~np.isin(order, self._recorded_order)]

    def _refit(self, *, queried: np.ndarray, query_seconds: float, strategy: str | None) -> None:
        rows = self._state.labeled_rows()
        start = time.perf_counter()
        if rows.size:
            X_labeled = self._rows()[rows]
            self.estimator_ = self._fit_head(X_labeled, _plain_labels(self._state.labels[rows]))
        else:
            self.estimator_ = None
        fit_seconds = time.perf_counter() - start
        score = None
        if self._eval_set is not None and self.estimator_ is not None:
            X_eval, y_eval = self._eval_set
            score = self.score(X_eval, y_eval)
        since, self._since_refit = self._since_refit, {"forgotten": [], "skipped": []}
        self.history_.append(
            make_record(
                iteration=len(self.history_),
                n_labeled=self._state.n_labeled,
                queried=queried,
                query_seconds=query_seconds,
                fit_seconds=fit_seconds,
                score=score,
                strategy=strategy,
                forgotten=_joined(since["forgotten"]),
                skipped=_joined(since["skipped"]),
            )
        )
        self._recorded_order = self._state.order.copy()

    def _fit_head(self, X: np.ndarray, y: np.ndarray) -> Any:
        small = X.shape[0] <= _SMALL_FIT_ROWS
        with warnings.catch_warnings(record=True) as caught, (
            one_blas_thread() if small else contextlib.nullcontext()
        ):
            warnings.filterwarnings("always", message=_MANY_CLASSES_WARNING)
            previous = self.estimator_
            warm = (
                self._warm
                and previous is not None
                and not isinstance(previous, DummyClassifier)
                and "warm_start" in previous.get_params()
                and np.array_equal(np.asarray(previous.classes_), np.unique(y))
            )
            if np.unique(y).size < 2:
                head = DummyClassifier(strategy="most_frequent").fit(X, y)
            elif warm:
                head = previous.set_params(warm_start=True).fit(X, y)
            else:
                head = clone(self._base_estimator()).fit(X, y)
        for warning in caught:
            if str(warning.message).startswith(_MANY_CLASSES_WARNING):
                if not self._many_classes_logged:
                    logger.info("fitting a head on fewer than two labels per class: %s", warning)
                    self._many_classes_logged = True
            else:
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        return head

    def _head_ready(self) -> bool:
        """Whether ``query_strategy`` can run now: a head that ranks, and two classes labeled.

        Both are needed. The labels held decide, not the head alone: after
        ``forget(refit=False)`` the head may still be fit on two classes that the labels no
        longer hold, and strategies that read the labeled rows (BALD's committee, CAL's
        neighbours) need them. A one-class head (a DummyClassifier) cannot rank rows, even when
        ``teach(refit=False)`` has brought a second class since its fit.
        """
        return (
            self.estimator_ is not None
            and not isinstance(self.estimator_, DummyClassifier)
            and self._state.n_classes_held() >= 2
        )

    def _current_strategy(self) -> Any:
        return self._query_strategy if self._head_ready() else self._initial_strategy

    def _head_for(self, strategy: Any) -> Any:
        return self.estimator_ if strategy is self._query_strategy else None

    def _query_rng(self) -> np.random.RandomState:
        """Randomness of the next query: a function of the seed and of the label state only."""
        digest = hashlib.blake2b(self._state.digest(), digest_size=16, key=b"query").digest()
        return np.random.RandomState([self._seed, *np.frombuffer(digest, dtype=np.uint32)])

    def _select(self, strategy: Any, n: int, *, head: Any) -> tuple[np.ndarray, float]:
        start = time.perf_counter()
        X = self._rows()
        labeled = self._state.labeled_rows()
        pool_mask = self._state.pool_mask()
        with pool_scoring(self.n_jobs):
            rows = strategy.select_rows(
                head,
                X,
                pool_mask,
                n,
                X_labeled=X[labeled],
                y_labeled=_plain_labels(self._state.labels[labeled]),
                classes=None if head is None else np.asarray(head.classes_),
                random_state=self._query_rng(),
                labeled_indices=labeled,
            )
        # A strategy's own select_rows is checked here: only select's result is checked for it.
        rows = check_selected_rows(rows, n, pool_mask, strategy._label)
        return rows, time.perf_counter() - start

    def _head_columns(self) -> np.ndarray | None:
        """Where the head's columns go among ``classes_``; None when they are the same.

        Computed at each call: teach(refit=False) may add a class before the head is refit.
        """
        head_classes = np.asarray(self.estimator_.classes_)
        if np.array_equal(head_classes, self.classes_):
            return None
        return np.searchsorted(self.classes_, head_classes)

    def _fitted_head(self) -> Any:
        check_fitted(self, "history_")
        if self.estimator_ is None:
            raise NotFittedError(
                "PRepALLearner has no labels yet, so no head to predict with; teach() some first."
            )
        return self.estimator_


def _plain_labels(labels: np.ndarray) -> np.ndarray:
    """Labels held as objects (a cold start takes any type) in the dtype they share.

    scikit-learn reads an object array of ints as labels of unknown type. Strings become
    fixed-width numpy strings: the head's fit sorts its labels several times, and an object array
    sorts by Python comparisons (a fifth of a refit at 2,000 labels).
    """
    if labels.dtype.kind != "O" or labels.size == 0:
        return labels
    if all(isinstance(v, (bool, np.bool_)) for v in labels):
        return labels.astype(bool)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in labels):
        return labels.astype(np.int64)
    if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in labels):
        return labels.astype(np.float64)
    if all(isinstance(v, str) for v in labels):
        return labels.astype(str)
    return labels


def _check_flag(name: str, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidInputError(f"{name} must be True or False, got {value!r}.")


def _joined(parts: list[np.ndarray]) -> np.ndarray | None:
    return np.concatenate(parts) if parts else None
