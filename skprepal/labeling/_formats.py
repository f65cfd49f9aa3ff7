"""Files a session's labels are written to (and, later, read from): one writer per format.

A writer takes the labeled records (``id``, ``text``, ``label``, ``annotator``, ``time``, in
answer order) and a path.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["WRITERS", "write_csv", "write_jsonl"]

Record = dict[str, Any]


def write_csv(records: Sequence[Record], path: Path) -> None:
    """CSV with a header: ``id, text, label, annotator, time``."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "text", "label", "annotator", "time"])
        writer.writeheader()
        writer.writerows(records)


def write_jsonl(records: Sequence[Record], path: Path) -> None:
    """One JSON object per line, with the keys of :func:`write_csv`."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


#: Format name -> writer.
WRITERS: dict[str, Callable[[Sequence[Record], Path], None]] = {
    "csv": write_csv,
    "jsonl": write_jsonl,
}
