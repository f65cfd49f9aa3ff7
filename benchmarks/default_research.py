"""Which strategy should be the default: the protocol and rule registered in benchmarks/README.md.

Issue 18. Every candidate strategy runs the PRepAL loop on the five shared data sets with a head
whose regularization C is chosen by cross-validation inside the loop (``LogisticRegressionCV`` on
the labels acquired so far, refit every round); test accuracy is read at 100, 200, 500, 1,000 and
2,000 labels over 5 seeds, and the pre-registered rule picks the default from those 25 cells.
``margin`` and ``random`` also run with the learner's default head (C = 1), as a reference that
is not ranked.

Each (data set, candidate, seed) is one saved run,
``benchmarks/results/default_research[-quick]/<data>/<candidate>-seed<k>.json``, skipped when the
script runs again: a stopped run continues where it stopped. The embeddings come from
``learning_curves.py``'s loaders and its on-disk cache (``benchmarks/.cache``), so sets embedded
there are not embedded again.

Usage::

    python benchmarks/default_research.py                 # the research (hours: run it alone)
    python benchmarks/default_research.py --quick         # TREC-6, 2 seeds, to 500 labels
    python benchmarks/default_research.py --report-only   # tabulate saved runs, apply the rule
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _records import load_record, provenance, save_record
from learning_curves import DATASETS, EMBEDDING, LazyEmbedding
from loop import cpu_description
from scipy.stats import rankdata
from sklearn.linear_model import LogisticRegressionCV
from threadpoolctl import threadpool_limits

import skprepal
from skprepal import FrozenLLMTransformer, PRepALLearner
from skprepal.evaluation import format_mean_std, simulation_curve
from skprepal.strategies import ColdStartSwitch

HERE = Path(__file__).resolve().parent
RULE_SETS = ["sst2", "ag_news", "trec", "qnli", "imdb"]
BUDGETS = [100, 200, 500, 1000, 2000]
CS = [0.1, 1.0, 10.0, 100.0, 1000.0]
#: Candidates: learner settings besides the head. The TypiClust ones start cold.
CANDIDATES = {
    "random": {"query_strategy": "random"},
    "margin": {"query_strategy": "margin"},
    "entropy": {"query_strategy": "entropy"},
    "badge": {"query_strategy": "badge"},
    "cluster_margin": {"query_strategy": "cluster_margin"},
    "class_balanced_margin": {"query_strategy": "class_balanced_margin"},
    "typiclust": {"query_strategy": "typiclust", "initial_strategy": "typiclust"},
    "typiclust_margin": {
        "query_strategy": ColdStartSwitch(cold="typiclust", warm="margin", switch_at=200),
        "initial_strategy": "typiclust",
    },
}
#: Reference runs with the learner's default head (C = 1): reported, never ranked.
REFERENCES = {"margin (C = 1)": "margin", "random (C = 1)": "random"}
#: The incumbent, and how much better in mean rank a challenger must be to replace it.
INCUMBENT, CHANGE_MARGIN = "margin", 0.5


def cv_head() -> LogisticRegressionCV:
    """The research head: C by 3-fold CV (log-loss) on the labels acquired so far."""
    return LogisticRegressionCV(
        Cs=CS,
        cv=3,
        scoring="neg_log_loss",
        solver="newton-cg",
        max_iter=1000,
        l1_ratios=(0.0,),
        use_legacy_attributes=False,
    )


def run_one(path: Path, X, y, X_test, y_test, settings: dict, seed: int, budget: int, head):
    """One simulation, saved to ``path``: accuracy per round, timings, the last round's C."""
    start = time.perf_counter()
    learner = PRepALLearner(
        head, batch_size=50, initial_size=50, budget=budget, random_state=seed, **settings
    )
    with warnings.catch_warnings():
        # Rare classes have fewer labels than CV folds early on: expected, and handled by CV.
        warnings.filterwarnings("ignore", message="The least populated class")
        curve = simulation_curve(learner, X, y, X_test, y_test)
    final = curve.learner.estimator_
    record = {
        "n_labeled": curve.n_labeled.tolist(),
        "score": curve.scores.tolist(),
        "fit_seconds": curve.total_fit_seconds,
        "query_seconds": curve.total_query_seconds,
        "wall_seconds": time.perf_counter() - start,
        "final_C": float(np.ravel(final.C_)[0]) if hasattr(final, "C_") else 1.0,
    }
    return save_record(path, record)


def at_budgets(record: dict, budgets: list[int]) -> np.ndarray:
    n_labeled = np.asarray(record["n_labeled"])
    return np.array([record["score"][int(np.flatnonzero(n_labeled == b)[0])] for b in budgets])


