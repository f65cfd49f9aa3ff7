"""The main job run by ``make demo``: the whole PRepAL protocol on the shipped long-tail tickets.

The sample (:func:`~skprepal.datasets.load_support_tickets`: 1,740 tickets, 12 classes from 16.7%
down to 1.7%) is shaped like a real support queue, where the rare classes are what random
labeling misses. So the demo reports macro-F1 (every class counts the same) beside accuracy,
and how many tickets of the rare classes each strategy had labeled.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, make_scorer

from skprepal._protocol import COMPARED_STRATEGIES, ProtocolResult, format_table, run_protocol
from skprepal.datasets import load_support_tickets
from skprepal.embedding import DEFAULT_MODEL, FrozenLLMTransformer
from skprepal.evaluation import format_mean_std, learning_curve_from_order

__all__ = ["run_demo"]

# Small enough to finish in a few minutes on 2 CPU cores, large enough to show the curves part.
DEMO_SETTINGS = {
    "strategies": COMPARED_STRATEGIES,
    "seeds": 3,
    "initial_size": 25,
    "batch_size": 25,
    "budget": 200,
    "test_size": 435,
}
#: A class is rare if it holds this share of the sample or less (3 of the 12 classes).
RARE_SHARE = 0.03
#: Macro-F1 with 0 for a class never predicted (no warning: early heads miss rare classes).
MACRO_F1 = make_scorer(f1_score, average="macro", zero_division=0)
#: TransferFineTuner's defaults (3 epochs, at least 320 steps), with the tickets' length: 4 epochs
#: of 200 labels alone (52 steps) left the fine-tuned model 30 points behind the head.
DEMO_FINETUNE = {"max_length": 64, "random_state": 0}


def _settings_text(settings: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in settings.items())


def run_demo(
    *,
    model: str = DEFAULT_MODEL,
    cache_dir: str | None = None,
    out_dir: str | Path = "skprepal-demo",
    finetune: bool = True,
    echo: Callable[[str], None] = print,
    data: tuple[Any, Any] | None = None,
) -> ProtocolResult:
    """Embed the sample once, run the AL loop for four strategies, fine-tune the final model.

    Parameters
    ----------
    model : str, default=DEFAULT_MODEL
        Encoder for the embeddings and the fine-tuned final model.
    cache_dir : str or None, default=None
        Embedding cache folder; None uses a fresh temporary one.
    out_dir : str or path-like, default="skprepal-demo"
        Where the learning-curve plot goes.
    finetune : bool, default=True
        Run the final fine-tuning phase.
    echo : callable, default=print
        Where the report lines go.
    data : tuple (texts, labels) or None, default=None
        The labeled texts to run on; None is the shipped long-tail sample. (A stratified subset
        checks the demo's code path in seconds.)

    Returns
    -------
    ProtocolResult
        The curves, acquired sets, timings and final scores; ``macro_f1`` (strategy -> array of
        shape (seeds, budgets)) is added to it.
    """
    X, y = load_support_tickets(return_X_y=True) if data is None else data
    settings = DEMO_SETTINGS
    echo(
        f"skprepal demo: {len(X)} support tickets, {len(set(y))} classes; model {model}\n"
        f"PRepAL: embed once, then {settings['initial_size']} random labels + "
        f"{settings['batch_size']} per round up to {settings['budget']}, "
        f"{settings['seeds']} seeds, strategies {', '.join(settings['strategies'])}; "
        f"{settings['test_size']} tickets held out.\n"
    )
    with tempfile.TemporaryDirectory(prefix="skprepal-demo-cache-") as tmp:
        result = run_protocol(
            X, y, model=model, cache_dir=cache_dir or tmp, out_dir=out_dir,
            finetune=DEMO_FINETUNE if finetune else None, echo=echo, **settings,
        )
        # The same embedder and cache as the protocol's: every vector comes from the cache.
        vectors = FrozenLLMTransformer(model, cache_dir=cache_dir or tmp).fit_transform(X)
    result.macro_f1 = _macro_f1_curves(result, vectors, np.asarray(y))
    echo("\nLearning curves: test accuracy, mean ± std over seeds\n")
    echo(result.curve_table())
    echo("\nLearning curves: test macro-F1 (every class counts the same), mean ± std over seeds\n")
    echo(_table(result.budgets, result.macro_f1))
    echo("\n" + _rare_class_report(result, np.asarray(y)))
    echo("\n" + _reading(result))
    if result.final_scores:
        echo(
            f"\nFinal model: the head vs {model} fine-tuned on the same {settings['budget']} "
            f"labels (seed 0; TransferFineTuner's defaults with {_settings_text(DEMO_FINETUNE)})\n"
        )
        echo(result.final_table())
        echo("\n" + result.final_verdict())
    echo(
        "\nWall-clock per phase "
        "(2 CPU cores in our runs; one embedding pass serves every strategy)\n"
    )
    echo(result.timing_table())
    echo(f"\nPlot of the learning curves: {Path(out_dir).resolve() / 'learning_curves.png'}")
    return result


def _macro_f1_curves(
    result: ProtocolResult, vectors: np.ndarray, labels: np.ndarray
) -> dict[str, np.ndarray]:
    """Macro-F1 of the head after every round: each run's acquisition order replayed."""
    from skprepal.learner import _default_head

    test = np.setdiff1d(np.arange(labels.shape[0]), result.train_rows)
    curves: dict[str, np.ndarray] = {}
    for strategy, accuracy in result.curves.items():
        runs = []
        for seed in range(accuracy.shape[0]):
            with warnings.catch_warnings():
                # Early rounds hold fewer than two labels of some classes: expected here.
                warnings.filterwarnings("ignore", message="The number of unique classes")
                curve = learning_curve_from_order(
                    _default_head(), vectors, labels, result.acquired[(strategy, seed)],
                    result.budgets, vectors[test], labels[test], scoring=MACRO_F1,
                )
            runs.append(curve["score"])
        curves[strategy] = np.array(runs)
    return curves


def _table(budgets: np.ndarray, curves: dict[str, np.ndarray]) -> str:
    header = ["labels", *curves]
    rows = [
        [str(b), *(format_mean_std(c[:, i].mean(), c[:, i].std()) for c in curves.values())]
        for i, b in enumerate(budgets)
    ]
    return format_table(header, rows)


def _rare(labels: np.ndarray) -> list[str]:
    names, counts = np.unique(labels, return_counts=True)
    return [str(n) for n, c in zip(names, counts, strict=True) if c <= RARE_SHARE * len(labels)]


def _rare_class_report(result: ProtocolResult, labels: np.ndarray) -> str:
    """Tickets of the rare classes among each strategy's labels, at the last budget."""
    rare = _rare(labels)
    pool = labels[result.train_rows]
    in_pool = int(np.isin(pool, rare).sum())
    budget = int(result.budgets[-1])
    lines = [
        f"Rare classes ({', '.join(rare) or 'none'}: each {RARE_SHARE:.0%} of the tickets or "
        f"less; {in_pool} of the {len(pool)} in the pool, so {budget} random labels hold "
        f"{budget * in_pool / len(pool):.1f} of them on average). Labeled at {budget}, mean over "
        "seeds:",
        "",
        "",
    ]
    rows = []
    for strategy in result.curves:
        seeds = [k for (s, k) in result.acquired if s == strategy]
        got = [labels[result.acquired[(strategy, k)][:budget]] for k in seeds]
        tickets = np.mean([np.isin(g, rare).sum() for g in got])
        covered = np.mean([len(set(g.tolist()) & set(rare)) for g in got])
        rows.append([strategy, f"{tickets:.1f}", f"{covered:.1f} of {len(rare)}"])
    return "\n".join(lines) + format_table(["strategy", "rare tickets", "rare classes seen"], rows)


def _reading(result: ProtocolResult) -> str:
    """What the run shows, from its own numbers: each strategy against random, at the end."""
    if "random" not in result.curves:
        return ""
    budget = int(result.budgets[-1])
    lines = [f"Reading it: at {budget} labels, against random (mean over seeds; a gap within "
             "the seeds' spread, the larger std of the two, is a tie):"]
    for strategy in result.curves:
        if strategy == "random":
            continue
        parts = []
        for metric, curves in (("accuracy", result.curves), ("macro-F1", result.macro_f1)):
            ours, base = curves[strategy][:, -1], curves["random"][:, -1]
            gap = ours.mean() - base.mean()
            spread = max(ours.std(), base.std())
            word = "tie" if abs(gap) <= spread else ("ahead" if gap > 0 else "behind")
            parts.append(f"{metric} {100 * gap:+.1f} points ({word})")
        lines.append(f"  {strategy}: " + ", ".join(parts))
    return "\n".join(lines)
