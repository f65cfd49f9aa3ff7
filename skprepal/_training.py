"""What every supervised fit in skprepal shares: the held-out split and the class weights.

The fine-tuner and the MLP head both hold out a stratified share of the labels for validation and
both weight the cross-entropy by class; doing either in one place keeps their behaviour the same.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight

from skprepal.exceptions import InvalidInputError

__all__ = ["class_weights", "stratified_split"]


def stratified_split(
    y_index: np.ndarray,
    fraction: float,
    random_state: Any = None,
    *,
    name: str = "validation_fraction",
) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers of a training part and a held-out part, stratified by class where possible.

    Parameters
    ----------
    y_index : ndarray of int, shape (n_samples,)
        Class of each row (any labels work; only equality counts).
    fraction : float
        Share of the rows held out, in ``(0, 1)``; rounded up to whole rows, as scikit-learn's
        ``train_test_split`` does.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffle.
    name : str, default="validation_fraction"
        The caller's name for ``fraction``, used in the error message.

    Returns
    -------
    train : ndarray of int
        Row numbers to train on.
    held : ndarray of int
        Row numbers held out.

    Raises
    ------
    InvalidInputError
        If ``fraction`` leaves either part empty.

    Examples
    --------
    >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> train, held = stratified_split(y, 0.25, random_state=0)
    >>> len(train), len(held), sorted(y[held].tolist())
    (6, 2, [0, 1])
    """
    n = len(y_index)
    n_held = math.ceil(fraction * n)
    if n_held == 0 or n_held >= n:
        raise InvalidInputError(
            f"{name}={fraction} leaves no rows to train or to validate on with {n} samples; "
            "pass more samples or a fraction that keeps at least one row on each side."
        )
    rows = np.arange(n)
    try:
        train, held = train_test_split(
            rows, test_size=fraction, random_state=random_state, stratify=y_index
        )
    except ValueError:
        # A class with a single row, or more classes than held-out rows, cannot be stratified:
        # with few labels (an active-learning start) that is the common case, not an error.
        train, held = train_test_split(rows, test_size=fraction, random_state=random_state)
    return train, held


def class_weights(
    class_weight: dict | str | None, classes: np.ndarray, y_index: np.ndarray
) -> np.ndarray | None:
    """Weight of each class in the cross-entropy, in ``classes`` order.

    Parameters
    ----------
    class_weight : dict, "balanced" or None
        ``{label: weight}`` (classes left out weigh 1), ``"balanced"`` (inversely proportional to
        the class frequencies, as :func:`sklearn.utils.class_weight.compute_class_weight`), or
        None for equal weights.
    classes : ndarray of shape (n_classes,)
        The labels, sorted; ``class_weight``'s keys are among them.
    y_index : ndarray of int, shape (n_samples,)
        Position in ``classes`` of each row's label.

    Returns
    -------
    ndarray of float64, shape (n_classes,) or None
        None when ``class_weight`` is None.

    Raises
    ------
    InvalidInputError
        If ``class_weight`` names a label that is not in ``classes``.

    Examples
    --------
    >>> classes = np.array(["access", "billing"])
    >>> class_weights("balanced", classes, np.array([1, 1, 1, 1, 0, 0]))
    array([1.5 , 0.75])
    >>> class_weights({"access": 3.0}, classes, np.array([1, 1, 0]))
    array([3., 1.])
    """
    if class_weight is None:
        return None
    positions = np.arange(len(classes))
    if isinstance(class_weight, dict):
        labels = classes.tolist()
        unknown = [key for key in class_weight if key not in labels]
        if unknown:
            raise InvalidInputError(
                f"class_weight names classes not in y: {sorted(map(str, unknown))}; y has "
                f"{labels}. Use the labels as they appear in y."
            )
        # Keyed by position, so scikit-learn's lookup (which casts labels to int or str) cannot
        # confuse labels such as 1 and "1" or 0.5 and 0.
        by_position = {i: float(class_weight[c]) for i, c in enumerate(labels) if c in class_weight}
        return compute_class_weight(by_position, classes=positions, y=y_index)
    return compute_class_weight(class_weight, classes=positions, y=y_index)