def apply_rule(cells: dict[tuple[str, int], dict[str, np.ndarray]], query_seconds: dict) -> dict:
    """The registered rule over ``cells[(data, budget)][candidate] = per-seed accuracies``."""
    names = list(next(iter(cells.values())))
    ranks = {name: [] for name in names}
    behind: dict[str, list[str]] = {name: [] for name in names if name != "random"}
    for (data, budget), scores in cells.items():
        means = np.array([scores[name].mean() for name in names])
        for name, rank in zip(names, rankdata(-means), strict=True):
            ranks[name].append(float(rank))
        base = scores["random"]
        for name in behind:
            ours = scores[name]
            pooled = np.sqrt((ours.std(ddof=1) ** 2 + base.std(ddof=1) ** 2) / 2)
            deficit = base.mean() - ours.mean()
            if deficit > pooled:
                behind[name].append(f"{data} at {budget} ({100 * deficit:.1f} points behind)")
    mean_rank = {name: float(np.mean(r)) for name, r in ranks.items()}
    eligible = [name for name, cells_behind in behind.items() if not cells_behind]
    if not eligible:
        verdict, reason = INCUMBENT, "no candidate is eligible (each falls behind random somewhere)"
    else:
        best = min(
            eligible,
            key=lambda name: (round(mean_rank[name], 2), query_seconds.get(name, np.inf)),
        )
        if best == INCUMBENT:
            verdict, reason = INCUMBENT, "margin has the best mean rank among eligible candidates"
        elif INCUMBENT in eligible and mean_rank[INCUMBENT] - mean_rank[best] < CHANGE_MARGIN:
            verdict = INCUMBENT
            reason = (
                f"{best} has the best mean rank ({mean_rank[best]:.2f}) but beats margin's "
                f"({mean_rank[INCUMBENT]:.2f}) by less than {CHANGE_MARGIN}"
            )
        else:
            verdict = best
            reason = f"{best} has the best mean rank among eligible candidates"
            if INCUMBENT not in eligible:
                reason += " (margin is not eligible)"
    return {
        "mean_rank": mean_rank, "behind": behind, "eligible": eligible,
        "default": verdict, "reason": reason,
    }


#: Pairs compared cell by cell in the report: (first, second) as the table rows name them.
PAIRS = [
    ("class_balanced_margin", "margin"),
    ("class_balanced_margin", "random"),
    ("margin", "random"),
    ("margin", "margin (C = 1)"),
    ("random", "random (C = 1)"),
]


