"""Checks of what a user hands the learner: the label vector, declared classes, rows and labels.

Each check raises :class:`~skprepal.exceptions.InvalidInputError` naming what was wrong and what to
do, and none changes anything, so a rejected call leaves the learner as it was.
"""

from __future__ import annotations

import difflib
import numbers
from typing import Any

import numpy as np
from sklearn.utils import column_or_1d

from skprepal.exceptions import InvalidInputError

__all__ = [
    "check_classes",
    "check_label_vector",
    "check_labels_for",
    "check_rows",
    "is_missing",
    "label_storage",
    "missing_mask",
]


def _is_na(value: Any) -> bool:
    """None, NaN, or pandas' NA / NaT: the ways a table says "no value"."""
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    return type(value).__name__ in ("NAType", "NaTType")


def _marks_na(missing: Any) -> bool:
    return _is_na(missing)


def _is_bool(value: Any) -> bool:
    """A bool marks no number label, and a number no bool label, though ``True == 1``."""
    return isinstance(value, (bool, np.bool_))


def _is_number(missing: Any) -> bool:
    """Whether the marker is one numeric labels can hold (Decimal, Fraction too; not a bool)."""
    return isinstance(missing, numbers.Number) and not _is_bool(missing)


def is_missing(value: Any, missing: Any) -> bool:
    """Whether ``value`` is the ``missing`` marker, as the user means it.

    None and NaN mean the same (pandas turns a None among strings into NaN, a float column's
    None into NaN, and a string column's into NA). A number marker matches its text among
    string labels (numpy stores the ``-1`` of ``["spam", -1]`` as ``"-1"``).

    Examples
    --------
    >>> is_missing(float("nan"), None), is_missing("-1", -1), is_missing(-1.0, -1)
    (True, True, True)
    >>> is_missing(None, -1), is_missing("none", None), is_missing(1, True)
    (False, False, False)
    """
    if _marks_na(missing):
        return _is_na(value)
    if _is_na(value):
        return False
    value_is_text = isinstance(value, (str, bytes))
    missing_is_text = isinstance(missing, (str, bytes))
    if value_is_text and not missing_is_text:
        return value == str(missing)
    if value_is_text != missing_is_text:
        return False
    if _is_bool(value) != _is_bool(missing):
        return False
    return bool(value == missing)


def missing_mask(y: np.ndarray, missing: Any) -> np.ndarray:
    """True where ``y`` holds the ``missing`` marker (vectorised for numeric labels).

    Raises
    ------
    InvalidInputError
        Where ``y`` says "no value" (None, NaN, NA) in a way the marker does not match, or holds
        an infinite label: those rows would otherwise be silently taken as labeled.
    """
    if y.dtype.kind in "fc":
        nan = np.isnan(y)
        if np.isinf(y).any():
            row = int(np.flatnonzero(np.isinf(y))[0])
            raise InvalidInputError(
                f"Input y contains infinity or a value too large for dtype('{y.dtype}'): "
                f"y[{row}] is {_show(y[row])}; labels must be finite."
            )
        if _marks_na(missing):
            return nan
        if nan.any():
            _raise_unmatched(int(np.flatnonzero(nan)[0]), y, missing)
        return y == missing if _is_number(missing) else np.zeros_like(nan)
    if y.dtype.kind in "iu":
        return y == missing if _is_number(missing) else np.zeros(y.shape[0], dtype=bool)
    if y.dtype.kind == "b":
        # Bool labels have no value to spare for a marker: every row is labeled.
        return np.zeros(y.shape[0], dtype=bool)
    mask = np.fromiter((is_missing(v, missing) for v in y), bool, y.shape[0])
    if not _marks_na(missing):
        unmatched = next((i for i, v in enumerate(y) if _is_na(v)), None)
        if unmatched is not None:
            _raise_unmatched(unmatched, y, missing)
    return mask


