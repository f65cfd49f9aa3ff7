"""The main job run by ``make demo``: the whole PRepAL protocol on the shipped sample tickets."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from skprepal._protocol import ProtocolResult, run_protocol
from skprepal.datasets import load_sample_texts
from skprepal.embedding import DEFAULT_MODEL

__all__ = ["run_demo"]

# Small enough to finish in a few minutes on 2 CPU cores, large enough to show the curves part.
DEMO_SETTINGS = {
    "strategies": ("random", "entropy", "margin", "badge"),
    "seeds": 3,
    "initial_size": 25,
    "batch_size": 25,
    "budget": 200,
    "test_size": 170,
}
DEMO_FINETUNE = {
    "epochs": 4, "max_length": 64, "learning_rate": 1e-4, "batch_size": 16, "random_state": 0
}


def run_demo(
    *,
    model: str = DEFAULT_MODEL,
    cache_dir: str | None = None,
    out_dir: str | Path = "skprepal-demo",
    finetune: bool = True,
    echo: Callable[[str], None] = print,
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

    Returns
    -------
    ProtocolResult
        The curves, acquired sets, timings and final scores.
    """
    X, y = load_sample_texts(return_X_y=True)
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
    echo("\nLearning curves: test accuracy, mean ± std over seeds\n")
    echo(result.curve_table())
    if result.final_scores:
        echo(f"\nFinal model: {model} fine-tuned on {settings['budget']} labels\n")
        for name, score in result.final_scores.items():
            echo(f"  {name:24s} test accuracy {score:.3f}")
    echo(
        "\nWall-clock per phase "
        "(2 CPU cores in our runs; one embedding pass serves every strategy)\n"
    )
    echo(result.timing_table())
    echo(f"\nPlot of the learning curves: {Path(out_dir).resolve() / 'learning_curves.png'}")
    return result
