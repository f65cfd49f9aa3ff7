"""What every label importer shares: the entry a reader yields, and reading JSON files.

A reader turns a file into :class:`Entry` objects (an answer, a skip or nothing per annotated
item) and says exactly where a file departs from the shape it claims, through :func:`fail`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skprepal.exceptions import InvalidInputError

__all__ = ["Entry", "digest", "fail", "json_lines", "load_json"]


@dataclass(frozen=True)
class Entry:
    """One item's outcome in a source file."""

    where: str  # "task 3", "line 5", "record 2": for error messages
    kind: str | None  # "answer", "skip", or None (the record carries no label)
    label: str | None
    text: str | None
    item_id: str | None  # the skprepal id the file carries, if any
    annotator: str | None
    key: str  # digest of the source record, for idempotent re-imports


def digest(value: Any) -> str:
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:32]


def fail(path: Path, where: str, problem: str) -> InvalidInputError:
    return InvalidInputError(f"{str(path)!r}: {where}: {problem}")


def load_json(path: Path, expected: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except UnicodeDecodeError:
        raise InvalidInputError(f"{str(path)!r} is not UTF-8 text; {expected}.") from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{str(path)!r} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            f"{expected}."
        ) from None


def json_lines(path: Path, expected: str) -> list[tuple[int, Any]]:
    out = []
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    out.append((number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise fail(
                        path, f"line {number}", f"is not JSON ({exc.msg}); {expected}"
                    ) from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{str(path)!r} is not UTF-8 text; {expected}.") from None
    return out
