"""
Comparing query strategies
==========================

Which rows to label next is the query strategy's decision. Here we compare four of them on the
shipped support tickets: ``random`` (the baseline every strategy must beat), ``margin`` and
``entropy`` (uncertainty sampling: rows the head is least sure about) and ``badge`` (uncertainty
and diversity at once, on gradient embeddings).

Following PRepAL, the tickets are embedded **once** with the frozen MiniLM encoder; every run of
the loop below then only refits a logistic-regression head on fixed vectors, so the twelve runs
(four strategies, three seeds) cost no more encoder passes. Each run starts from 25 random labels,
queries 25 tickets per round up to 200 labels, and scores its head on 170 held-out tickets after
every round (``eval_set``).

Whether a strategy beats random depends on the data. This sample is small (500 tickets to pick
from), balanced, and holds deliberately ambiguous tickets, which uncertainty sampling seeks out;
read every difference below against the spread over the seeds. The benchmarks compare the
strategies on larger real data sets.
"""

# %%
# Embed once
# ----------
# One :class:`~skprepal.FrozenLLMTransformer` embeds every ticket; with ``cache_dir`` a second
# run of this script would read the vectors back instead of embedding again.
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from skprepal import FrozenLLMTransformer, PRepALLearner
from skprepal.datasets import load_sample_texts
from skprepal.evaluation import (
    acquisition_overlap,
    format_mean_std,
    plot_learning_curves,
    simulation_curve,
    summarize_curves,
)

X, y = load_sample_texts(return_X_y=True)
cache_dir = tempfile.mkdtemp(prefix="skprepal-example-")
embeddings = FrozenLLMTransformer(cache_dir=cache_dir).fit_transform(X)
E_pool, E_test, y_pool, y_test = train_test_split(
    embeddings, y, test_size=170, random_state=0, stratify=y
)
print(f"pool: {len(y_pool)} tickets, held out: {len(y_test)}, vectors: {E_pool.shape[1]}-d")

# %%
# Run the loop: four strategies, three seeds
# ------------------------------------------
# ``fit`` with every label known simulates labeling: ``y_pool`` is the oracle, revealed 25 rows
# at a time. ``history_`` holds one record per round, with the held-out score.
STRATEGIES = ["random", "margin", "entropy", "badge"]
SEEDS = [0, 1, 2]

curves, orders = {}, {}
for strategy in STRATEGIES:
    scores = []
    for seed in SEEDS:
        learner = PRepALLearner(
            query_strategy=strategy, initial_size=25, batch_size=25, budget=200, random_state=seed
        )
        curve = simulation_curve(learner, E_pool, y_pool, E_test, y_test)
        scores.append(curve.scores)
        orders[strategy, seed] = curve.labeled_indices
    curves[strategy] = np.array(scores)
budgets = curve.n_labeled

pd.DataFrame(curve.learner.history_).drop(columns=["queried", "forgotten", "skipped"]).round(4)

# %%
# The table above is the ``history_`` of the last run (BADGE, seed 2): labels after each round,
# how long the query and the head's fit took, and the held-out accuracy.
#
# Learning curves
# ---------------
# Mean held-out accuracy over the seeds, with a band of one standard deviation.
fig, ax = plt.subplots(figsize=(7, 4.5))
plot_learning_curves(
    curves, budgets, ax=ax, title="Support tickets: logistic regression on frozen MiniLM"
)
fig.tight_layout()
plt.show()

# %%
# The same numbers as a table, at a few budgets: mean ± standard deviation over the seeds.
rows = summarize_curves(curves, budgets)
table = pd.DataFrame(
    [
        {
            "strategy": r["name"],
            "labels": r["budget"],
            "accuracy": format_mean_std(r["mean"], r["std"]),
        }
        for r in rows
        if r["budget"] in (50, 100, 150, 200)
    ]
).pivot(index="strategy", columns="labels", values="accuracy")
table.loc[STRATEGIES]

# %%
# Do the strategies pick the same tickets?
# ----------------------------------------
# :func:`~skprepal.evaluation.acquisition_overlap` measures the Jaccard similarity of the first
# ``k`` rows of two acquisition orders. The first 25 rows are the same random draw for every
# strategy with the same seed, so every pair starts at 1; after that each strategy goes its own
# way.
pairs = [("margin", "entropy"), ("margin", "badge"), ("margin", "random")]
overlap = pd.DataFrame(
    {
        f"{a} vs {b}": np.mean(
            [acquisition_overlap(orders[a, seed], orders[b, seed], budgets) for seed in SEEDS],
            axis=0,
        )
        for a, b in pairs
    },
    index=pd.Index(budgets, name="labels"),
)
overlap.round(2)
