"""The PRepAL protocol end to end, shared by ``make demo`` and ``skprepal simulate``.

Embed every text once, run the active-learning loop for several strategies and seeds on the
frozen vectors, then fine-tune the final model on the best strategy's acquired labels and on a
random set of the same size. Every phase is timed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from skprepal.embedding import DEFAULT_MODEL, FrozenLLMTransformer
from skprepal.evaluation import format_mean_std, plot_learning_curves, simulation_curve
from skprepal.exceptions import InvalidInputError
from skprepal.learner import PRepALLearner

__all__ = ["ProtocolResult", "run_protocol"]


@dataclass
class ProtocolResult:
    """What :func:`run_protocol` measured."""

    budgets: np.ndarray
    curves: dict[str, np.ndarray]
    acquired: dict[tuple[str, int], np.ndarray]
    timings: dict[str, float]
    best_strategy: str
    final_scores: dict[str, float] = field(default_factory=dict)
    train_rows: np.ndarray | None = None

    def curve_table(self) -> str:
        """Labels × strategy, mean ± std test accuracy over seeds."""
        names = list(self.curves)
        header = ["labels", *names]
        rows = [
            [
                str(b),
                *(
                    format_mean_std(self.curves[n][:, i].mean(), self.curves[n][:, i].std())
                    for n in names
                ),
            ]
            for i, b in enumerate(self.budgets)
        ]
        return format_table(header, rows)

    def timing_table(self) -> str:
        """Wall-clock seconds per phase."""
        total = sum(self.timings.values())
        rows = [
            [phase, f"{seconds:.2f}", f"{seconds / total:.0%}"]
            for phase, seconds in self.timings.items()
        ]
        rows.append(["total", f"{total:.2f}", "100%"])
        return format_table(["phase", "seconds", "share"], rows)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with aligned columns (first column left, the others right)."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def run_protocol(
    texts: np.ndarray,
    labels: np.ndarray,
    *,
    strategies: Sequence[str] = ("random", "entropy", "margin", "badge"),
    seeds: int = 3,
    initial_size: int = 25,
    batch_size: int = 25,
    budget: int = 200,
    test_size: float | int = 0.25,
    model: str = DEFAULT_MODEL,
    cache_dir: str | None = None,
    pair_encoding: str = "joint",
    finetune: dict[str, Any] | None = None,
    out_dir: str | Path | None = None,
    echo: Callable[[str], None] = print,
) -> ProtocolResult:
    """Run PRepAL on labeled texts as a simulation and measure each phase.

    Parameters
    ----------
    texts : ndarray of object, shape (n,) or (n, 2)
        Texts or text pairs.
    labels : ndarray of shape (n,)
        Their labels (the oracle).
    strategies : sequence of str
        Strategy names; ``"random"`` is the baseline the others are compared with.
    seeds : int
        Repeats of every strategy with different random initial samples.
    initial_size, batch_size, budget : int
        As in :class:`~skprepal.PRepALLearner`.
    test_size : float or int
        Held-out share (or count) of the data, stratified, scored after every round.
    model : str
        Encoder for the frozen embeddings and the fine-tuned final model.
    cache_dir : str or None
        Embedding cache folder.
    pair_encoding : {"joint", "separate"}
        How :class:`~skprepal.FrozenLLMTransformer` embeds text pairs.
    finetune : dict or None
        Keyword arguments of :class:`~skprepal.TransferFineTuner` for the final models; None skips
        the fine-tuning phase.
    out_dir : str, path-like or None
        Where to write ``learning_curves.png``; None writes nothing.
    echo : callable
        Receives progress lines.

    Returns
    -------
    ProtocolResult
    """
    labels = np.asarray(labels)
    rows = np.arange(len(labels))
    try:
        train, test = train_test_split(rows, test_size=test_size, random_state=0, stratify=labels)
    except ValueError as exc:
        raise InvalidInputError(f"cannot hold out a stratified test set: {exc}") from None
    if budget > len(train):
        raise InvalidInputError(
            f"budget={budget} exceeds the {len(train)} training rows left after holding out "
            f"{len(test)} for testing; lower the budget."
        )
    timings: dict[str, float] = {}
    start = time.perf_counter()
    embedder = FrozenLLMTransformer(model, cache_dir=cache_dir, pair_encoding=pair_encoding)
    vectors = embedder.fit_transform(texts)
    timings["embedding (once)"] = time.perf_counter() - start
    echo(f"embedded {len(texts)} texts once in {timings['embedding (once)']:.1f} s")

    curves: dict[str, np.ndarray] = {}
    acquired: dict[tuple[str, int], np.ndarray] = {}
    fit_seconds = query_seconds = 0.0
    bar = tqdm(
        total=len(strategies) * seeds,
        desc="Simulating",
        unit="run",
        leave=False,
        disable=not sys.stderr.isatty(),
    )
    for strategy in strategies:
        runs = []
        for seed in range(seeds):
            bar.update(1)
            learner = PRepALLearner(
                query_strategy=strategy,
                batch_size=batch_size,
                initial_size=initial_size,
                budget=budget,
                random_state=seed,
            )
            curve = simulation_curve(
                learner, vectors[train], labels[train], vectors[test], labels[test]
            )
            runs.append(curve.scores)
            acquired[(strategy, seed)] = train[curve.labeled_indices]
            fit_seconds += curve.total_fit_seconds
            query_seconds += curve.total_query_seconds
        curves[strategy] = np.array(runs)
        echo(
            f"{strategy}: "
            f"{format_mean_std(curves[strategy][:, -1].mean(), curves[strategy][:, -1].std())}"
            f" at {budget} labels"
        )
    bar.close()
    timings["AL head fits"] = fit_seconds
    timings["AL queries"] = query_seconds
    budgets = curve.n_labeled
    candidates = [s for s in strategies if s != "random"] or list(strategies)
    best = max(candidates, key=lambda s: curves[s][:, -1].mean())
    result = ProtocolResult(budgets, curves, acquired, timings, best, train_rows=train)

    if finetune is not None:
        from skprepal.finetune import TransferFineTuner

        start = time.perf_counter()
        chosen = acquired[(best, 0)]
        random_rows = np.random.default_rng(0).choice(train, size=len(chosen), replace=False)
        for name, picked in ((f"{best} (acquired)", chosen), ("random", random_rows)):
            final = TransferFineTuner(model, **finetune).fit(texts[picked], labels[picked])
            result.final_scores[name] = float(final.score(texts[test], labels[test]))
            echo(
                f"fine-tuned on {len(picked)} {name} labels: "
                f"test accuracy {result.final_scores[name]:.3f}"
            )
        timings["fine-tuning (final models)"] = time.perf_counter() - start

    if out_dir is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        ax = plot_learning_curves(
            curves, budgets, title="PRepAL learning curves (mean ± std over seeds)"
        )
        ax.figure.savefig(out / "learning_curves.png", dpi=120, bbox_inches="tight")
        plt.close(ax.figure)
    return result
