"""
Acquire once, fine-tune anything
================================

The labels PRepAL acquires on frozen MiniLM embeddings can train any final model. Here we
acquire 150 labels of the shipped support tickets with margin sampling on MiniLM embeddings, then
train three different final models on them — MiniLM fine-tuned, MPNet fine-tuned (a different
architecture, when its weights are installed) and a TF-IDF + logistic regression pipeline (no
neural network at all) — and compare each with the same model trained on 150 random tickets.

Whether the acquired set beats a random one depends on the data. This sample is small (500
tickets to pick from), balanced, and has deliberately ambiguous tickets that margin sampling
seeks out, so random labels are hard to beat here; the benchmarks measure the same comparison on
larger real pools. The point of the example is the workflow: one acquisition, any final model.
"""

# %%
# Embed once, acquire 150 labels with margin sampling, and draw a random set of the same size.
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skprepal import FrozenLLMTransformer, PRepALLearner, TransferFineTuner
from skprepal.datasets import load_sample_texts

X, y = load_sample_texts(return_X_y=True)
X_pool, X_test, y_pool, y_test = train_test_split(X, y, test_size=170, random_state=0, stratify=y)
embeddings = FrozenLLMTransformer().fit_transform(X_pool)

BUDGET = 150
learner = PRepALLearner(query_strategy="margin", batch_size=25, initial_size=25, budget=BUDGET,
                        random_state=0).fit(embeddings, y_pool)
acquired = learner.labeled_indices_
random_rows = np.random.default_rng(0).choice(len(X_pool), BUDGET, replace=False)

# %%
# Final models. MPNet comes from ``../shared/tools/get-mpnet.sh`` (or the folder named by
# ``SKPREPAL_MPNET``); without it that row is skipped.
mpnet = Path(
    os.environ.get("SKPREPAL_MPNET", "~/.cache/skprepal-models/all-mpnet-base-v2")
).expanduser()
final_models = {
    "MiniLM, fine-tuned": lambda: TransferFineTuner(epochs=4, max_length=64, learning_rate=1e-4,
                                                     random_state=0),
    "TF-IDF + logistic regression": lambda: make_pipeline(TfidfVectorizer(ngram_range=(1, 2)),
                                                           LogisticRegression(max_iter=1000)),
}
if (mpnet / "config.json").is_file():
    final_models["MPNet, fine-tuned"] = lambda: TransferFineTuner(
        mpnet, epochs=4, max_length=64, learning_rate=5e-5, batch_size=16, random_state=0
    )
else:
    print(f"MPNet not found at {mpnet}: run ../shared/tools/get-mpnet.sh to add it.")

results = {}
for name, make in final_models.items():
    scores = []
    for rows in (acquired, random_rows):
        model = make().fit(X_pool[rows], y_pool[rows])
        scores.append(model.score(X_test, y_test))
    results[name] = scores

print(
    f"{'final model':32s} {'PRepAL-acquired':>16s} {'random':>8s}"
    f"  (test accuracy, {BUDGET} labels)"
)
for name, (ours, rand) in results.items():
    print(f"{name:32s} {ours:16.3f} {rand:8.3f}")

# %%
# The same comparison as a chart.
fig, ax = plt.subplots(figsize=(6, 4))
names = list(results)
positions = np.arange(len(names))
ax.barh(positions + 0.2, [results[n][0] for n in names], height=0.4,
        label="acquired with PRepAL (MiniLM)")
ax.barh(positions - 0.2, [results[n][1] for n in names], height=0.4, label="random")
ax.set_yticks(positions, names)
ax.set_xlabel(f"test accuracy, {BUDGET} labels")
ax.set_xlim(0, 1)
# Below the axes, so that it never covers a bar.
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize=8, frameon=False)
fig.tight_layout()
plt.show()
