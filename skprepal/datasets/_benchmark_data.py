"""Loaders for the public text-classification benchmarks kept in ``../shared/data``.

The files are read in place, in their original formats, with the standard library only. Every
loader returns a :class:`sklearn.utils.Bunch` like the ``sklearn.datasets`` loaders: ``data`` (an
object array of ``str``), ``target`` (``int64`` class indices ``0..k-1``), ``target_names`` (the
class names in index order) and ``DESCR``; or ``(data, target)`` when ``return_X_y=True``.

Texts are kept as they are in the files except that surrounding whitespace is stripped (GLUE
SST-2 sentences end in a space, many AG News descriptions start with one) and that AG News test
texts join the title and the description with one space. Markup left in the originals
(``<br />`` in IMDb, ``&lt;``/``#39;`` in AG News) is not cleaned.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from skprepal.exceptions import DataNotFoundError, InvalidInputError

__all__ = [
    "get_data_home",
    "load_ag_news",
    "load_imdb",
    "load_qnli",
    "load_sst2",
    "load_trec",
]

logger = logging.getLogger(__name__)

_ENV_VAR = "SKPREPAL_DATA"

_BINARY_SENTIMENT = ("negative", "positive")
_AG_NEWS_CLASSES = ("World", "Sports", "Business", "Sci/Tech")  # order of ag_news/classes.txt
_QNLI_CLASSES = ("entailment", "not_entailment")  # GLUE's label order
_TREC_COARSE = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")
_TREC_FINE = tuple(  # the 50 fine classes as "COARSE:fine", sorted
    f"{coarse}:{fine}"
    for coarse, fines in {
        "ABBR": "abb exp",
        "DESC": "def desc manner reason",
        "ENTY": "animal body color cremat currency dismed event food instru lang letter other "
        "plant product religion sport substance symbol techmeth termeq veh word",
        "HUM": "desc gr ind title",
        "LOC": "city country mount other state",
        "NUM": "code count date dist money ord other perc period speed temp volsize weight",
    }.items()
    for fine in fines.split()
)


def get_data_home(data_home: str | os.PathLike[str] | None = None) -> Path:
    """Return the folder that holds the benchmark data sets.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder to use. When None, the environment variable ``SKPREPAL_DATA`` is used if set,
        else the first existing of ``Path.cwd() / "../shared/data"`` and
        ``<repository root>/../shared/data``.

    Returns
    -------
    path : pathlib.Path
        The resolved, existing data folder.

    Raises
    ------
    DataNotFoundError
        If the folder given (by argument or environment variable) does not exist, or none of the
        default locations does. The message lists where it looked.

    Examples
    --------
    >>> from skprepal.datasets import get_data_home
    >>> home = get_data_home()  # e.g. PosixPath('/work/shared/data')
    >>> (home / "sst2" / "dev.tsv").is_file()
    True
    """
    if data_home is not None:
        candidates, source = [Path(data_home)], "the data_home argument"
    elif os.environ.get(_ENV_VAR):
        candidates, source = [Path(os.environ[_ENV_VAR])], f"the {_ENV_VAR} environment variable"
    else:
        repo_root = Path(__file__).resolve().parents[2]
        candidates = [Path.cwd() / "../shared/data", repo_root / "../shared/data"]
        source = "the default locations"
    candidates = [path.expanduser().resolve() for path in candidates]
    for path in candidates:
        if path.is_dir():
            return path
    looked = ", ".join(str(path) for path in dict.fromkeys(candidates))
    raise DataNotFoundError(
        f"Benchmark data not found: looked in {looked} (from {source}). Pass data_home= or set "
        f"the {_ENV_VAR} environment variable to the folder that holds sst2/, ag_news/, ..."
    )


# ----------------------------------------------------------------------------- private helpers


def _check_split(split: str, allowed: Sequence[str]) -> None:
    if split not in allowed:
        raise InvalidInputError(f"Unknown split {split!r}; allowed splits: {', '.join(allowed)}.")


def _data_file(folder: str, filename: str, data_home: str | os.PathLike[str] | None) -> Path:
    path = get_data_home(data_home) / folder / filename
    if not path.is_file():
        raise DataNotFoundError(
            f"Benchmark file {path} does not exist. Pass data_home= or set the {_ENV_VAR} "
            "environment variable to the folder that holds it."
        )
    return path


def _read_text(path: Path, errors: str = "strict") -> str:
    """A UTF-8 file as text, gunzipped when the name ends in ``.gz``."""
    raw = path.read_bytes()
    return (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8", errors=errors)


def _read_lines(path: Path, *, header: bool, errors: str = "strict") -> list[str]:
    """Non-blank lines of a file, without the header line when ``header``.

    Lines are split on ``\\n`` only: ``str.splitlines`` would also split on U+0085, which occurs
    inside IMDb reviews.
    """
    lines = [line.rstrip("\r") for line in _read_text(path, errors).split("\n")]
    return [line for line in lines[1 if header else 0 :] if line.strip()]


def _split_lines(lines: list[str], sep: str, n_fields: int, path: Path) -> list[list[str]]:
    """Split each line on ``sep`` with no quote handling (as GLUE TSVs must be read).

    The last field takes any further separators, so free text goes last (IMDb reviews hold tabs).
    """
    rows = [line.split(sep, n_fields - 1) for line in lines]
    _check_row_lengths(rows, n_fields, path)
    return rows


def _read_csv(path: Path, n_fields: int, *, delimiter: str = ",") -> list[list[str]]:
    """Rows of a headerless file with CSV quoting (``"`` quotes, ``""`` escapes)."""
    reader = csv.reader(io.StringIO(_read_text(path), newline=""), delimiter=delimiter, strict=True)
    rows = [row for row in reader if row]
    _check_row_lengths(rows, n_fields, path)
    return rows


def _check_row_lengths(rows: Iterable[Sequence[str]], n_fields: int, path: Path) -> None:
    for i, row in enumerate(rows):
        if len(row) != n_fields:
            raise InvalidInputError(f"{path}: record {i} has {len(row)} fields, not {n_fields}.")


def _encode(labels: Iterable[str], names: Sequence[str], path: Path) -> np.ndarray:
    """Map label strings to their index in ``names``."""
    index = {name: i for i, name in enumerate(names)}
    try:
        return np.fromiter((index[label] for label in labels), dtype=np.int64)
    except KeyError as exc:
        raise InvalidInputError(f"{path}: unknown label {exc.args[0]!r}.") from None


def _as_text_array(texts: Iterable[str] | Iterable[Sequence[str]]) -> np.ndarray:
    return np.array(list(texts), dtype=object)


def _result(
    data: np.ndarray,
    target: np.ndarray,
    target_names: Sequence[str],
    descr: str,
    path: Path,
    return_X_y: bool,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    logger.debug("Loaded %d rows from %s", len(target), path)
    if return_X_y:
        return data, target
    descr = f"{descr} This copy: {len(target):,} rows from {path}."
    return Bunch(data=data, target=target, target_names=list(target_names), DESCR=descr)


# ----------------------------------------------------------------------------- public loaders

def load_sst2(
    split: str = "train",
    *,
    data_home: str | os.PathLike[str] | None = None,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load GLUE SST-2, binary sentiment of movie-review phrases and sentences.

    Parameters
    ----------
    split : {"train", "dev"}, default="train"
        ``"train"`` (67,349 phrases) or ``"dev"`` (872 sentences). GLUE's test split has no
        labels and is not offered.
    data_home : str or path-like, default=None
        Data folder; see :func:`get_data_home`.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` (object array of str, shape (n,)), ``target`` (int64 class indices, shape
        (n,)), ``target_names`` (``["negative", "positive"]``) and ``DESCR``.
    (data, target) : tuple of numpy.ndarray
        When ``return_X_y`` is True.

    Raises
    ------
    DataNotFoundError
        If the data folder or file is missing (see :func:`get_data_home`).
    InvalidInputError
        If ``split`` is not one of the splits offered.

    Examples
    --------
    >>> from skprepal.datasets import load_sst2
    >>> sst2 = load_sst2("dev")
    >>> sst2.data.shape, sst2.target_names
    ((872,), ['negative', 'positive'])
    """
    _check_split(split, ("train", "dev"))
    path = _data_file("sst2", {"train": "train.tsv.gz", "dev": "dev.tsv"}[split], data_home)
    rows = _split_lines(_read_lines(path, header=True), "\t", 2, path)  # sentence, label
    descr = (
        f"GLUE SST-2 (Stanford Sentiment Treebank, binary), {split} split: 0 negative, "
        "1 positive. Socher et al. (2013), EMNLP; Wang et al. (2018), GLUE."
    )
    data = _as_text_array(text.strip() for text, _ in rows)
    target = _encode((label for _, label in rows), ("0", "1"), path)
    return _result(data, target, _BINARY_SENTIMENT, descr, path, return_X_y)


def load_ag_news(
    split: str = "train",
    *,
    data_home: str | os.PathLike[str] | None = None,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load AG News, news topic classification in 4 classes.

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        ``"train"`` is NOT the full 120,000-row AG train set but a 10,001-row subset of it
        (descriptions only, no titles, roughly balanced) taken from the ALPS repository.
        ``"test"`` is the official test set (7,600 rows, 1,900 per class); each test text is
        the title and the description joined by a single space (as Hugging Face ``ag_news``
        does), so test texts carry a title and train texts do not.
    data_home : str or path-like, default=None
        Data folder; see :func:`get_data_home`.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` (object array of str, shape (n,)), ``target`` (int64 class indices, shape
        (n,)), ``target_names`` (``["World", "Sports", "Business", "Sci/Tech"]``) and
        ``DESCR``.
    (data, target) : tuple of numpy.ndarray
        When ``return_X_y`` is True.

    Raises
    ------
    DataNotFoundError
        If the data folder or file is missing (see :func:`get_data_home`).
    InvalidInputError
        If ``split`` is not one of the splits offered.

    Examples
    --------
    >>> from skprepal.datasets import load_ag_news
    >>> X, y = load_ag_news("test", return_X_y=True)
    >>> X.shape, int(y.max())
    ((7600,), 3)
    """
    _check_split(split, ("train", "test"))
    if split == "train":
        # description<TAB>classname; the 397 descriptions that hold '"' are CSV-quoted.
        path = _data_file("ag_news", "train_subset10k_from_alps.tsv.gz", data_home)
        rows = _read_csv(path, 2, delimiter="\t")
        texts = (description.strip() for description, _ in rows)
        target = _encode((name for _, name in rows), _AG_NEWS_CLASSES, path)
        what = "a 10,001-row, description-only subset of the train set"
    else:
        path = _data_file("ag_news", "test.csv.gz", data_home)
        rows = _read_csv(path, 3)  # label (1-4), title, description
        texts = (f"{title.strip()} {description.strip()}" for _, title, description in rows)
        target = _encode((label for label, _, _ in rows), ("1", "2", "3", "4"), path)
        what = "the official test set, title and description joined by a space"
    descr = (
        f"AG News topic classification, {split} split ({what}). Zhang, Zhao & LeCun (2015), "
        "Character-level Convolutional Networks for Text Classification, NeurIPS; for research, "
        "non-commercial use."
    )
    return _result(_as_text_array(texts), target, _AG_NEWS_CLASSES, descr, path, return_X_y)


def load_trec(
    split: str = "train",
    *,
    coarse: bool = True,
    data_home: str | os.PathLike[str] | None = None,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load TREC question classification (Li & Roth 2002).

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        ``"train"`` (5,452 questions) or ``"test"`` (TREC 10, 500 questions).
    coarse : bool, default=True
        True gives the 6 coarse classes (ABBR, DESC, ENTY, HUM, LOC, NUM); False the 50 fine
        classes, named ``"COARSE:fine"`` (e.g. ``"NUM:dist"``). The class list is the same for
        both splits, although the test split uses only 42 of the fine classes.
    data_home : str or path-like, default=None
        Data folder; see :func:`get_data_home`.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` (object array of str, shape (n,)), ``target`` (int64 class indices, shape
        (n,)), ``target_names`` (the 6 or 50 class names, sorted) and ``DESCR``.
    (data, target) : tuple of numpy.ndarray
        When ``return_X_y`` is True.

    Raises
    ------
    DataNotFoundError
        If the data folder or file is missing (see :func:`get_data_home`).
    InvalidInputError
        If ``split`` is not one of the splits offered.

    Examples
    --------
    >>> from skprepal.datasets import load_trec
    >>> trec = load_trec("test", coarse=False)
    >>> len(trec.target_names), trec.data[0]
    (50, 'How far is it from Denver to Aspen ?')
    """
    _check_split(split, ("train", "test"))
    filename = {"train": "train_5500.label", "test": "TREC_10.label"}[split]
    path = _data_file("trec", filename, data_home)
    # Li & Roth's original train_5500.label holds one non-UTF-8 byte (0xF0, in "sister?city").
    # The shared copy is valid UTF-8 with U+FFFD already in its place; decoding with
    # errors="replace" turns a raw copy into that same text instead of failing.
    rows = _split_lines(_read_lines(path, header=False, errors="replace"), " ", 2, path)
    names = _TREC_COARSE if coarse else _TREC_FINE
    labels = (label.split(":", 1)[0] if coarse else label for label, _ in rows)
    descr = (
        f"TREC question classification, {split} split, {'6 coarse' if coarse else '50 fine'} "
        "classes. Li & Roth (2002), Learning Question Classifiers, COLING."
    )
    data = _as_text_array(text.strip() for _, text in rows)
    return _result(data, _encode(labels, names, path), names, descr, path, return_X_y)


def load_qnli(
    split: str = "dev",
    *,
    data_home: str | os.PathLike[str] | None = None,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load GLUE QNLI: does the sentence answer the question? (derived from SQuAD).

    Parameters
    ----------
    split : {"dev"}, default="dev"
        Only the GLUE dev set (5,463 pairs) is available.
    data_home : str or path-like, default=None
        Data folder; see :func:`get_data_home`.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` (object array of str, shape (n, 2): (question, sentence) pairs), ``target``
        (int64 class indices, shape (n,)), ``target_names``
        (``["entailment", "not_entailment"]``) and ``DESCR``.
    (data, target) : tuple of numpy.ndarray
        When ``return_X_y`` is True.

    Raises
    ------
    DataNotFoundError
        If the data folder or file is missing (see :func:`get_data_home`).
    InvalidInputError
        If ``split`` is not one of the splits offered.

    Examples
    --------
    >>> from skprepal.datasets import load_qnli
    >>> qnli = load_qnli()
    >>> qnli.data.shape, qnli.target_names
    ((5463, 2), ['entailment', 'not_entailment'])
    """
    _check_split(split, ("dev",))
    path = _data_file("qnli", "dev.tsv.gz", data_home)
    rows = _split_lines(_read_lines(path, header=True), "\t", 4, path)
    descr = (
        f"GLUE QNLI, {split} split: (question, sentence) pairs, 0 entailment (the sentence "
        "answers the question), 1 not_entailment. Rajpurkar et al. (2016), SQuAD; Wang et al. "
        "(2018), GLUE. CC BY-SA 4.0."
    )
    pairs = _as_text_array(
        (question.strip(), sentence.strip()) for _, question, sentence, _ in rows
    )
    target = _encode((label for *_, label in rows), _QNLI_CLASSES, path)
    return _result(pairs.reshape(-1, 2), target, _QNLI_CLASSES, descr, path, return_X_y)


def load_imdb(
    split: str = "train",
    *,
    data_home: str | os.PathLike[str] | None = None,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load the IMDb large movie review data set, binary sentiment (Maas et al. 2011).

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        The original aclImdb split: 25,000 reviews each, 12,500 per class. Reviews keep their
        ``<br />`` tags and stray Windows-1252 control characters (e.g. U+0096) as in aclImdb.
    data_home : str or path-like, default=None
        Data folder; see :func:`get_data_home`.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` (object array of str, shape (n,)), ``target`` (int64 class indices, shape
        (n,)), ``target_names`` (``["negative", "positive"]``) and ``DESCR``.
    (data, target) : tuple of numpy.ndarray
        When ``return_X_y`` is True.

    Raises
    ------
    DataNotFoundError
        If the data folder or file is missing (see :func:`get_data_home`).
    InvalidInputError
        If ``split`` is not one of the splits offered.

    Examples
    --------
    >>> from skprepal.datasets import load_imdb
    >>> X, y = load_imdb("test", return_X_y=True)
    >>> X.shape, int(y.sum())
    ((25000,), 12500)
    """
    _check_split(split, ("train", "test"))
    path = _data_file("imdb", f"{split}.tsv.gz", data_home)
    rows = _split_lines(_read_lines(path, header=True), "\t", 5, path)
    descr = (
        f"IMDb large movie review data set (aclImdb), {split} split: 0 negative (rating <= 4), "
        "1 positive (rating >= 7). Maas et al. (2011), Learning Word Vectors for Sentiment "
        "Analysis, ACL."
    )
    # Columns: id, rating, label, amlm_split, text (the text may hold tabs: it is split last).
    data = _as_text_array(row[4].strip() for row in rows)
    target = _encode((row[2] for row in rows), ("neg", "pos"), path)
    return _result(data, target, _BINARY_SENTIMENT, descr, path, return_X_y)
