"""How PRepALLearner tells labeled rows from the pool, and the labels teach refuses (and why)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from skprepal import PRepALLearner
from skprepal.exceptions import InvalidInputError


@pytest.fixture
def X():
    return make_blobs(n_samples=60, centers=2, n_features=3, random_state=0)[0]


def _int_session(X):
    y = np.where(np.arange(60) < 10, np.arange(60) % 2, -1)
    return PRepALLearner(random_state=0).fit(X, y)


def _str_session(X, missing):
    y = np.array(["spam", "ham"] * 5 + [missing] * 50, dtype=object)
    return PRepALLearner(missing_label=missing, random_state=0).fit(X, y)


def test_pandas_nat_among_string_labels_marks_the_pool_under_missing_label_none(X):
    pd = pytest.importorskip("pandas")
    # A date-typed step upstream can leave NaT, not None, where a label is missing.
    y = pd.Series(["spam", "ham"] * 5 + [pd.NaT] * 50, dtype=object)
    learner = PRepALLearner(missing_label=None, random_state=0).fit(X, y)
    assert learner.labeled_indices_.tolist() == list(range(10))
    assert learner.classes_.tolist() == ["ham", "spam"]


def test_teach_takes_one_row_and_one_label_as_scalars(X):
    learner = _int_session(X)
    learner.teach(20, 1)
    assert learner.labeled_indices_.tolist() == [*range(10), 20]
    assert learner.y_labeled_[-1] == 1


@pytest.mark.parametrize(
    "session, labels, message",
    [
        # Neither None nor 0 is the marker, so neither is called it: they are labels of
        # another type than the ones given to fit.
        (lambda X: _str_session(X, -1), [None],
         "y mixes labels of different types (['NoneType', 'str']); use labels of the same type."),
        (lambda X: _str_session(X, ""), [0],
         "y mixes labels of different types (['int', 'str']); use labels of the same type."),
        (_int_session, [-1],
         "the label of row 21 is missing_label=-1; teach only real labels (skip() a row that "
         "should get none)."),
        # NaN from a table among string labels is no class (it is not the marker -1 either).
        (lambda X: _str_session(X, -1), [float("nan")],
         "label nan is not a class: labels are whole numbers, strings or booleans, all of the "
         "same type."),
    ],
    ids=["none-under-int-marker", "int-under-str-marker", "the-marker", "nan-among-strings"],
)
def test_teach_refuses_a_label_that_is_no_class_and_says_why(X, session, labels, message):
    learner = session(X)
    with pytest.raises(InvalidInputError, match=f"^{re.escape(message)}$"):
        learner.teach([21], labels)
    assert learner.labeled_indices_.tolist() == list(range(10))


def test_a_label_count_unlike_the_row_count_names_both(X):
    learner = _int_session(X)
    with pytest.raises(InvalidInputError, match=r"^got 2 indices but 3 labels\.$"):
        learner.teach([21, 22], [0, 1, 0])


def test_labels_of_the_wrong_type_are_shown_by_their_first_three(X):
    learner = _int_session(X)
    message = (
        "labels ['a', 'b', 'c']... do not fit the labels given to fit (dtype int64); use labels "
        "of the same type."
    )
    with pytest.raises(InvalidInputError, match=f"^{re.escape(message)}$"):
        learner.teach([21, 22, 23, 24], ["a", "b", "c", "d"])


@pytest.mark.parametrize(
    "indices, message",
    [
        ([20.0], "indices must be a 1-D array of integer row numbers, got float64 of shape (1,)."),
        ([20, 20], "indices repeat a row; give each row once per call."),
        # Row 0 is in range: the row named is the first one outside 0..59.
        ([0, 60, -1], "index 60 is out of range: X given to fit has 60 rows (0..59)."),
        ([5, -1], "index -1 is out of range: X given to fit has 60 rows (0..59)."),
    ],
    ids=["not-integers", "repeated", "past-the-end", "negative"],
)
def test_bad_row_numbers_are_called_indices_as_the_parameter_is(X, indices, message):
    with pytest.raises(InvalidInputError, match=f"^{re.escape(message)}$"):
        _int_session(X).skip(indices)


def test_labels_of_more_than_one_dimension_are_refused_by_their_shape():
    learner = PRepALLearner(random_state=0).fit(np.eye(4), np.array([0, 1, -1, -1]))
    with pytest.raises(InvalidInputError) as refused:
        learner.teach([2], [[0, 1]])
    expected = "labels are one per row, a 1-D sequence; got an array of shape (1, 2)."
    assert str(refused.value) == expected
    assert learner.labeled_indices_.tolist() == [0, 1]