def _show(value: Any) -> str:
    """A label as the user wrote it: ``nan``, not ``np.float64(nan)``."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _raise_unmatched(row: int, y: np.ndarray, missing: Any) -> None:
    raise InvalidInputError(
        f"y[{row}] is {_show(y[row])}, but missing_label={missing!r} marks the pool. Pass "
        "missing_label=None to treat None/NaN as unlabeled rows, or give those rows a label."
    )


def check_label_vector(y: Any, n_samples: int, missing: Any) -> np.ndarray:
    """``y`` as a 1-D array of ``n_samples`` labels (object dtype for strings).

    Raises
    ------
    InvalidInputError
        If ``missing`` is not one value, or ``y`` is None, not 1-D or of the wrong length.
    """
    if np.ndim(missing) != 0:
        # numpy would compare y with each item of a list marker, and a list never equals a label.
        raise InvalidInputError(
            f"missing_label={missing!r} must be one value marking the rows without a label (a "
            "number, a string, or None/NaN), not a sequence."
        )
    if y is None:
        raise InvalidInputError(
            "PRepALLearner requires y to be passed, but the target y is None: pass the "
            "oracle's labels for a simulation, or labels with "
            f"missing_label={missing!r} marking the pool for interactive labeling."
        )
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if y.ndim != 1:
        raise InvalidInputError(f"y should be a 1d array, got shape {y.shape}.")
    if y.shape[0] != n_samples:
        raise InvalidInputError(f"X has {n_samples} rows but y has {y.shape[0]} labels.")
    # Fixed-width str arrays would silently truncate longer labels given later to teach.
    return y.astype(object) if y.dtype.kind in "US" else y


def check_classes(classes: Any, given: np.ndarray) -> np.ndarray:
    """The declared label set as a sorted array, checked against the labels ``given`` in ``y``.

    Raises
    ------
    InvalidInputError
        If ``classes`` is empty, repeats a label, cannot be sorted, or misses a label of ``y``.
    """
    declared = np.asarray(list(classes) if not isinstance(classes, np.ndarray) else classes)
    if declared.ndim != 1 or declared.shape[0] == 0:
        raise InvalidInputError(
            f"classes={classes!r} must be a non-empty list of labels, e.g. classes=['neg', 'pos']."
        )
    if declared.dtype.kind in "US":
        declared = declared.astype(object)
    try:
        unique = np.unique(declared)
    except TypeError:
        raise InvalidInputError(
            f"classes={classes!r} mixes labels of different types; use labels of one type."
        ) from None
    if unique.shape[0] != declared.shape[0]:
        raise InvalidInputError(f"classes={classes!r} repeats a label; list each class once.")
    unknown = [v for v in _distinct(given) if not _member(v, unique)]
    if unknown:
        raise InvalidInputError(
            f"y holds label {unknown[0]!r}, which is not among classes={unique.tolist()!r}; "
            f"add it to classes or fix the label.{_did_you_mean(unknown[0], unique)}"
        )
    return unique


def label_storage(y: np.ndarray, classes: np.ndarray | None) -> np.ndarray:
    """A copy of ``y`` in a dtype that can hold every declared class (object if needed)."""
    if classes is None or y.dtype.kind == "O":
        return y.copy()
    return y.copy() if _exact_cast(classes.tolist(), y.dtype) is not None else y.astype(object)


def _exact_cast(values: list[Any], dtype: np.dtype) -> np.ndarray | None:
    """``values`` as an array of ``dtype``, or None where one cannot be held there as it is.

    A string beside int labels, 300 beside int8 ones, or 1.5 beside integer ones (a cast would
    round it) cannot.
    """
    try:
        cast = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        return None
    return cast if all(a == b for a, b in zip(cast.tolist(), values, strict=True)) else None


def check_rows(indices: Any, n_samples: int, *, what: str = "indices") -> np.ndarray:
    """Distinct, in-range integer row numbers as a 1-D intp array (a scalar becomes one row)."""
    rows = np.asarray(indices)
    if rows.ndim == 0:
        rows = rows.reshape(1)
    if rows.ndim != 1 or (rows.size and rows.dtype.kind not in "iu"):
        raise InvalidInputError(
            f"{what} must be a 1-D array of integer row numbers, got {rows.dtype} of shape "
            f"{rows.shape}."
        )
    if rows.size and (rows.min() < 0 or rows.max() >= n_samples):
        bad = rows[(rows < 0) | (rows >= n_samples)][0]
        raise InvalidInputError(
            f"index {bad} is out of range: X given to fit has {n_samples} rows "
            f"(0..{n_samples - 1})."
        )
    if np.unique(rows).size != rows.size:
        raise InvalidInputError(f"{what} repeat a row; give each row once per call.")
    return rows.astype(np.intp)


def check_labels_for(
    rows: np.ndarray,
    labels: Any,
    *,
    storage: np.ndarray,
    missing: Any,
    classes: np.ndarray | None,
) -> np.ndarray:
    """One real label per row, in the dtype of ``storage`` and, if declared, among ``classes``."""
    values = np.asarray(labels, dtype=object)
    if values.ndim == 0:
        values = values.reshape(1)
    if values.ndim != 1:
        raise InvalidInputError(
            f"labels are one per row, a 1-D sequence; got an array of shape {values.shape}."
        )
    if values.shape[0] != rows.shape[0]:
        raise InvalidInputError(f"got {rows.shape[0]} indices but {values.shape[0]} labels.")
    missing_rows = [i for i, v in zip(rows, values, strict=True) if is_missing(v, missing)]
    if missing_rows:
        raise InvalidInputError(
            f"the label of row {missing_rows[0]} is missing_label={missing!r}; teach only real "
            "labels (skip() a row that should get none)."
        )
    if classes is not None:
        unknown = [v for v in values if not _member(v, classes)]
        if unknown:
            raise InvalidInputError(
                f"label {unknown[0]!r} is not among the declared classes {classes.tolist()!r}."
                f"{_did_you_mean(unknown[0], classes)}"
            )
    dtype = storage.dtype
    cast = values if dtype.kind == "O" else _exact_cast(list(values), dtype)
    if cast is None:
        raise InvalidInputError(
            f"labels {list(values[:3])!r}... do not fit the labels given to fit (dtype "
            f"{dtype}); use labels of the same type."
        )
    # A fraction would be stored (a cold start takes any type; float labels take any float),
    # and only the head's refit would refuse it, after the session had changed. Integer and
    # string labels cannot hold one: no pass over them.
    fractions = [] if dtype.kind not in "Of" else [
        v for v in cast if isinstance(v, (float, np.floating)) and not float(v).is_integer()
    ]
    if fractions:
        raise InvalidInputError(
            f"label {fractions[0]} is not a class: labels are whole numbers, strings or "
            "booleans, all of the same type."
        )
    return cast


def _distinct(values: np.ndarray) -> list[Any]:
    try:
        return np.unique(values).tolist()
    except TypeError:
        return list(dict.fromkeys(values.tolist()))


def _member(value: Any, classes: np.ndarray) -> bool:
    return value in classes.tolist()


def _did_you_mean(value: Any, classes: np.ndarray) -> str:
    if not isinstance(value, str):
        return ""
    names = [c for c in classes.tolist() if isinstance(c, str)]
    close = difflib.get_close_matches(value, names, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""
