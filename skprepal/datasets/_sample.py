"""The support-ticket data sets that ship with skprepal, for demos and tests.

Unlike the benchmark loaders, these need no download and no data folder: the CSV files are
package data (``skprepal/datasets/data/support_tickets.csv`` and
``support_tickets_long_tail.csv``), read with :mod:`importlib.resources` and the :mod:`csv`
module.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from importlib.resources import files
from typing import Literal, overload

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_sample_texts", "load_support_tickets"]

_PACKAGE = "skprepal.datasets"
_FILE = "support_tickets.csv"
_LONG_TAIL_FILE = "support_tickets_long_tail.csv"
_HEADER = ["text", "label"]


def _read_tickets(name: str = _FILE) -> tuple[list[str], list[str]]:
    """Read a packaged CSV; return the texts and the labels, in file order."""
    content = (files(_PACKAGE) / "data" / name).read_text(encoding="utf-8")
    # newline="" hands line endings to the csv module untranslated, as the csv docs require.
    reader = csv.reader(io.StringIO(content, newline=""))
    header = next(reader, None)
    if header != _HEADER:
        raise ValueError(f"{name}: expected the header {_HEADER}, found {header}.")
    texts: list[str] = []
    labels: list[str] = []
    for row in reader:
        if len(row) != 2:
            raise ValueError(f"{name}, line {reader.line_num}: expected 2 fields, got {len(row)}.")
        texts.append(row[0])
        labels.append(row[1])
    return texts, labels


def _load(
    name: str, describe: Callable[[list[str]], str], return_X_y: bool
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """A packaged ticket file as object arrays (never fixed-width '<U'), or as a Bunch."""
    texts, labels = _read_tickets(name)
    data = np.empty(len(texts), dtype=object)
    data[:] = texts
    target = np.empty(len(labels), dtype=object)
    target[:] = labels
    if return_X_y:
        return data, target
    return Bunch(
        data=data, target=target, target_names=sorted(set(labels)), DESCR=describe(labels)
    )


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
    return _load(_FILE, _describe, return_X_y)


#: Tickets per class of the long-tail sample, largest first (checked against the file by the tests).
LONG_TAIL_COUNTS = {
    "account_access": 290,
    "bug_report": 270,
    "billing": 250,
    "how_to": 210,
    "feature_request": 190,
    "integrations": 150,
    "performance": 110,
    "data_privacy": 80,
    "cancellation": 70,
    "notifications": 50,
    "security_report": 40,
    "accessibility": 30,
}


def _describe_long_tail(labels: list[str]) -> str:
    counts = Counter(labels)
    n = len(labels)
    per_class = ", ".join(
        f"{name} {counts[name]} ({100 * counts[name] / n:.1f}%)"
        for name in sorted(counts, key=lambda c: (-counts[c], c))
    )
    return (
        "Support tickets with a long tail (skprepal sample data set)\n"
        "-----------------------------------------------------------\n\n"
        "Support tickets sent to the fictional online workspace company of load_sample_texts, "
        f"in {len(counts)} classes whose sizes fall off as a real support queue's do: {per_class}. "
        "The tickets were composed for skprepal by a deterministic script "
        "(tools/generate_support_tickets.py in the source repository) from hand-written parts: "
        "for each class a few dozen ways of stating a problem, with slots for products, devices, "
        "amounts, names and dates and inline alternatives of wording, a few terse forms, "
        "follow-up sentences, and class-free greetings, context and sign-offs, in four "
        "registers (terse, plain, chatty, formal) with typos, lower case and the odd all-caps "
        "ticket. Texts run from 1 to about 60 words (median about 20). A few statements touch a "
        "second topic on purpose and are labelled by the main ask. Because the "
        "statements are reused with different wrappings, tickets of a class resemble each other "
        "more than real ones do: scores on this set are higher than on a real queue, and it "
        "shows how strategies compare, not what accuracy to expect. Everything is fictional; "
        "e-mail domains are reserved example domains. Texts are in ``data`` (str), labels in "
        "``target`` (str), rows in a fixed shuffled order."
    )


@overload
def load_support_tickets(*, return_X_y: Literal[False] = ...) -> Bunch: ...


@overload
def load_support_tickets(*, return_X_y: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...


@overload
def load_support_tickets(*, return_X_y: bool) -> Bunch | tuple[np.ndarray, np.ndarray]: ...


def load_support_tickets(*, return_X_y: bool = False) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load the long-tail support-ticket sample: 1,740 tickets in 12 classes, 1.7% to 16.7%.

    A labeling task shaped like a real support queue, shipped inside skprepal: a few large
    topics and a tail of rare ones, which is where active learning has most to find. It needs
    no download.

    **Datasheet.**

    ====================  =======  =====  =================================================
    class                 tickets  share  what the tickets ask about
    ====================  =======  =====  =================================================
    ``account_access``        290  16.7%  logging in, passwords, two-factor codes, SSO
    ``bug_report``            270  15.5%  something in the product is broken
    ``billing``               250  14.4%  charges, invoices, refunds, plans, payment
    ``how_to``                210  12.1%  how to do something in the product
    ``feature_request``       190  10.9%  something the product should do
    ``integrations``          150   8.6%  Slack, Google Drive, Zapier, the API, webhooks
    ``performance``           110   6.3%  slowness, time-outs, outages
    ``data_privacy``           80   4.6%  GDPR requests, data location, retention, DPAs
    ``cancellation``           70   4.0%  ending a subscription or closing a workspace
    ``notifications``          50   2.9%  e-mail and push notifications
    ``security_report``        40   2.3%  phishing, suspicious logins, vulnerabilities
    ``accessibility``          30   1.7%  screen readers, contrast, keyboard use
    ====================  =======  =====  =================================================

    - **Made by**: ``tools/generate_support_tickets.py`` in the source repository (standard
      library only, seed 18, the same file on every run), from hand-written statements (38 for
      the largest class down to 7 for the smallest, with inline alternatives of wording), 3 to
      14 terse forms and 3 to 11 follow-up sentences per class, and class-free greetings,
      context and sign-offs.
      Everything is fictional; e-mail domains are reserved example domains.
    - **Variety**: 1 to about 60 words (median about 20); four registers (terse, plain,
      chatty, formal); about one ticket in six carries typos, some are all lower case, a few
      all caps. A few statements touch a second topic on purpose (a double charge after a
      crash is ``billing``) and are labelled by the main ask.
    - **Limits**: statements recur with different wrappings, so the tickets of a class are
      more alike than real ones, and held-out scores are higher than on a real queue. Use it
      to compare strategies and to see the rare classes found, not to predict accuracy.
    - Rows are in a fixed shuffled order; :func:`load_sample_texts` (670 hand-written tickets,
      5 balanced classes) stays as it was.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the attributes:

        data : ndarray of object, shape (1740,)
            The ticket texts, as ``str``.
        target : ndarray of object, shape (1740,)
            The label of each ticket, as ``str`` (one of ``target_names``).
        target_names : list of str
            The class names, sorted.
        DESCR : str
            Description of the data set.
    (data, target) : tuple of ndarray
        When ``return_X_y`` is True: the two object arrays described above.

    See Also
    --------
    load_sample_texts : The small balanced sample.

    Examples
    --------
    >>> from collections import Counter
    >>> from skprepal.datasets import load_support_tickets
    >>> X, y = load_support_tickets(return_X_y=True)
    >>> X.shape
    (1740,)
    >>> Counter(y).most_common()[-3:]
    [('notifications', 50), ('security_report', 40), ('accessibility', 30)]
    """
    return _load(_LONG_TAIL_FILE, _describe_long_tail, return_X_y)
