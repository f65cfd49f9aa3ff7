"""Prodigy's annotations (``prodigy db-out`` JSONL), read as import entries."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from skprepal.labeling._formats import ID_KEY
from skprepal.labeling._import_base import Entry, digest, fail, json_lines

__all__ = ["read_prodigy"]


_PRODIGY_EXPECTED = (
    "expected Prodigy annotations (prodigy db-out): one JSON object per line with 'text', "
    "'answer' (accept, reject or ignore) and 'label' or 'options' + 'accept'"
)


def read_prodigy(path: Path, *, labels: Sequence[str]) -> list[Entry]:
    entries = []
    for number, task in json_lines(path, _PRODIGY_EXPECTED):
        where = f"line {number}"
        if not isinstance(task, dict) or not isinstance(task.get("text"), str):
            raise fail(path, where, f"has no 'text' string; {_PRODIGY_EXPECTED}")
        answer = task.get("answer")
        if answer not in ("accept", "reject", "ignore"):
            raise fail(
                path, where,
                f"'answer' is {answer!r}; Prodigy annotations say 'accept', 'reject' or 'ignore' "
                "(a file of tasks not yet annotated has no labels to import)",
            )
        kind, label = None, None
        if answer == "ignore":
            kind = "skip"
        elif "options" in task:
            options = task["options"]
            accept = task.get("accept", [])
            if not isinstance(options, list) or not all(
                isinstance(o, dict) and "id" in o for o in options
            ):
                raise fail(path, where, "'options' must be a list of objects with an 'id'")
            if not isinstance(accept, list):
                raise fail(path, where, "'accept' must be a list of option ids")
            if answer == "accept" and len(accept) > 1:
                raise fail(
                    path, where,
                    f"accepts {len(accept)} options {accept}; a skprepal session takes one label "
                    "per text",
                )
            if answer == "accept" and accept:
                choice = accept[0]
                label = str(choice)
                if label not in labels:  # an id that is no label: the option's text may be
                    texts = [o.get("text") for o in options if o["id"] == choice]
                    label = texts[0] if texts and texts[0] in labels else label
                kind = "answer"
        elif isinstance(task.get("label"), str):
            if answer == "accept":
                kind, label = "answer", task["label"]
            elif len(labels) == 2 and task["label"] in labels:
                # binary: rejecting one of two labels is choosing the other
                kind, label = "answer", [x for x in labels if x != task["label"]][0]
        else:
            raise fail(
                path, where,
                "has neither 'label' (a binary classification task) nor 'options' (a choice "
                f"task); {_PRODIGY_EXPECTED}",
            )
        meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
        person = task.get("_annotator_id") or task.get("_session_id")
        entries.append(
            Entry(
                where=where, kind=kind, label=label, text=task["text"],
                item_id=None if meta.get(ID_KEY) is None else str(meta[ID_KEY]),
                annotator="prodigy" if person is None else f"prodigy:{person}",
                key=digest(task),
            )
        )
    return entries

