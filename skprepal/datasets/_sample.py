"""The small support-ticket data set that ships with skprepal, for demos and tests.

Unlike the benchmark loaders, this one needs no download and no data folder: the CSV file is
package data (``skprepal/datasets/data/support_tickets.csv``), read with :mod:`importlib.resources`
and the :mod:`csv` module.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from importlib.resources import files
from typing import Literal, overload

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_sample_texts"]

_PACKAGE = "skprepal.datasets"
_FILE = "support_tickets.csv"
_HEADER = ["text", "label"]


def _read_tickets() -> tuple[list[str], list[str]]:
    """Read the packaged CSV; return the texts and the labels, in file order."""
    content = (files(_PACKAGE) / "data" / _FILE).read_text(encoding="utf-8")
    # newline="" hands line endings to the csv module untranslated, as the csv docs require.
    reader = csv.reader(io.StringIO(content, newline=""))
    header = next(reader, None)
    if header != _HEADER:
        raise ValueError(f"{_FILE}: expected the header {_HEADER}, found {header}.")
    texts: list[str] = []
    labels: list[str] = []
    for row in reader:
        if len(row) != 2:
            raise ValueError(f"{_FILE}, line {reader.line_num}: expected 2 fields, got {len(row)}.")
        texts.append(row[0])
        labels.append(row[1])
    return texts, labels


def _describe(labels: list[str]) -> str:
    counts = Counter(labels)
    per_class = ", ".join(f"{name} ({counts[name]})" for name in sorted(counts))
    return (
        "Support tickets (skprepal sample data set)\n"
        "------------------------------------------\n\n"
        "Customer support tickets sent to a fictional company that sells an online workspace "
        "(tasks, docs, file sharing; web, desktop and mobile apps; Free to Enterprise plans), "
        "each labelled with its topic. The tickets were written by hand for skprepal, to demo "
        "and test active learning on a small, realistic text-classification problem. The "
        "company, its customers and everyone named are fictional; real third-party products "
        "(Slack, Okta, PayPal and so on) appear only as tools the customers use. The tickets "
        "vary in length (4 to about 80 words), tone (polite, terse, angry, rambling), register "
        "(occasional typos, lower case, rare all caps) and writer (end users, workspace admins, "
        "IT and finance staff). "
        f"There are {len(labels)} tickets in {len(counts)} roughly balanced classes: "
        f"{per_class}. A few dozen tickets (about 6%) are deliberately ambiguous: they touch two "
        "topics (for example a double charge after the app crashed during checkout) and are "
        "labelled by their main ask. Names, e-mail addresses and order numbers are made up; "
        "e-mail domains are reserved example domains. Rows are in a fixed shuffled order. "
        "Texts are in ``data`` (str), labels in ``target`` (the class name of each ticket, "
        "as str)."
    )


@overload
def load_sample_texts(*, return_X_y: Literal[False] = ...) -> Bunch: ...


@overload
def load_sample_texts(*, return_X_y: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...


@overload
def load_sample_texts(*, return_X_y: bool) -> Bunch | tuple[np.ndarray, np.ndarray]: ...


def load_sample_texts(*, return_X_y: bool = False) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load the support-ticket sample data set: 670 tickets in 5 topic classes.

    A small, hand-written data set that ships inside skprepal, so demos and tests run offline
    without downloading anything. Each text is a customer support ticket sent to a fictional
    online workspace service; the label is its topic: ``account_access``, ``billing``,
    ``bug_report``, ``data_privacy`` or ``feature_request`` (120 to 140 tickets each). About
    6% of the tickets touch two topics on purpose and are labelled by their main ask. See
    ``DESCR`` for details.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the attributes:

        data : ndarray of object, shape (n_samples,)
            The ticket texts, as ``str``.
        target : ndarray of object, shape (n_samples,)
            The label of each ticket, as ``str`` (one of ``target_names``).
        target_names : list of str
            The class names, sorted.
        DESCR : str
            Description of the data set.
    (data, target) : tuple of ndarray
        When ``return_X_y`` is True: the two object arrays described above.

    Examples
    --------
    >>> from skprepal.datasets import load_sample_texts
    >>> tickets = load_sample_texts()
    >>> tickets.data.shape
    (670,)
    >>> tickets.target_names
    ['account_access', 'billing', 'bug_report', 'data_privacy', 'feature_request']
    >>> X, y = load_sample_texts(return_X_y=True)
    >>> X.shape, y.shape
    ((670,), (670,))
    >>> sorted(set(y))
    ['account_access', 'billing', 'bug_report', 'data_privacy', 'feature_request']
    """
    texts, labels = _read_tickets()
    data = np.empty(len(texts), dtype=object)
    data[:] = texts
    target = np.empty(len(labels), dtype=object)
    target[:] = labels
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        target_names=sorted(set(labels)),
        DESCR=_describe(labels),
    )
