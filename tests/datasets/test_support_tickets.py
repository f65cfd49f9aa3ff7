"""The long-tail support-ticket sample: its shape, its datasheet, and that the generator made it."""

from __future__ import annotations

import re
import runpy
from collections import Counter
from importlib.resources import files
from pathlib import Path

import numpy as np

from skprepal.datasets import load_sample_texts, load_support_tickets
from skprepal.datasets._sample import LONG_TAIL_COUNTS

GENERATOR = Path(__file__).resolve().parents[2] / "tools" / "generate_support_tickets.py"


def test_a_long_tailed_labeling_task_of_at_least_1500_texts_in_10_classes():
    tickets = load_support_tickets()
    counts = Counter(tickets.target)
    assert len(tickets.data) >= 1500 and len(counts) >= 10
    assert dict(counts) == LONG_TAIL_COUNTS
    shares = np.array(sorted(counts.values())) / len(tickets.data)
    assert (shares[:2] <= 0.03).all(), "the smallest classes hold 3% or less"
    assert shares[-1] / shares[0] >= 5, "a long tail: the largest class dwarfs the smallest"
    assert tickets.target_names == sorted(counts)
    for name, count in LONG_TAIL_COUNTS.items():  # the datasheet in the docstring
        assert re.search(rf"``{name}``\s+{count}\s", load_support_tickets.__doc__)


def test_texts_are_distinct_filled_and_varied():
    X, y = load_support_tickets(return_X_y=True)
    assert X.dtype == object and all(isinstance(t, str) and t.strip() for t in X)
    assert len({t.lower() for t in X}) == len(X), "no duplicate tickets"
    assert not [t for t in X if re.search(r"[{}\[\]]", t)], "a slot or choice was left unfilled"
    words = np.array([len(t.split()) for t in X])
    assert words.min() <= 3 and words.max() >= 40 and 10 <= np.median(words) <= 35
    assert sum(t == t.lower() for t in X) > 50  # some tickets all in lower case


def test_the_generator_makes_exactly_the_shipped_file():
    rows = runpy.run_path(str(GENERATOR))["generate"]()
    X, y = load_support_tickets(return_X_y=True)
    assert [text for text, _ in rows] == list(X)
    assert [label for _, label in rows] == list(y)


def test_the_file_is_small_and_the_old_sample_is_unchanged():
    path = files("skprepal.datasets") / "data" / "support_tickets_long_tail.csv"
    assert len(path.read_bytes()) < 512 * 1024
    assert load_sample_texts(return_X_y=True)[0].shape == (670,)
    assert "long tail" in load_support_tickets().DESCR
