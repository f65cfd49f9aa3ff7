"""Tests of the packaged support-ticket sample data set (``load_sample_texts``)."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.utils import Bunch

from skprepal.datasets._sample import load_sample_texts

CLASSES = ["account_access", "billing", "bug_report", "data_privacy", "feature_request"]


@pytest.fixture(scope="module")
def tickets() -> Bunch:
    return load_sample_texts()


def _words(text: str) -> list[str]:
    return text.split()


def test_bunch_layout(tickets: Bunch) -> None:
    assert set(tickets) == {"data", "target", "target_names", "DESCR"}
    assert isinstance(tickets.data, np.ndarray)
    assert isinstance(tickets.target, np.ndarray)
    assert tickets.data.dtype == object
    assert tickets.target.dtype == object
    assert tickets.data.ndim == 1
    assert tickets.data.shape == tickets.target.shape
    assert all(type(text) is str for text in tickets.data)
    assert all(type(label) is str for label in tickets.target)
    assert tickets.target_names == CLASSES
    assert sorted(set(tickets.target)) == tickets.target_names


def test_size_and_balance(tickets: Bunch) -> None:
    assert tickets.data.shape[0] >= 640
    counts = Counter(tickets.target)
    assert len(counts) == 5
    for label, count in counts.items():
        assert 120 <= count <= 140, (label, count)


def test_descr(tickets: Bunch) -> None:
    descr = tickets.DESCR
    assert isinstance(descr, str)
    assert "skprepal" in descr
    assert f"{len(tickets.data)} tickets" in descr
    assert "ambiguous" in descr or "two topics" in descr
    for name in CLASSES:
        assert name in descr


def test_texts_not_empty_or_duplicated(tickets: Bunch) -> None:
    texts = list(tickets.data)
    assert all(text.strip() for text in texts)
    assert all(text == text.strip() for text in texts)
    duplicated = [text for text, n in Counter(texts).items() if n > 1]
    assert duplicated == []
    # Case and surrounding whitespace do not make a different ticket either.
    assert len({" ".join(text.lower().split()) for text in texts}) == len(texts)


def test_no_shared_openings(tickets: Bunch) -> None:
    # No two tickets open with the same 6 words, ignoring case and punctuation attached to words
    # (a guard against template-made near-duplicates).
    def opening(text: str) -> str:
        return " ".join(re.sub(r"[^\w]", "", word) for word in _words(text.lower())[:6])

    openings = Counter(opening(text) for text in tickets.data)
    shared = [words for words, n in openings.items() if n > 1]
    assert shared == []


def test_lengths_vary(tickets: Bunch) -> None:
    lengths = np.array([len(_words(text)) for text in tickets.data])
    assert lengths.min() >= 4
    assert lengths.min() <= 6
    assert lengths.max() >= 60
    # Not all short or all long: both ends are populated, not just a single outlier each.
    assert (lengths <= 8).sum() >= 30
    assert (lengths >= 40).sum() >= 30


def test_return_X_y_matches_bunch(tickets: Bunch) -> None:
    X, y = load_sample_texts(return_X_y=True)
    assert isinstance(X, np.ndarray) and isinstance(y, np.ndarray)
    assert X.dtype == object and y.dtype == object
    assert_array_equal(X, tickets.data)
    assert_array_equal(y, tickets.target)


def test_calls_return_independent_arrays() -> None:
    first = load_sample_texts()
    first.data[0] = "changed"
    first.target[0] = "changed"
    second = load_sample_texts()
    assert second.data[0] != "changed"
    assert second.target[0] != "changed"


def test_positional_argument_rejected() -> None:
    with pytest.raises(TypeError, match="takes 0 positional arguments"):
        load_sample_texts(True)  # type: ignore[call-overload]
