"""Curves over several seeds: mean and standard deviation as table rows, and as a plot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from skprepal.exceptions import InvalidInputError

__all__ = ["format_mean_std", "plot_learning_curves", "summarize_curves"]


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
