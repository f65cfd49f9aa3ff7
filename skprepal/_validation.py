"""Input checks shared by every estimator: text arrays, option names, fitted state."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import numpy as np
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from skprepal.exceptions import InvalidInputError, NotFittedError

__all__ = ["check_texts", "check_option", "check_fitted", "check_params", "validate_texts"]


def check_option(name: str, value: Any, options: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``options``, else raise with a "did you mean".

    Parameters
    ----------
    name : str
        The argument's name, as the user wrote it.
    value : object
        What the user passed.
    options : iterable of str
        The allowed values.

    Returns
    -------
    str
        ``value``, unchanged.

    Raises
    ------
    InvalidInputError
        If ``value`` is not among ``options``.

    Examples
    --------
    >>> check_option("pooling", "mean", ["mean", "cls"])
    'mean'
    """
    options = sorted(options)
    if isinstance(value, str) and value in options:
        return value
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value.lower(), options, n=1, cutoff=0.6)
        if close:
            hint = f" Did you mean {close[0]!r}?"
    raise InvalidInputError(
        f"{name}={value!r} is not supported; choose one of {', '.join(map(repr, options))}.{hint}"
    )


def check_params(obj: Any) -> None:
    """Validate ``obj``'s parameters against its ``_parameter_constraints``.

    scikit-learn's message (which parameter, what is allowed, what was given) is kept, with a
    "did you mean" added for a misspelled option.

    Raises
    ------
    InvalidInputError
        If a parameter breaks its constraint.

    Examples
    --------
    >>> from skprepal.strategies import BALD
    >>> check_params(BALD(n_members=0))
    Traceback (most recent call last):
    ...
    skprepal.exceptions.InvalidInputError: The 'n_members' parameter of BALD must be an int in the range [1, inf). Got 0 instead.
    """  # noqa: E501
    from sklearn.utils._param_validation import InvalidParameterError

    try:
        obj._validate_params()
    except InvalidParameterError as exc:
        message = str(exc)
        hint = ""
        for name, constraints in getattr(obj, "_parameter_constraints", {}).items():
            value = getattr(obj, name, None)
            if f"'{name}' parameter" in message and isinstance(value, str):
                options = [o for c in constraints for o in getattr(c, "options", ())]
                close = difflib.get_close_matches(value, [str(o) for o in options], n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InvalidInputError(message + hint) from None


def check_fitted(estimator: Any, attributes: str | list[str] | None = None) -> None:
    """Raise :class:`skprepal.exceptions.NotFittedError` if ``estimator`` is not fitted."""
    try:
        check_is_fitted(estimator, attributes)
    except _SklearnNotFittedError as exc:
        raise NotFittedError(str(exc)) from None


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _to_object_array(X: Any, name: str) -> np.ndarray:
    """Turn the supported containers into an object ndarray without copying strings to '<U'."""
    if X is None:
        raise InvalidInputError(
            f"{name} is None; pass a list, numpy array or pandas Series of str."
        )
    if isinstance(X, (str, bytes)):
        raise InvalidInputError(
            f"{name} must be a sequence of texts, got a single {type(X).__name__}; "
            f"wrap it in a list: [{_describe(X)}]."
        )
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise InvalidInputError(f"{name} is a sparse matrix; pass the raw texts instead.")
    if hasattr(X, "iloc") and hasattr(X, "columns"):  # pandas DataFrame
        return X.to_numpy(dtype=object)
    if hasattr(X, "to_numpy"):  # pandas Series, polars Series
        return np.asarray(X.to_numpy(), dtype=object)
    if isinstance(X, np.ndarray):
        return X.astype(object, copy=False)
    if not hasattr(X, "__len__"):
        X = list(X)
    # Building the array element by element keeps tuples of two texts as rows, and never lets
    # numpy try to broadcast ragged rows.
    rows = list(X)
    if rows and all(isinstance(r, (tuple, list, np.ndarray)) for r in rows):
        widths = {len(r) for r in rows}
        if len(widths) != 1:
            raise InvalidInputError(
                f"{name} mixes rows of {sorted(widths)} elements; every row must be a single text "
                "or a pair (text, text_pair)."
            )
        out = np.empty((len(rows), widths.pop()), dtype=object)
        for i, row in enumerate(rows):
            out[i, :] = list(row)
        return out
    out = np.empty(len(rows), dtype=object)
    out[:] = rows
    return out


def check_texts(X: Any, *, name: str = "X") -> np.ndarray:
    """Validate texts or text pairs and return them as an object array.

    Parameters
    ----------
    X : list, tuple, ndarray, pandas Series or DataFrame
        One text per sample, or two columns holding ``(text, text_pair)`` per sample (for example a
        question and a sentence, as in QNLI).
    name : str, default="X"
        The argument's name used in error messages.

    Returns
    -------
    texts : ndarray of object, shape (n_samples,) or (n_samples, 2)
        The texts as Python ``str``.

    Raises
    ------
    InvalidInputError
        If ``X`` is empty, a single string, has more than two columns, or holds anything but str.

    Examples
    --------
    >>> check_texts(["a text", "another"]).shape
    (2,)
    >>> check_texts([("question?", "answer."), ("q2", "a2")]).shape
    (2, 2)
    """
    arr = _to_object_array(X, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim not in (1, 2) or (arr.ndim == 2 and arr.shape[1] != 2):
        raise InvalidInputError(
            f"{name} has shape {arr.shape}; expected (n_samples,) texts or (n_samples, 2) text "
            "pairs such as (question, sentence)."
        )
    if arr.shape[0] == 0:
        raise InvalidInputError(f"{name} is empty: 0 samples were given, at least 1 is required.")
    flat = arr.ravel()
    bad = [i for i, value in enumerate(flat) if not isinstance(value, str)]
    if bad:
        first = bad[0]
        where = f"{name}[{first}]" if arr.ndim == 1 else f"{name}[{first // 2}, {first % 2}]"
        value = flat[first]
        fix = "use '' for an empty text or drop the row" if value is None else "convert it to str"
        raise InvalidInputError(
            f"{where} is {_describe(value)} of type {type(value).__name__}, "
            f"but every text must be a str "
            f"({len(bad)} such entr{'y' if len(bad) == 1 else 'ies'} in all); {fix}."
        )
    return arr


def validate_texts(estimator: Any, X: Any, *, reset: bool) -> np.ndarray:
    """:func:`check_texts`, plus scikit-learn's bookkeeping of the input's columns.

    Records ``n_features_in_`` (2 for pairs) and ``feature_names_in_`` (DataFrames) when
    ``reset``, and checks them otherwise; texts are not numbers, so scikit-learn's array
    conversion is skipped.

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted or used.
    X : texts
        See :func:`check_texts`.
    reset : bool
        True in ``fit``.

    Returns
    -------
    ndarray of object, shape (n_samples,) or (n_samples, 2)
    """
    from skprepal._compat import validate_data

    if reset and hasattr(estimator, "n_features_in_"):
        # Single texts record no feature count: drop one left by an earlier fit on pairs.
        del estimator.n_features_in_
    texts = check_texts(X)
    validate_data(estimator, X, reset=reset, skip_check_array=True)
    return texts
