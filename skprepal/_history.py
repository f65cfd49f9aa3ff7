"""One record per active-learning round, kept as a list of plain dicts.

A list of dicts is what ``pandas.DataFrame(learner.history_)`` takes as it is, and pickles with
the learner.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["make_record"]


def make_record(
    *,
    iteration: int,
    n_labeled: int,
    queried: np.ndarray,
    query_seconds: float,
    fit_seconds: float,
    score: float | None = None,
    strategy: str | None = None,
    forgotten: np.ndarray | None = None,
    skipped: np.ndarray | None = None,
) -> dict[str, Any]:
    """Return the record of one round.

    Parameters
    ----------
    iteration : int
        0 for the initial labels, then 1, 2, ...
    n_labeled : int
        Labels the head of this round was fit on.
    queried : ndarray of int
        Row numbers acquired in this round (the initial sample for round 0).
    query_seconds : float
        Time to choose ``queried``.
    fit_seconds : float
        Time to fit the head on the ``n_labeled`` labels.
    score : float or None
        The head's score on the evaluation set, when one was given.
    strategy : str or None
        Name of the strategy that chose ``queried``.
    forgotten : ndarray of int or None
        Rows whose label or skip was taken back since the previous record.
    skipped : ndarray of int or None
        Rows skipped since the previous record.

    Returns
    -------
    dict
    """
    return {
        "iteration": int(iteration),
        "n_labeled": int(n_labeled),
        "n_queried": int(len(queried)),
        "queried": np.asarray(queried, dtype=np.intp),
        "forgotten": np.asarray([] if forgotten is None else forgotten, dtype=np.intp),
        "skipped": np.asarray([] if skipped is None else skipped, dtype=np.intp),
        "strategy": strategy,
        "query_seconds": float(query_seconds),
        "fit_seconds": float(fit_seconds),
        "score": None if score is None else float(score),
    }
