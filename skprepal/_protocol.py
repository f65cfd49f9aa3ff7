"""The PRepAL protocol end to end, shared by ``make demo`` and ``skprepal simulate``.

Embed every text once, run the active-learning loop for several strategies and seeds on the
frozen vectors, then fine-tune the final model on the best strategy's acquired labels and on a
random set of the same size, and score the head on those same labels beside it. Every phase is
timed. The settings are all checked before anything is embedded.
"""

from __future__ import annotations

import difflib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from skprepal.embedding import DEFAULT_MODEL, FrozenLLMTransformer
from skprepal.evaluation import format_mean_std, plot_learning_curves, simulation_curve
from skprepal.exceptions import InvalidInputError
from skprepal.learner import PRepALLearner

__all__ = [
    "COMPARED_STRATEGIES",
    "ProtocolResult",
    "check_protocol_settings",
    "format_table",
    "markdown_table",
    "run_protocol",
    "versions",
]

#: What the demo and ``skprepal simulate`` compare by default: random (the baseline), the
#: learner's default (``class_balanced_margin``), plain margin and entropy, and BADGE.
COMPARED_STRATEGIES = ("random", "entropy", "margin", "class_balanced_margin", "badge")


@dataclass
class ProtocolResult:
    """What :func:`run_protocol` measured.

    ``final_scores`` and ``head_scores`` share their keys (``"<best strategy> (acquired)"`` and
    ``"random"``): the test accuracy of the fine-tuned model and of the head (logistic regression
    on the frozen embeddings) trained on the same labels. ``final_sizes`` counts those labels.
    """

    budgets: np.ndarray
    curves: dict[str, np.ndarray]
    acquired: dict[tuple[str, int], np.ndarray]
    timings: dict[str, float]
    best_strategy: str
    final_scores: dict[str, float] = field(default_factory=dict)
    train_rows: np.ndarray | None = None
    head_scores: dict[str, float] = field(default_factory=dict)
    final_sizes: dict[str, int] = field(default_factory=dict)
    embedding: dict[str, Any] = field(default_factory=dict)

    def curve_table(self, *, markdown: bool = False) -> str:
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
        return (markdown_table if markdown else format_table)(header, rows)

    def timing_table(self, *, markdown: bool = False) -> str:
        """Wall-clock seconds per phase."""
        total = sum(self.timings.values())
        rows = [
            [phase, f"{seconds:.2f}", f"{seconds / total:.0%}" if total else "-"]
            for phase, seconds in self.timings.items()
        ]
        rows.append(["total", f"{total:.2f}", "100%"])
        return (markdown_table if markdown else format_table)(["phase", "seconds", "share"], rows)

    def final_table(self, *, markdown: bool = False) -> str:
        """Per final label set: the head's and the fine-tuned model's test accuracy."""
        rows = [
            [
                name,
                str(self.final_sizes[name]),
                f"{self.head_scores[name]:.3f}",
                f"{self.final_scores[name]:.3f}",
                _better(self.head_scores[name], self.final_scores[name]),
            ]
            for name in self.final_scores
        ]
        header = ["labels", "n", "head (frozen embeddings)", "fine-tuned model", "better"]
        return (markdown_table if markdown else format_table)(header, rows)

    def final_verdict(self) -> str:
        """One sentence: which final model to keep for the best strategy's labels."""
        name = next(iter(self.final_scores))
        head, tuned = self.head_scores[name], self.final_scores[name]
        gap = 100 * abs(tuned - head)
        if tuned > head:
            return (
                f"On the {name} labels the fine-tuned model beats the head by {gap:.1f} points "
                f"({tuned:.3f} vs {head:.3f}): keep the fine-tuned model."
            )
        return (
            f"On the {name} labels the head (logistic regression on the frozen embeddings) "
            f"{'beats' if head > tuned else 'ties'} the fine-tuned model "
            f"({head:.3f} vs {tuned:.3f}{f', {gap:.1f} points' if gap else ''}): keep the head, "
            "or fine-tune longer (more epochs) and compare again."
        )


