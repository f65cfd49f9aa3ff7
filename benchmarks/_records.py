"""Saved benchmark runs: one JSON record per run, written atomically, with its provenance.

Every record carries the skprepal version and the command line of the process that last wrote it,
so a table rebuilt later (``--report-only``) can say what produced its figures.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import skprepal


def save_record(path: Path, record: dict) -> dict:
    """Write ``record`` to ``path`` with its provenance; a killed run leaves no half-written file."""
    record["skprepal"] = skprepal.__version__
    record["command"] = "python " + shlex.join(sys.argv)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)
    return record


def load_record(path: Path) -> dict | None:
    """The record saved at ``path``, or None where the run has not been made."""
    return json.loads(path.read_text()) if path.is_file() else None


def provenance(records: Iterable[dict]) -> str:
    """One Markdown line: how many saved runs a report uses, their versions and commands."""
    records = list(records)
    versions = Counter(r.get("skprepal", "unknown") for r in records)
    commands = Counter(r.get("command") for r in records)
    unrecorded = commands.pop(None, 0)
    parts = [f"{len(records)} saved"]
    parts += [f"skprepal {v} ({n})" for v, n in sorted(versions.items())]
    parts += [f"`{c}` ({n})" for c, n in sorted(commands.items())]
    if unrecorded:
        parts.append(f"command not recorded ({unrecorded}: saved before records kept it)")
    return "Runs: " + "; ".join(parts) + "."