def pairwise_lines(all_runs: dict[tuple[str, int], dict[str, np.ndarray]]) -> list[str]:
    """Mean accuracy differences of PAIRS over the cells both ran, by data set and budget."""
    lines = [
        "## Pairs, cell by cell", "",
        "Difference of the seed means, in points of accuracy (first minus second), over the "
        "cells both ran; wins and losses count cells.", "",
        "| first − second | cells | mean | wins | losses | by set | by budget |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for first, second in PAIRS:
        diffs = {
            cell: 100 * (runs[first].mean() - runs[second].mean())
            for cell, runs in all_runs.items() if first in runs and second in runs
        }
        if not diffs:
            continue
        values = np.array(list(diffs.values()))

        def by(position: int, diffs=diffs) -> str:
            groups: dict = {}
            for cell, d in diffs.items():
                groups.setdefault(cell[position], []).append(d)
            return ", ".join(f"{g} {np.mean(v):+.2f}" for g, v in groups.items())

        lines.append(
            f"| {first} − {second} | {values.size} | {values.mean():+.2f} | "
            f"{int((values > 0).sum())} | {int((values < 0).sum())} | {by(0)} | {by(1)} |"
        )
    return lines + [""]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="TREC-6, 2 seeds, to 500 labels")
    parser.add_argument("--datasets", nargs="+", default=None, choices=RULE_SETS)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=CANDIDATES)
    parser.add_argument("--no-references", action="store_true", help="skip the C = 1 rows")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache-dir", default=str(HERE / ".cache"))
    parser.add_argument("--report-only", action="store_true", help="run nothing; tabulate")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    datasets = args.datasets or (["trec"] if args.quick else RULE_SETS)
    seeds = 2 if args.quick else 5
    budgets = [b for b in BUDGETS if b <= (500 if args.quick else 2000)]
    budget = budgets[-1]
    tag = "default_research-quick" if args.quick else "default_research"
    results = HERE / "results" / tag
    given = sys.argv[1:] if argv is None else list(argv)
    command = " ".join(["python benchmarks/default_research.py", *given])
    lines = [
        f"# Which strategy should be the default ({'quick mode' if args.quick else 'research'})",
        "",
        f"Command: `{command}` · skprepal {skprepal.__version__} · {cpu_description()}, "
        f"{args.threads} threads · frozen all-MiniLM-L6-v2 embeddings · "
        f"head `LogisticRegressionCV(Cs={CS}, cv=3, scoring='neg_log_loss')` refit every round "
        f"(C chosen by CV on the acquired labels) · 50 initial labels + 50 per round to {budget}"
        f" · {seeds} seeds · test accuracy, mean ± std over seeds. The rule is in "
        "[../README.md](../README.md#default_researchpy--which-strategy-should-be-the-default-issue-18).",
        "",
    ]
    if args.quick:
        lines += [
            "**Quick mode: one data set and two seeds. This proves the script runs; it is not "
            "the research, and the rule's verdict below is an illustration of the mechanics, not "
            "a choice of default.**",
            "",
        ]
    cells: dict[tuple[str, int], dict[str, np.ndarray]] = {}
    all_runs: dict[tuple[str, int], dict[str, np.ndarray]] = {}
    query_seconds: dict[str, list[float]] = {}
    saved: list[dict] = []
    runs_wanted = {**{c: (CANDIDATES[c], "cv") for c in args.candidates}}
    if not args.no_references:
        runs_wanted.update({ref: (CANDIDATES[base], "default") for ref, base in REFERENCES.items()})
    with threadpool_limits(limits=args.threads):
        for key in datasets:
            name, load_train, load_test = DATASETS[key]
            (texts, y), (texts_test, y_test) = load_train(), load_test()
            # fp32 whatever "auto" means on this CPU: runs made on different machines (bf16
            # where AMX is) would otherwise rank strategies on different vectors.
            embedder = FrozenLLMTransformer(
                cache_dir=args.cache_dir, batch_size=64, precision="fp32", **EMBEDDING.get(key, {})
            )
            embedding = LazyEmbedding(embedder, texts, texts_test)
            folder = results / key
            folder.mkdir(parents=True, exist_ok=True)
            table: dict[str, np.ndarray] = {}
            final_c: dict[str, list[float]] = {}
            for label, (settings, head_kind) in runs_wanted.items():
                stem = label if head_kind == "cv" else f"{REFERENCES[label]}-c1"
                per_seed = []
                for seed in range(seeds):
                    path = folder / f"{stem}-seed{seed}.json"
                    record = load_record(path)
                    if record is None or record["n_labeled"][-1] != budget:
                        if args.report_only:
                            continue
                        X, X_test = embedding.vectors
                        head = cv_head() if head_kind == "cv" else None
                        record = run_one(path, X, y, X_test, y_test, settings, seed, budget, head)
                        print(f"{name} {label} seed {seed}: {record['score'][-1]:.3f} "
                              f"({record['wall_seconds']:.0f} s)", flush=True)
                    per_seed.append(at_budgets(record, budgets))
                    saved.append(record)
                    final_c.setdefault(label, []).append(record["final_C"])
                    if head_kind == "cv":
                        query_seconds.setdefault(label, []).append(record["query_seconds"])
                if len(per_seed) == seeds:
                    table[label] = np.array(per_seed)
            if not table:
                continue
            lines += [
                f"## {name}: pool {len(y):,}, test {len(y_test):,}",
                "",
                "| candidate | " + " | ".join(f"{b} labels" for b in budgets)
                + f" | C chosen at {budget} (per seed) |",
                "|---|" + "---:|" * (len(budgets) + 1),
            ]
            for label, scores in table.items():
                cells_text = [format_mean_std(s.mean(), s.std(ddof=1)) for s in scores.T]
                c_text = ", ".join(f"{c:g}" for c in final_c[label])
                lines.append(f"| {label} | " + " | ".join(cells_text) + f" | {c_text} |")
            lines += ["", "(± is the sample standard deviation over seeds, ddof = 1.)", ""]
            for j, b in enumerate(budgets):
                ranked = {c: table[c][:, j] for c in args.candidates if c in table}
                if len(ranked) == len(args.candidates):
                    cells[(key, b)] = ranked
                all_runs[(key, b)] = {c: scores[:, j] for c, scores in table.items()}
    complete = {d for d, _ in cells} == set(RULE_SETS) and seeds == 5
    if cells and "random" in next(iter(cells.values())):
        medians = {c: float(np.median(v)) for c, v in query_seconds.items()}
        rule = apply_rule(cells, medians)
        lines += [
            "## The rule applied" + ("" if complete else " (to an incomplete grid: illustration)"),
            "",
            f"{len(cells)} cells (data set × budget) of the registered 25"
            + ("." if complete else "; the verdict counts only when all 25 are in, 5 seeds each."),
            "",
            "| candidate | mean rank | eligible | cells behind random by more than seed noise |",
            "|---|---:|---|---|",
        ]
        for c in sorted(rule["mean_rank"], key=rule["mean_rank"].get):
            status = "baseline" if c == "random" else ("yes" if c in rule["eligible"] else "no")
            where = "" if c == "random" else "; ".join(rule["behind"][c]) or "none"
            lines.append(f"| {c} | {rule['mean_rank'][c]:.2f} | {status} | {where} |")
        lines += [
            "",
            f"Verdict{'' if complete else ' (illustration only)'}: **{rule['default']}**: "
            f"{rule['reason']}.",
            "",
        ]
    lines += pairwise_lines(all_runs)
    lines += [provenance(saved), ""]
    out = HERE / "results" / f"{tag}.md"
    out.write_text("\n".join(lines))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