def _better(head: float, tuned: float) -> str:
    if tuned > head:
        return "fine-tuned"
    return "head" if head > tuned else "tie"


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with aligned columns (first column left, the others right)."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown pipe table (first column left-aligned, the others right-aligned).

    Examples
    --------
    >>> print(markdown_table(["phase", "seconds"], [["embedding", "4.86"]]))
    | phase | seconds |
    |---|---:|
    | embedding | 4.86 |
    """

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def versions() -> dict[str, str]:
    """Versions of Python and of the packages a protocol run depends on."""
    from importlib import metadata

    found = {"python": sys.version.split()[0]}
    for name in (
        "skprepal", "numpy", "scikit-learn", "torch", "transformers", "sentence-transformers",
    ):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _known_strategy(name: str) -> None:
    from skprepal.strategies import available_strategies, resolve_strategy

    try:
        resolve_strategy(name)
    except InvalidInputError:
        names = available_strategies()
        every = sorted({*names, *(alias for aliases in names.values() for alias in aliases)})
        close = difflib.get_close_matches(str(name).lower(), every, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InvalidInputError(
            f"unknown strategy {name!r} in --strategies; choose from {', '.join(sorted(names))}."
            f"{hint}"
        ) from None


def _check_count(name: str, flag: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise InvalidInputError(f"{name} ({flag}) must be a whole number of at least 1, got "
                                f"{value!r}.")
    return int(value)


def check_protocol_settings(
    labels: np.ndarray,
    *,
    strategies: Sequence[str],
    seeds: int,
    initial_size: int,
    batch_size: int,
    budget: int,
    test_size: float | int,
) -> tuple[np.ndarray, np.ndarray]:
    """Check a protocol's settings against the data; return the train and test rows.

    Nothing is embedded or fit: this runs before any expensive step, so that a bad setting costs
    a second, not an embedding pass. Messages name the command-line flag of each setting.

    Returns
    -------
    train, test : ndarray of int
        Row numbers of the pool and of the stratified held-out set.

    Raises
    ------
    InvalidInputError
        Naming the setting, its value and what would be allowed.

    Examples
    --------
    >>> labels = np.array(["a", "b"] * 50)
    >>> train, test = check_protocol_settings(
    ...     labels, strategies=["random", "margin"], seeds=1, initial_size=10, batch_size=10,
    ...     budget=50, test_size=0.25)
    >>> len(train), len(test)
    (75, 25)
    """
    if not strategies:
        raise InvalidInputError("give at least one strategy (--strategies).")
    for name in strategies:
        _known_strategy(name)
    repeated = sorted({s for s in strategies if list(strategies).count(s) > 1})
    if repeated:
        raise InvalidInputError(f"--strategies names {repeated[0]!r} more than once.")
    _check_count("seeds", "--seeds", seeds)
    initial_size = _check_count("initial_size", "--initial-size", initial_size)
    _check_count("batch_size", "--batch-size", batch_size)
    budget = _check_count("budget", "--budget", budget)
    if budget < initial_size:
        raise InvalidInputError(
            f"the budget ({budget}, --budget) is below the initial labels ({initial_size}, "
            "--initial-size): the budget counts the initial labels, so raise it or lower "
            "--initial-size."
        )
    n = len(labels)
    if isinstance(test_size, bool) or not isinstance(test_size, Real):
        raise InvalidInputError(f"--test-size must be a number, got {test_size!r}.")
    if isinstance(test_size, Integral) or test_size > 1:
        if test_size != int(test_size) or not 1 <= test_size < n:
            raise InvalidInputError(
                f"--test-size {test_size} is neither a share in (0, 1) nor a whole number of "
                f"rows between 1 and {n - 1} (the file has {n} rows)."
            )
        test_size = int(test_size)
    elif not 0 < test_size < 1:
        raise InvalidInputError(f"--test-size {test_size} must be a share in (0, 1) or a count.")
    rows = np.arange(n)
    try:
        train, test = train_test_split(rows, test_size=test_size, random_state=0, stratify=labels)
    except ValueError as exc:
        raise InvalidInputError(f"cannot hold out a stratified test set: {exc}") from None
    if budget > len(train):
        raise InvalidInputError(
            f"the budget of {budget} labels (--budget) exceeds the {len(train)} training rows left "
            f"after holding out {len(test)} of {n} for testing (--test-size); lower the budget "
            f"to at most {len(train)}."
        )
    return train, test


def _embedding_line(n_texts: int, seconds: float, embedder: FrozenLLMTransformer) -> str:
    """Say how many vectors were computed and how many came from the cache."""
    done, cached = embedder.n_embedded_, embedder.n_cached_
    distinct = done + cached
    if done == 0:
        return (
            f"took the embeddings of all {n_texts} texts from the cache in {seconds:.1f} s "
            "(nothing to embed)"
        )
    line = f"embedded {done} texts once in {seconds:.1f} s"
    if cached:
        line += f"; the other {cached} came from the cache"
    if distinct < n_texts:
        line += f" ({n_texts} texts, {distinct} distinct)"
    return line


def run_protocol(
    texts: np.ndarray,
    labels: np.ndarray,
    *,
    strategies: Sequence[str] = COMPARED_STRATEGIES,
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
        the fine-tuning phase. The fine-tuned models are trained on seed 0's labels of the best
        strategy and of ``"random"`` (a random draw of the same size when ``"random"`` is not
        among the strategies); the head's score on the same labels is kept beside theirs.
    out_dir : str, path-like or None
        Where to write ``learning_curves.png``; None writes nothing.
    echo : callable
        Receives progress lines.

    Returns
    -------
    ProtocolResult
    """
    labels = np.asarray(labels)
    if len(labels) != len(texts):
        raise InvalidInputError(f"{len(texts)} texts but {len(labels)} labels.")
    train, test = check_protocol_settings(
        labels, strategies=strategies, seeds=seeds, initial_size=initial_size,
        batch_size=batch_size, budget=budget, test_size=test_size,
    )
    timings: dict[str, float] = {}
    start = time.perf_counter()
    embedder = FrozenLLMTransformer(model, cache_dir=cache_dir, pair_encoding=pair_encoding)
    vectors = embedder.fit_transform(texts)
    timings["embedding (once)"] = time.perf_counter() - start
    echo(_embedding_line(len(texts), timings["embedding (once)"], embedder))

    curves: dict[str, np.ndarray] = {}
    acquired: dict[tuple[str, int], np.ndarray] = {}
    heads: dict[str, Any] = {}
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
            if seed == 0:
                heads[strategy] = curve.learner.estimator_
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
    result = ProtocolResult(
        budgets, curves, acquired, timings, best, train_rows=train,
        embedding={"n_texts": len(texts), "n_embedded": embedder.n_embedded_,
                   "n_cached": embedder.n_cached_},
    )

    if finetune is not None:
        from skprepal.finetune import TransferFineTuner

        start = time.perf_counter()
        chosen = acquired[(best, 0)]
        final_sets = {f"{best} (acquired)": (chosen, float(curves[best][0, -1]))}
        if "random" in curves and best != "random":
            final_sets["random"] = (acquired[("random", 0)], float(curves["random"][0, -1]))
        elif best != "random":
            picked = np.random.default_rng(0).choice(train, size=len(chosen), replace=False)
            head = clone(heads[best]).fit(vectors[picked], labels[picked])
            final_sets["random"] = (picked, float(head.score(vectors[test], labels[test])))
        for name, (picked, head_score) in final_sets.items():
            final = TransferFineTuner(model, **finetune).fit(texts[picked], labels[picked])
            result.final_scores[name] = float(final.score(texts[test], labels[test]))
            result.head_scores[name] = head_score
            result.final_sizes[name] = len(picked)
            echo(
                f"fine-tuned on {len(picked)} {name} labels: "
                f"test accuracy {result.final_scores[name]:.3f} "
                f"(the head on the same labels: {head_score:.3f})"
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
