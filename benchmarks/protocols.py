"""PRepAL vs AL+FT vs random on real data: final models, transfer, overlap and cost.

The paper's comparison scaled to this machine (2 CPU cores), on SST-2 and AG News, one fixed
random pool of ``--pool`` (5,000) training texts per data set shared by every protocol, and
``--seeds`` (3) seeds. A seed fixes the 50 random initial labels (the same rows for every
protocol) and the fine-tuners' seeds.

* **PRepAL**: margin sampling with a LogisticRegression head on frozen all-MiniLM-L6-v2
  embeddings, 50 initial + 50 per round to 2,000 labels.
* **AL+FT**: margin sampling where the model in the loop is all-MiniLM-L6-v2 fine-tuned from its
  pretrained weights on the labels so far, every round (3 epochs but at least 96 optimizer steps,
  the steps of 3 epochs over 500 texts; max_length 128, lr 5e-5, batch 16), 50 + 50 per round to
  500 labels (9 rounds). Its last round's model is its final model at 500. Every other fine-tune
  here uses the same settings.
* **Random**: 50 + 50 per round drawn at random, to 2,000.

Stages, each saved per (data set, seed) under ``benchmarks/results/protocols/<data>/`` and
resumable part by part (a protocol's loop, one final model): a stopped run, or a stage that
gained a part, computes only what its saved record lacks.

``loops``      the three acquisition runs (acquired order, per-round accuracy and seconds);
``final500``   MiniLM fine-tuned on PRepAL's and random's first 500 (AL+FT's is its last round);
``reseed500``  MiniLM fine-tuned 3 more times on each protocol's 500 (AL+FT's too) with other
               fine-tuner seeds: how much of a difference is fine-tuning noise, not the data;
``epochs500``  MiniLM fine-tuned for 10 epochs instead of 3 on each protocol's 500: whether the
               hard examples active learning picks need a longer fine-tune;
``tfidf``      TF-IDF + LogisticRegression on each protocol's set at 500 and 2,000 labels;
``mpnet``      all-mpnet-base-v2 (``../shared/tools/get-mpnet.sh``) fine-tuned on each
               protocol's 500;
``final2000``  MiniLM fine-tuned on PRepAL's and random's 2,000;
``default500``, ``default2000``  MiniLM fine-tuned with ``TransferFineTuner``'s own defaults (3
               epochs but at least 320 steps, max_length 256) on PRepAL's and random's 500 and
               2,000: the default issue 18 set from ``epochs500`` and ``final2000``.

The report (``protocols/README.md`` and PNGs) is rebuilt from whatever has been saved, so it can
be written at any point with ``--report-only``.

Usage::

    python benchmarks/protocols.py                        # everything (hours: run it alone)
    python benchmarks/protocols.py --stages loops final500
    python benchmarks/protocols.py --quick                # 600-row pools, 200 labels, 1 seed
    python benchmarks/protocols.py --report-only
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from _records import load_record, provenance, save_record
from learning_curves import full_pool_score
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline

import skprepal
from skprepal import FrozenLLMTransformer, PRepALLearner, TransferFineTuner
from skprepal.datasets import load_ag_news, load_sst2
from skprepal.embedding import DEFAULT_MODEL
from skprepal.evaluation import acquisition_overlap, format_mean_std, simulation_curve

HERE = Path(__file__).resolve().parent
STAGES = [
    "loops", "final500", "reseed500", "epochs500", "tfidf", "mpnet", "final2000", "default500",
    "default2000",
]
#: Epochs of the ``epochs500`` stage: does a longer fine-tune close the gap between the sets?
LONG_EPOCHS = 10
#: Fine-tuner seeds no other stage uses (those use the data seed 0, 1, 2, ...).
RESEEDS = (1000, 1001, 1002)
MPNET = Path(
    os.environ.get("SKPREPAL_MPNET", "~/.cache/skprepal-models/all-mpnet-base-v2")
).expanduser()


def _subset(data, n: int | None, seed: int):
    if n is None or n >= len(data.target):
        return data.data, data.target
    keep = np.sort(np.random.default_rng(seed).choice(len(data.target), n, replace=False))
    return data.data[keep], data.target[keep]


#: name, loader of (pool texts, labels) given the pool size, loader of the test set.
DATASETS = {
    "sst2": (
        "SST-2",
        lambda n: _subset(load_sst2("train"), n, 0),
        lambda: _subset(load_sst2("dev"), None, 1),
    ),
    "ag_news": (
        "AG News",
        lambda n: _subset(load_ag_news("train"), n, 0),
        lambda: _subset(load_ag_news("test"), 2000, 1),
    ),
}


def _fine_tuner(model, seed: int, min_steps: int, epochs: int = 3) -> TransferFineTuner:
    return TransferFineTuner(
        model,
        epochs=epochs,
        min_steps=min_steps,
        max_length=128,
        learning_rate=5e-5,
        batch_size=16,
        device="cpu",
        random_state=seed,
    )


def _loop(X, y, X_test, y_test, *, strategy, estimator, budget, seed) -> dict:
    learner = PRepALLearner(
        estimator=estimator,
        query_strategy=strategy,
        initial_size=50,
        batch_size=50,
        budget=budget,
        random_state=seed,
    )
    curve = simulation_curve(learner, X, y, X_test, y_test)
    return {
        "n_labeled": curve.n_labeled.tolist(),
        "score": curve.scores.tolist(),
        "fit_seconds": curve.fit_seconds.tolist(),
        "query_seconds": curve.query_seconds.tolist(),
        "acquired": curve.labeled_indices.tolist(),
    }


def _fit_score(make: Callable[[], object], X, y, X_test, y_test) -> dict:
    start = time.perf_counter()
    model = make().fit(X, y)
    fit_seconds = time.perf_counter() - start
    return {"score": float(model.score(X_test, y_test)), "fit_seconds": fit_seconds}


class Run:
    """The saved results of one (data set, seed), computed stage by stage on demand."""

    def __init__(self, folder: Path, seed: int, data, budgets: tuple[int, int]) -> None:
        self.folder, self.seed, self.budgets = folder, seed, budgets
        # Every fine-tune takes at least the steps of 3 epochs over the AL+FT budget: 3 epochs of
        # 50 texts are 12 steps, which leave AL+FT's early models near chance.
        self.min_steps = 3 * -(-budgets[0] // 16)
        self.texts, self.y, self.X, self.texts_test, self.y_test, self.X_test = data

    def path(self, stage: str) -> Path:
        return self.folder / f"{stage}-seed{self.seed}.json"

    def result(self, stage: str) -> dict | None:
        return load_record(self.path(stage))

    def run(self, stage: str) -> None:
        """Compute what is missing of ``stage``, saving after each part (protocol or budget)."""
        saved = self.result(stage) or {}
        jobs = self._jobs(stage)
        if jobs is None:
            return
        for key, job in jobs.items():
            if key not in saved:
                saved[key] = job()
                save_record(self.path(stage), saved)

    def _jobs(self, stage: str) -> dict[str, Callable[[], object]] | None:
        """The parts of ``stage`` by their key in its saved record, each a function computing it."""
        small, large = self.budgets
        if stage == "loops":
            on_vectors = functools.partial(
                _loop,
                self.X,
                self.y,
                self.X_test,
                self.y_test,
                estimator=LogisticRegression(max_iter=1000),
                budget=large,
                seed=self.seed,
            )
            on_texts = functools.partial(
                _loop,
                self.texts,
                self.y,
                self.texts_test,
                self.y_test,
                strategy="margin",
                estimator=_fine_tuner(DEFAULT_MODEL, self.seed, self.min_steps),
                budget=small,
                seed=self.seed,
            )
            return {
                "prepal": functools.partial(on_vectors, strategy="margin"),
                "random": functools.partial(on_vectors, strategy="random"),
                "alft": on_texts,
            }
        loops = self.result("loops")
        if loops is None or not {"prepal", "random", "alft"} <= loops.keys():
            print(f"  {stage} needs the loops stage of seed {self.seed}: skipped", flush=True)
            return None
        texts, y = self.texts, self.y

        def fit(make, protocol, n):
            r = np.asarray(loops[protocol]["acquired"][:n])
            return functools.partial(_fit_score, make, texts[r], y[r], self.texts_test, self.y_test)

        minilm = functools.partial(_fine_tuner, DEFAULT_MODEL, self.seed, self.min_steps)
        if stage == "final500":
            # AL+FT's final MiniLM at 500 is its last round's model.
            return {p: fit(minilm, p, small) for p in ("prepal", "random")}
        if stage == "reseed500":

            def reseeded(protocol):
                return lambda: [
                    fit(
                        functools.partial(_fine_tuner, DEFAULT_MODEL, s, self.min_steps),
                        protocol,
                        small,
                    )()
                    for s in RESEEDS
                ]

            return {p: reseeded(p) for p in ("prepal", "alft", "random")}
        if stage == "epochs500":
            longer = functools.partial(
                _fine_tuner, DEFAULT_MODEL, self.seed, self.min_steps, LONG_EPOCHS
            )
            return {p: fit(longer, p, small) for p in ("prepal", "alft", "random")}
        if stage == "final2000":
            return {p: fit(minilm, p, large) for p in ("prepal", "random")}
        if stage in ("default500", "default2000"):
            library_default = functools.partial(
                TransferFineTuner, DEFAULT_MODEL, device="cpu", random_state=self.seed
            )
            n = small if stage == "default500" else large
            return {p: fit(library_default, p, n) for p in ("prepal", "random")}
        if stage == "tfidf":
            tfidf = lambda: make_pipeline(  # noqa: E731
                TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
                LogisticRegression(max_iter=1000, C=10.0),
            )
            jobs = {f"{p}@{small}": fit(tfidf, p, small) for p in ("prepal", "alft", "random")}
            return jobs | {f"{p}@{large}": fit(tfidf, p, large) for p in ("prepal", "random")}
        if stage == "mpnet":
            if not (MPNET / "config.json").is_file():
                print(f"  MPNet not found at {MPNET}: run ../shared/tools/get-mpnet.sh", flush=True)
                return None
            mpnet = functools.partial(_fine_tuner, MPNET, self.seed, self.min_steps)
            return {p: fit(mpnet, p, small) for p in ("prepal", "alft", "random")}
        raise ValueError(stage)


def _cell(values: list[float], digits: int = 3) -> str:
    if not values:
        return "–"
    return format_mean_std(float(np.mean(values)), float(np.std(values)), digits)


def _table_by_budget(title: str, budgets: list[int], columns: dict[str, np.ndarray]) -> list[str]:
    """A Markdown table with a row per budget and a mean ± std column per (seeds x budgets) array."""
    return [
        f"### {title}",
        "",
        "| labels | " + " | ".join(columns) + " |",
        "|---:|" + "---:|" * len(columns),
        *[
            f"| {k} | " + " | ".join(_cell(c[:, i].tolist()) for c in columns.values()) + " |"
            for i, k in enumerate(budgets)
        ],
        "",
    ]


def _report(runs: list[Run], name: str, key: str, embed_seconds: float, results: Path) -> list[str]:
    loops = [r.result("loops") for r in runs]
    loops = [lp for lp in loops if lp is not None]
    if not loops:
        return [f"## {name}: no finished runs yet", ""]
    small, large = runs[0].budgets
    pool, test = len(runs[0].y), len(runs[0].y_test)
    n = loops[0]["alft"]["n_labeled"]
    saved = [r.result(stage) for r in runs for stage in STAGES]
    lines = [
        f"## {name}: pool {pool:,}, test {test:,}, {len(loops)} seeds",
        "",
        provenance(s for s in saved if s is not None),
        "",
    ]

    # Learning curves of the three protocols up to the AL+FT budget.
    def curve(protocol: str) -> np.ndarray:
        return np.array([lp[protocol]["score"][: len(n)] for lp in loops])

    curves = {
        "PRepAL (LR on frozen MiniLM)": curve("prepal"),
        "AL+FT (MiniLM fine-tuned)": curve("alft"),
        "random (LR on frozen MiniLM)": curve("random"),
    }
    lines += [
        *_table_by_budget("Accuracy of the model in the loop, per round", n, curves),
        "PRepAL's and random's loop models are LogisticRegression on frozen embeddings; AL+FT's "
        "is the fine-tuned MiniLM, so this table compares the loops, not the data. The final-model "
        "table below compares the acquired data with one and the same final model.",
        "",
    ]

    # Final models on each protocol's acquired set.
    def finals(stage: str, protocol: str) -> list[float]:
        saved = [r.result(stage) for r in runs]
        return [s[protocol]["score"] for s in saved if s is not None and protocol in s]

    alft_final = [lp["alft"]["score"][-1] for lp in loops]
    lr_at = lambda p, k: [lp[p]["score"][lp[p]["n_labeled"].index(k)] for lp in loops]  # noqa: E731
    lines += [
        "### Final models on each protocol's acquired set",
        "",
        "| final model | labels | PRepAL set | AL+FT set | random set |",
        "|---|---:|---:|---:|---:|",
        f"| MiniLM fine-tuned | {small} | {_cell(finals('final500', 'prepal'))} | "
        f"{_cell(alft_final)} | {_cell(finals('final500', 'random'))} |",
        f"| MiniLM fine-tuned, {LONG_EPOCHS} epochs | {small} | "
        f"{_cell(finals('epochs500', 'prepal'))} | {_cell(finals('epochs500', 'alft'))} | "
        f"{_cell(finals('epochs500', 'random'))} |",
        f"| MiniLM fine-tuned | {large:,} | {_cell(finals('final2000', 'prepal'))} | – | "
        f"{_cell(finals('final2000', 'random'))} |",
        f"| MiniLM, `TransferFineTuner` defaults | {small} | "
        f"{_cell(finals('default500', 'prepal'))} | – | {_cell(finals('default500', 'random'))} |",
        f"| MiniLM, `TransferFineTuner` defaults | {large:,} | "
        f"{_cell(finals('default2000', 'prepal'))} | – | {_cell(finals('default2000', 'random'))} |",
        f"| MPNet fine-tuned (transfer) | {small} | {_cell(finals('mpnet', 'prepal'))} | "
        f"{_cell(finals('mpnet', 'alft'))} | {_cell(finals('mpnet', 'random'))} |",
        f"| TF-IDF + LR (transfer) | {small} | {_cell(finals('tfidf', f'prepal@{small}'))} | "
        f"{_cell(finals('tfidf', f'alft@{small}'))} | {_cell(finals('tfidf', f'random@{small}'))} |",
        f"| TF-IDF + LR (transfer) | {large:,} | {_cell(finals('tfidf', f'prepal@{large}'))} | – | "
        f"{_cell(finals('tfidf', f'random@{large}'))} |",
        f"| LR on frozen MiniLM (the PRepAL head) | {small} | {_cell(lr_at('prepal', small))} | – | "
        f"{_cell(lr_at('random', small))} |",
        f"| LR on frozen MiniLM (the PRepAL head) | {large:,} | {_cell(lr_at('prepal', large))} | – | "
        f"{_cell(lr_at('random', large))} |",
        "",
        "Mean ± std over the seeds finished for each cell (a dash: not part of the protocol). "
        f"Reference, not active learning: the same LR head fit on all {pool:,} pool labels scores "
        f"{full_pool_score(runs[0].X, runs[0].y, runs[0].X_test, runs[0].y_test):.3f}. "
        "AL+FT's MiniLM at 500 is its last round's model, fine-tuned with the same settings and "
        "seed as the other MiniLM cells.",
        "",
    ]

    lines += _reseed_table(runs, small)

    # What the acquired sets hold: uncertainty sampling skews the classes, which matters to
    # final models other than the head that chose the rows.
    # And how hard they are: the share of rows a head trained on the rest of the pool gets wrong
    # (out-of-fold), i.e. rows the frozen representation places on the wrong side.
    classes = np.unique(runs[0].y)
    misfit = cross_val_predict(LogisticRegression(max_iter=1000), runs[0].X, runs[0].y, cv=5)
    misfit = misfit != runs[0].y
    lines += [
        f"### What the acquired sets hold at {small} labels (mean over seeds)",
        "",
        "| set | " + " | ".join(f"class {c}" for c in classes) + " | misfit rows | mean words |",
        "|---|" + "---:|" * (len(classes) + 2),
    ]
    for protocol, label in (("prepal", "PRepAL"), ("alft", "AL+FT"), ("random", "random")):
        sets = [np.asarray(lp[protocol]["acquired"][:small]) for lp in loops]
        counts = np.mean([[np.sum(runs[0].y[r] == c) for c in classes] for r in sets], axis=0)
        hard = np.mean([misfit[r].mean() for r in sets])
        words = np.mean([np.mean([len(t.split()) for t in runs[0].texts[r]]) for r in sets])
        lines.append(
            f"| {label} | "
            + " | ".join(f"{v:.0f}" for v in counts)
            + f" | {hard:.1%} | {words:.1f} |"
        )
    lines += [
        f"| whole pool, per {small} | "
        + " | ".join(f"{np.mean(runs[0].y == c) * small:.0f}" for c in classes)
        + f" | {misfit.mean():.1%} | "
        f"{np.mean([len(t.split()) for t in runs[0].texts]):.1f} |",
        "",
        "Misfit rows: rows that LogisticRegression on the frozen embeddings of the rest of the "
        "pool (5-fold, out of fold) labels wrongly — ambiguous or mislabeled texts, or texts the "
        "representation misplaces.",
        "",
    ]

    # Overlap of the acquired sets.
    ks = [k for k in n if k > 50]
    overlap = {
        "PRepAL vs AL+FT": np.array(
            [
                acquisition_overlap(lp["prepal"]["acquired"], lp["alft"]["acquired"], ks)
                for lp in loops
            ]
        ),
        "random vs AL+FT": np.array(
            [
                acquisition_overlap(lp["random"]["acquired"], lp["alft"]["acquired"], ks)
                for lp in loops
            ]
        ),
        "PRepAL vs random": np.array(
            [
                acquisition_overlap(lp["prepal"]["acquired"], lp["random"]["acquired"], ks)
                for lp in loops
            ]
        ),
    }
    lines += [
        *_table_by_budget("Jaccard overlap of the acquired index sets", ks, overlap),
        "All three share the same 50 initial rows, which alone give a Jaccard of 50 / (2k - 50) "
        f"({50 / (2 * ks[-1] - 50):.3f} at {ks[-1]}); two independent random draws of {ks[-1]} "
        f"from {pool:,} would share about {ks[-1] / pool:.2f} of their rows beyond that.",
        "",
    ]

    # Cost per round and in total, from the loops' own timings.
    fit = {
        p: np.array([lp[p]["fit_seconds"][: len(n)] for lp in loops]).mean(axis=0)
        for p in ("prepal", "alft")
    }
    query = {
        p: np.array([lp[p]["query_seconds"][: len(n)] for lp in loops]).mean(axis=0)
        for p in ("prepal", "alft")
    }
    lines += [
        "### Wall-clock per round (mean over seeds)",
        "",
        "| labels | PRepAL head fit | PRepAL query | AL+FT fine-tune | AL+FT query (predict the pool) | AL+FT : PRepAL |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for i, k in enumerate(n):
        prepal_s, alft_s = fit["prepal"][i] + query["prepal"][i], fit["alft"][i] + query["alft"][i]
        lines.append(
            f"| {k} | {fit['prepal'][i]:.3f} s | {query['prepal'][i]:.3f} s | {fit['alft'][i]:.1f} s | "
            f"{query['alft'][i]:.1f} s | {alft_s / prepal_s:,.0f}x |"
        )
    prepal_loop = float(fit["prepal"].sum() + query["prepal"].sum())
    alft_loop = float(fit["alft"].sum() + query["alft"].sum())
    final_fit = [
        s["prepal"]["fit_seconds"] for s in (r.result("final500") for r in runs) if s is not None
    ]
    final_s = float(np.mean(final_fit)) if final_fit else float("nan")
    prepal_total = embed_seconds + prepal_loop + final_s
    lines += [
        "",
        f"| to {small} labels, total | seconds |",
        "|---|---:|",
        f"| PRepAL: embed the pool once (no cache) | {embed_seconds:.1f} |",
        f"| PRepAL: {len(n)} head fits + {len(n) - 1} queries | {prepal_loop:.2f} |",
        f"| PRepAL: fine-tune the final MiniLM on its {small} labels | {final_s:.1f} |",
        f"| **PRepAL total** | **{prepal_total:.1f}** |",
        f"| **AL+FT total**: {len(n)} fine-tunes + {len(n) - 1} pool predictions (the last fine-tune is its final model) | **{alft_loop:.1f}** |",
        "",
        f"Loop only, AL+FT : PRepAL = **{alft_loop / prepal_loop:,.0f}x**; everything included "
        f"(PRepAL's embedding and final fine-tune) = **{alft_loop / prepal_total:.1f}x**.",
        "",
        f"![{name}]({key}.png)",
        "",
    ]
    _plot(curves, n, overlap, ks, name, results / f"{key}.png")
    return lines


def _reseed_table(runs: list[Run], small: int) -> list[str]:
    """Each protocol's acquired set fine-tuned with several seeds: data effect vs fine-tune noise."""
    saved = [(r.result("loops"), r.result("reseed500")) for r in runs]
    saved = [(lp, rs) for lp, rs in saved if lp is not None and rs is not None]
    if not saved:
        return []
    lines = [
        f"### Fine-tuning noise: MiniLM fine-tuned {len(RESEEDS)} times on each acquired set "
        f"at {small} labels",
        "",
        "| set | fine-tunes | mean | std within a set (fine-tuner seeds) "
        "| std between sets (data seeds) | worst – best |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for protocol, label in (("prepal", "PRepAL"), ("alft", "AL+FT"), ("random", "random")):
        # sets x fine-tuner seeds
        scores = np.array([[fit["score"] for fit in rs[protocol]] for _, rs in saved])
        between = f"{scores.mean(axis=1).std():.3f}" if len(saved) > 1 else "–"
        lines.append(
            f"| {label} | {scores.size} | {scores.mean():.3f} | {scores.std(axis=1).mean():.3f} "
            f"| {between} | {scores.min():.3f} – {scores.max():.3f} |"
        )
    in_loop = [lp["alft"]["score"][-1] for lp, _ in saved]
    refit = [np.mean([fit["score"] for fit in rs["alft"]]) for _, rs in saved]
    lines += [
        "",
        f"Fine-tuner seeds {', '.join(map(str, RESEEDS))}; {len(saved)} acquired sets per protocol "
        "(one per data seed). AL+FT's own last-round model at "
        f"{small}, per data seed: {', '.join(f'{v:.3f}' for v in in_loop)}; the same sets "
        f"re-fine-tuned (mean of {len(RESEEDS)}): {', '.join(f'{v:.3f}' for v in refit)}.",
        "",
    ]
    return lines


def _plot(curves, n, overlap, ks, name, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skprepal.evaluation import plot_learning_curves

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    plot_learning_curves(curves, n, ax=left, title=f"{name}: model in the loop")
    for label, o in overlap.items():
        right.errorbar(ks, o.mean(axis=0), yerr=o.std(axis=0), marker="o", capsize=3, label=label)
    right.set(
        xlabel="labels",
        ylabel="Jaccard overlap",
        title=f"{name}: acquired-set overlap",
        ylim=(0, 1),
    )
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="600-row pools, 200-row tests, 200 labels, 1 seed"
    )
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--stages", nargs="+", default=STAGES, choices=STAGES)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--pool", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache-dir", default=str(HERE / ".cache"))
    parser.add_argument(
        "--report-only", action="store_true", help="tabulate what is saved, run nothing"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    seeds = args.seeds or (1 if args.quick else 3)
    pool_size = args.pool or (600 if args.quick else 5000)
    budgets = (150, 200) if args.quick else (500, 2000)
    results = HERE / "results" / ("protocols-quick" if args.quick else "protocols")
    given = sys.argv[1:] if argv is None else list(argv)
    lines = [
        f"# PRepAL vs AL+FT vs random ({'quick' if args.quick else 'full'} protocol)",
        "",
        f"Command: `{' '.join(['python benchmarks/protocols.py', *given])}` · skprepal "
        f"{skprepal.__version__} · torch {torch.__version__} · {platform.machine()}, "
        f"{os.cpu_count()} cores, {args.threads} torch threads, CPU · margin sampling, 50 initial + "
        f"50 per round · fine-tuning: 3 epochs but at least {3 * -(-budgets[0] // 16)} steps, "
        "max_length 128, lr 5e-5, batch 16 · accuracy "
        "mean ± std over seeds.",
        "",
    ]
    # fp32 on every CPU, as the saved loops were run ("auto" is bf16 where AMX is).
    embedder = FrozenLLMTransformer(
        cache_dir=args.cache_dir, batch_size=64, precision="fp32", show_progress=False
    )
    for key in args.datasets:
        name, load_pool, load_test = DATASETS[key]
        texts, y = load_pool(pool_size)
        texts_test, y_test = load_test()
        if args.quick:
            texts_test, y_test = texts_test[:200], y_test[:200]
        folder = results / key
        folder.mkdir(parents=True, exist_ok=True)
        embed_record = load_record(folder / "embedding.json")
        if embed_record is None:
            # What a first PRepAL run pays: the pool embedded with no cache.
            start = time.perf_counter()
            FrozenLLMTransformer(batch_size=64, show_progress=False).fit_transform(texts)
            embed_record = save_record(
                folder / "embedding.json", {"seconds": time.perf_counter() - start}
            )
        X, X_test = embedder.fit_transform(texts), embedder.transform(texts_test)
        runs = [
            Run(folder, s, (texts, y, X, texts_test, y_test, X_test), budgets) for s in range(seeds)
        ]
        if not args.report_only:
            for stage in args.stages:
                for run in runs:
                    start = time.perf_counter()
                    run.run(stage)
                    print(
                        f"{name} seed {run.seed} {stage}: {time.perf_counter() - start:.0f} s",
                        flush=True,
                    )
        lines += _report(runs, name, key, embed_record["seconds"], results)
    (results / "README.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
