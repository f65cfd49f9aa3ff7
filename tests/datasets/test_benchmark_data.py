"""Tests of the benchmark loaders in ``skprepal.datasets``.

Tests marked ``shared_data`` read the real files in ``../shared/data`` (or ``$SKPREPAL_DATA``) and
are skipped where they are absent; the others build tiny files in ``tmp_path``.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skprepal.datasets import (
    get_data_home,
    load_ag_news,
    load_imdb,
    load_qnli,
    load_sst2,
    load_trec,
)
from skprepal.exceptions import DataNotFoundError, InvalidInputError

# loader, split, extra kwargs, rows, classes in target_names, rows per class (where the README
# states it).
CASES = [
    (load_sst2, "train", {}, 67_349, 2, None),
    (load_sst2, "dev", {}, 872, 2, None),
    (load_ag_news, "train", {}, 10_001, 4, None),
    (load_ag_news, "test", {}, 7_600, 4, 1_900),
    (load_trec, "train", {}, 5_452, 6, None),
    (load_trec, "test", {}, 500, 6, None),
    (load_trec, "train", {"coarse": False}, 5_452, 50, None),
    (load_trec, "test", {"coarse": False}, 500, 50, None),
    (load_qnli, "dev", {}, 5_463, 2, None),
    (load_imdb, "train", {}, 25_000, 2, 12_500),
    (load_imdb, "test", {}, 25_000, 2, 12_500),
]
CASE_IDS = [f"{c[0].__name__}-{c[1]}{'-fine' if c[2] else ''}" for c in CASES]
LOADERS = [load_sst2, load_ag_news, load_trec, load_qnli, load_imdb]


@pytest.fixture(scope="module")
def data_home() -> Path:
    """The real data folder; skips the test where it is absent."""
    try:
        return get_data_home()
    except DataNotFoundError as exc:
        pytest.skip(f"benchmark data not available: {exc}")


@pytest.fixture(scope="module")
def load(data_home: Path) -> Callable:
    """Load each (loader, split, kwargs) once per module."""
    cache: dict = {}

    def _load(loader: Callable, split: str, **kwargs: object):
        key = (loader.__name__, split, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = loader(split, data_home=data_home, **kwargs)
        return cache[key]

    return _load


# ------------------------------------------------------------------------------ real data


@pytest.mark.shared_data
@pytest.mark.parametrize(("loader", "split", "kwargs", "n_rows", "n_classes", "per_class"),
                         CASES, ids=CASE_IDS)  # fmt: skip
def test_rows_and_classes(load, loader, split, kwargs, n_rows, n_classes, per_class):
    bunch = load(loader, split, **kwargs)
    assert set(bunch) >= {"data", "target", "target_names", "DESCR"}
    expected_shape = (n_rows, 2) if loader is load_qnli else (n_rows,)
    assert bunch.data.shape == expected_shape
    assert bunch.data.dtype == object
    assert bunch.target.shape == (n_rows,)
    assert np.issubdtype(bunch.target.dtype, np.integer)
    assert len(bunch.target_names) == n_classes
    assert len(set(bunch.target_names)) == n_classes
    assert bunch.target.min() >= 0 and bunch.target.max() < n_classes
    counts = np.bincount(bunch.target, minlength=n_classes)
    if loader is load_trec and not kwargs.get("coarse", True) and split == "test":
        assert np.count_nonzero(counts) == 42  # TREC 10 uses 42 of the 50 fine classes
    else:
        assert np.all(counts > 0)
    if per_class is not None:
        assert_array_equal(counts, np.full(n_classes, per_class))
    assert isinstance(bunch.DESCR, str) and split in bunch.DESCR


@pytest.mark.shared_data
@pytest.mark.parametrize(("loader", "split", "kwargs"), [c[:3] for c in CASES], ids=CASE_IDS)
def test_texts_are_nonempty_str(load, loader, split, kwargs):
    texts = load(loader, split, **kwargs).data.ravel()
    assert all(isinstance(text, str) and text.strip() == text and text for text in texts)


@pytest.mark.shared_data
@pytest.mark.parametrize(("loader", "split", "kwargs"), [c[:3] for c in CASES], ids=CASE_IDS)
def test_return_X_y(load, data_home, loader, split, kwargs):
    bunch = load(loader, split, **kwargs)
    X, y = loader(split, data_home=data_home, return_X_y=True, **kwargs)
    assert_array_equal(X, bunch.data)
    assert_array_equal(y, bunch.target)


@pytest.mark.shared_data
def test_known_rows(load):
    sst2 = load(load_sst2, "dev")
    assert sst2.data[0] == "it 's a charming and often affecting journey ."
    assert sst2.target_names[sst2.target[0]] == "positive"

    ag_test = load(load_ag_news, "test")
    assert ag_test.data[0].startswith("Fears for T N pension after talks Unions representing")
    assert ag_test.target_names[ag_test.target[0]] == "Business"
    # The train subset CSV-quotes descriptions that hold '"'; the quoting must be undone.
    ag_train = load(load_ag_news, "train")
    assert not any(t.startswith('"') and t.endswith('"') for t in ag_train.data)
    assert any('Tuesday "major neglect" by U.S.-led forces' in t for t in ag_train.data)

    trec = load(load_trec, "test", coarse=False)
    assert trec.data[0] == "How far is it from Denver to Aspen ?"
    assert trec.target_names[trec.target[0]] == "NUM:dist"
    trec_coarse = load(load_trec, "test")
    assert trec_coarse.target_names[trec_coarse.target[0]] == "NUM"

    qnli = load(load_qnli, "dev")
    assert qnli.data[0, 0] == "What came into force after the new constitution was herald?"
    assert qnli.target_names[qnli.target[0]] == "entailment"
    assert any('"' in question for question in qnli.data[:, 0])  # read with no quote handling

    imdb = load(load_imdb, "train")
    assert imdb.target_names == ["negative", "positive"]
    assert any("\x85" in text for text in imdb.data)  # U+0085 must not split a review


# ------------------------------------------------------------------------------ no data needed


def test_missing_data_home_raises(tmp_path):
    with pytest.raises(DataNotFoundError, match="SKPREPAL_DATA") as info:
        get_data_home(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(DataNotFoundError, match="SKPREPAL_DATA"):
        load_sst2(data_home=tmp_path / "nope")


def test_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("SKPREPAL_DATA", str(tmp_path / "nope"))
    with pytest.raises(DataNotFoundError, match="SKPREPAL_DATA"):
        get_data_home()
    monkeypatch.setenv("SKPREPAL_DATA", str(tmp_path))
    assert get_data_home() == tmp_path.resolve()
    assert get_data_home(tmp_path / ".") == tmp_path.resolve()  # the argument wins


def test_missing_file_raises(tmp_path):
    with pytest.raises(DataNotFoundError, match="SKPREPAL_DATA"):
        load_imdb("test", data_home=tmp_path)


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_unknown_split_raises(loader, tmp_path):
    with pytest.raises(InvalidInputError, match="allowed splits"):
        loader("validation", data_home=tmp_path / "nope")


def test_sst2_test_split_not_offered():
    with pytest.raises(InvalidInputError, match="train, dev"):
        load_sst2("test")


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)


def test_parsing_on_tiny_files(tmp_path):
    """Quoting, tabs, U+0085 and a bad TREC byte, on files written here."""
    _write(tmp_path / "sst2/dev.tsv", b'sentence\tlabel\n"quoted start \t1\nplain \t0\n')
    _write(
        tmp_path / "imdb/test.tsv.gz",
        "id\trating\tlabel\tamlm_split\ttext\n0\t1\tneg\ttest\ta\x85b\tc\n"
        '1\t9\tpos\ttest\t"Great"\n'.encode(),
    )
    _write(tmp_path / "ag_news/train_subset10k_from_alps.tsv.gz",
           b'"He said ""no"" today."\tWorld\n plain \tSci/Tech\n')  # fmt: skip
    _write(tmp_path / "ag_news/test.csv.gz", b'"3","Title","Desc, with comma"\n')
    _write(tmp_path / "trec/train_5500.label", b"LOC:city sister\xf0city ?\nNUM:dist How far ?")

    X, y = load_sst2("dev", data_home=tmp_path, return_X_y=True)
    assert X.tolist() == ['"quoted start', "plain"] and y.tolist() == [1, 0]
    X, y = load_imdb("test", data_home=tmp_path, return_X_y=True)
    assert X.tolist() == ["a\x85b\tc", '"Great"'] and y.tolist() == [0, 1]
    X, y = load_ag_news("train", data_home=tmp_path, return_X_y=True)
    assert X.tolist() == ['He said "no" today.', "plain"] and y.tolist() == [0, 3]
    X, y = load_ag_news("test", data_home=tmp_path, return_X_y=True)
    assert X.tolist() == ["Title Desc, with comma"] and y.tolist() == [2]
    trec = load_trec(data_home=tmp_path, coarse=False)
    assert trec.data.tolist() == ["sister\ufffdcity ?", "How far ?"]
    assert [trec.target_names[i] for i in trec.target] == ["LOC:city", "NUM:dist"]


def test_malformed_file_raises(tmp_path):
    _write(tmp_path / "sst2/dev.tsv", b"sentence\tlabel\nno label here\n")
    with pytest.raises(InvalidInputError, match="fields"):
        load_sst2("dev", data_home=tmp_path)
    _write(tmp_path / "sst2/dev.tsv", b"sentence\tlabel\ntext\tpositive\n")
    with pytest.raises(InvalidInputError, match="unknown label 'positive'"):
        load_sst2("dev", data_home=tmp_path)
