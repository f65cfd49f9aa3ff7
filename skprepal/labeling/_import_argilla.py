"""Argilla 2.x records (flattened or nested, JSON or JSON Lines), read as import entries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from skprepal.exceptions import InvalidInputError
from skprepal.labeling._formats import ARGILLA_FIELD, ARGILLA_QUESTION, ID_KEY
from skprepal.labeling._import_base import Entry, digest, fail, json_lines, load_json

__all__ = ["read_argilla"]


_ARGILLA_EXPECTED = (
    "expected Argilla 2.x records: a JSON list (or JSON Lines) of records as "
    "dataset.records.to_list(flatten=True) gives them, or as dataset.records.to_json writes them"
)


def _argilla_records(path: Path) -> list[tuple[str, Any]]:
    try:
        records = load_json(path, _ARGILLA_EXPECTED)
    except InvalidInputError:
        # Not one JSON document: JSON Lines (as Hugging Face's Dataset.to_json writes them)?
        return [(f"line {n}", r) for n, r in json_lines(path, _ARGILLA_EXPECTED)]
    if isinstance(records, dict):  # JSON Lines of one record
        return [("line 1", records)]
    if not isinstance(records, list):
        raise InvalidInputError(
            f"{str(path)!r} holds a JSON {type(records).__name__}; {_ARGILLA_EXPECTED}."
        )
    return [(f"record {n}", r) for n, r in enumerate(records, start=1)]


def read_argilla(
    path: Path, *, labels: Sequence[str], field: str = ARGILLA_FIELD,
    question: str = ARGILLA_QUESTION,
) -> list[Entry]:
    entries = []
    for where, record in _argilla_records(path):
        if not isinstance(record, dict):
            raise fail(path, where, f"is not an object; {_ARGILLA_EXPECTED}")
        if isinstance(record.get("fields"), dict):  # nested: to_json / to_list(flatten=False)
            text = record["fields"].get(field)
            nested = (record.get("responses") or {}).get(question) or []
            responses = [
                (r.get("value"), r.get("user_id"), r.get("status") or "submitted")
                for r in nested if isinstance(r, dict)
            ]
            meta = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
            item_id = meta.get(ID_KEY)
        else:  # flattened: to_list(flatten=True)
            text = record.get(field)
            values = record.get(f"{question}.responses") or []
            users = record.get(f"{question}.responses.users") or []
            statuses = record.get(f"{question}.responses.status") or []
            if not isinstance(values, list):
                raise fail(path, where, f"'{question}.responses' is not a list")
            responses = [
                (
                    value,
                    users[k] if k < len(users) else None,
                    (statuses[k] if k < len(statuses) else None) or "submitted",
                )
                for k, value in enumerate(values)
            ]
            item_id = record.get(ID_KEY)
        if not isinstance(text, str):
            raise fail(
                path, where,
                f"has no text field {field!r} (its keys: {sorted(record)[:12]}); pass field= "
                "the name of the dataset's TextField",
            )
        submitted = []
        for value, user, status in responses:
            if status != "submitted" or value is None:
                continue
            if isinstance(value, list):
                if len(value) != 1:
                    raise fail(
                        path, where,
                        f"a response chooses {len(value)} labels {value}; a skprepal session "
                        "takes one label per text",
                    )
                value = value[0]
            submitted.append((str(value), user))
        kind, label, person = None, None, None
        if submitted:
            # Several annotators: the majority label; a tie goes to the first response given.
            counts = Counter(value for value, _ in submitted)
            top = max(counts.values())
            label, person = next((v, u) for v, u in submitted if counts[v] == top)
            kind = "answer"
        elif any(status == "discarded" for _, _, status in responses):
            kind = "skip"
            person = next(u for _, u, status in responses if status == "discarded")
        entries.append(
            Entry(
                where=where, kind=kind, label=label, text=text,
                item_id=None if item_id is None else str(item_id),
                annotator="argilla" if person is None else f"argilla:{person}",
                key=digest(record),
            )
        )
    return entries

