"""Reading a user's labeled texts from CSV, TSV or JSON Lines, for the command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from skprepal.exceptions import InvalidInputError

__all__ = ["read_table", "text_and_labels"]

_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def read_table(path: str | Path, fmt: str | None = None) -> list[dict[str, Any]]:
    """Rows of a CSV (header line), TSV (header line) or JSON Lines file, as dicts.

    Parameters
    ----------
    path : str or Path
        The file.
    fmt : {"csv", "tsv", "jsonl"} or None
        None guesses from the file name's suffix.

    Returns
    -------
    list of dict
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{str(path)!r}: no such file.")
    fmt = fmt or _FORMATS.get(path.suffix.lower())
    if fmt not in ("csv", "tsv", "jsonl"):
        raise InvalidInputError(
            f"{str(path)!r}: cannot tell the format from the suffix {path.suffix!r}; "
            "use .csv, .tsv or .jsonl, or pass --format."
        )
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            if fmt == "jsonl":
                rows = []
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        row = json.loads(line)
                        if not isinstance(row, dict):
                            raise InvalidInputError(
                                f"{str(path)!r}, line {number}: expected a JSON object."
                            )
                        rows.append(row)
                return rows
            return list(csv.DictReader(handle, delimiter="\t" if fmt == "tsv" else ","))
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{str(path)!r} is not UTF-8 text: {exc.reason} at byte {exc.start}."
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{str(path)!r}, line {exc.lineno}: not valid JSON ({exc.msg})."
        ) from None
    except csv.Error as exc:
        raise InvalidInputError(f"{str(path)!r}: not a valid {fmt.upper()} file ({exc}).") from None


def text_and_labels(
    rows: list[dict[str, Any]], text_columns: list[str], label_column: str | None, source: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Pull text column(s) and the label column out of ``rows``, refusing empty values.

    Returns
    -------
    texts : ndarray of object, shape (n,) or (n, 2)
    labels : ndarray of object or None
    """
    if not rows:
        raise InvalidInputError(f"{source} has no data rows.")
    if not 1 <= len(text_columns) <= 2:
        raise InvalidInputError("give one text column, or two for text pairs.")
    available = list(rows[0])
    wanted = [*text_columns, *([label_column] if label_column else [])]
    missing = [c for c in wanted if c not in available]
    if missing:
        raise InvalidInputError(
            f"{source} has no column {missing[0]!r}; "
            f"its columns are {', '.join(map(repr, available))}."
        )
    empty = [
        i for i, row in enumerate(rows)
        if any(row.get(c) in (None, "") or not str(row.get(c)).strip() for c in wanted)
    ]
    if empty:
        raise InvalidInputError(
            f"{source}: {len(empty)} row(s) have an empty text or label, the first is data row "
            f"{empty[0] + 1}; fill or remove them."
        )
    texts = np.empty((len(rows), len(text_columns)), dtype=object)
    for i, row in enumerate(rows):
        texts[i] = [str(row[c]) for c in text_columns]
    texts = texts[:, 0] if len(text_columns) == 1 else texts
    labels = None
    if label_column:
        labels = np.empty(len(rows), dtype=object)
        labels[:] = [row[label_column] for row in rows]
    return texts, labels
