"""The demo's report on the long-tail sample: macro-F1, the rare classes and its own reading.

The full demo (``make demo``) embeds 1,740 tickets and fine-tunes two models; here its code path
runs on a stratified subset with the tiny test model, in seconds.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from skprepal import _demo
from skprepal.datasets import load_support_tickets


@pytest.fixture
def small_demo(monkeypatch):
    X, y = load_support_tickets(return_X_y=True)
    X, _, y, _ = train_test_split(X, y, train_size=240, stratify=y, random_state=0)
    settings = {"strategies": ("random", "margin"), "seeds": 2, "initial_size": 20,
                "batch_size": 20, "budget": 60, "test_size": 0.3}
    monkeypatch.setattr(_demo, "DEMO_SETTINGS", settings)
    return X, y


def test_demo_reports_accuracy_macro_f1_and_the_rare_classes(tiny_bert, tmp_path, small_demo):
    lines = []
    result = _demo.run_demo(model=str(tiny_bert), out_dir=tmp_path, finetune=False,
                            echo=lines.append, data=small_demo)
    out = "\n".join(lines)
    assert "240 support tickets, 12 classes" in out
    assert "test accuracy, mean ± std" in out and "test macro-F1" in out
    for strategy in ("random", "margin"):
        assert result.macro_f1[strategy].shape == result.curves[strategy].shape == (2, 3)
        assert ((result.macro_f1[strategy] >= 0) & (result.macro_f1[strategy] <= 1)).all()
    # Macro-F1 weighs the rare classes like the others: below accuracy on a long tail.
    assert result.macro_f1["random"].mean() <= result.curves["random"].mean()
    assert "Rare classes (accessibility, notifications, security_report" in out
    assert re.search(r"^margin\s+\d+\.\d\s+\d\.\d of 3$", out, re.M), out
    assert re.search(r"^  margin: accuracy [+-]\d+\.\d points \((ahead|behind|tie)\), "
                     r"macro-F1 [+-]\d+\.\d points \((ahead|behind|tie)\)$", out, re.M), out


def test_the_demo_macro_f1_replays_the_acquired_labels(tiny_bert, tmp_path, small_demo):
    result = _demo.run_demo(model=str(tiny_bert), out_dir=tmp_path, finetune=False,
                            echo=lambda line: None, data=small_demo)
    X, y = small_demo
    from sklearn.metrics import f1_score

    from skprepal import FrozenLLMTransformer
    from skprepal.learner import _default_head

    vectors = FrozenLLMTransformer(str(tiny_bert)).fit_transform(X)
    y = np.asarray(y)
    test = np.setdiff1d(np.arange(len(y)), result.train_rows)
    rows = result.acquired[("margin", 1)]
    head = _default_head().fit(vectors[rows], y[rows])
    expected = f1_score(y[test], head.predict(vectors[test]), average="macro", zero_division=0)
    assert result.macro_f1["margin"][1, -1] == pytest.approx(expected)
