"""Label Studio's JSON export, read as import entries; one annotation's outcome and author."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from skprepal.exceptions import InvalidInputError
from skprepal.labeling._formats import ID_KEY, LS_TEXT_KEY
from skprepal.labeling._import_base import Entry, digest, fail, load_json

__all__ = ["ls_outcome", "ls_person", "read_label_studio"]


_LS_EXPECTED = (
    "expected Label Studio's JSON export: a list of tasks, each with a 'data' object and "
    "'annotations' whose 'result' holds regions of type 'choices'"
)


def ls_outcome(
    annotation: Any, *, from_name: str | None = None, where: str = "the annotation"
) -> tuple[str | None, str | None]:
    """``(kind, choice)`` of one Label Studio annotation.

    A cancelled (skipped) annotation is ``("skip", None)``; one choice of the ``Choices``
    control ``from_name`` (None: any) is ``("answer", choice)``; no choice is ``(None, None)``.

    Raises
    ------
    InvalidInputError
        If the annotation is not shaped as Label Studio writes one, chooses several labels, or
        has choices of several controls and ``from_name`` is None.
    """
    if not isinstance(annotation, dict):
        raise InvalidInputError(f"{where} is a {type(annotation).__name__}, not an object.")
    if annotation.get("was_cancelled"):
        return "skip", None
    result = annotation.get("result", [])
    if not isinstance(result, list):
        raise InvalidInputError(
            f"{where}: 'result' is a {type(result).__name__}; Label Studio writes a list of "
            "regions."
        )
    regions = [
        r for r in result
        if isinstance(r, dict) and r.get("type") == "choices"
        and (from_name is None or r.get("from_name") == from_name)
    ]
    if not regions:
        return None, None
    names = sorted({str(r.get("from_name")) for r in regions})
    if len(names) > 1:
        raise InvalidInputError(
            f"{where} has choices of several controls {names}; say which one holds the label "
            "(from_name=...)."
        )
    value = regions[0].get("value")
    choices = value.get("choices") if isinstance(value, dict) else None
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise InvalidInputError(
            f"{where}: a 'choices' region needs value.choices, a list of strings; got {value!r}."
        )
    if not choices:
        return None, None
    if len(choices) > 1:
        raise InvalidInputError(
            f"{where} chooses {len(choices)} labels {choices}; a skprepal session takes one "
            "label per text."
        )
    return "answer", choices[0]


def ls_person(annotation: dict) -> str | None:
    """Who made a Label Studio annotation: its ``completed_by`` (an email or a user id)."""
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return None if who is None else str(who)


def _text_of(data: dict, text_key: str | None, path: Path, where: str) -> str | None:
    if text_key is not None:
        value = data.get(text_key)
        if not isinstance(value, str):
            raise fail(path, where, f"data has no text under {text_key!r} (keys: {sorted(data)})")
        return value
    if isinstance(data.get(LS_TEXT_KEY), str):
        return data[LS_TEXT_KEY]
    strings = [k for k, v in data.items() if isinstance(v, str) and k != ID_KEY]
    if len(strings) == 1:
        return data[strings[0]]
    if ID_KEY in data:
        return None
    raise fail(
        path, where,
        f"cannot tell which of the data keys {sorted(data)} holds the text; pass text_key=...",
    )


def read_label_studio(
    path: Path, *, labels: Sequence[str], from_name: str | None = None,
    text_key: str | None = None,
) -> list[Entry]:
    tasks = load_json(path, _LS_EXPECTED)
    if isinstance(tasks, dict) and "data" in tasks:
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise InvalidInputError(
            f"{str(path)!r} holds a JSON {type(tasks).__name__}; {_LS_EXPECTED}."
        )
    entries = []
    for number, task in enumerate(tasks, start=1):
        where = f"task {number}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise fail(path, where, f"has no 'data' object; {_LS_EXPECTED}")
        annotations = task.get("annotations") or []
        if not isinstance(annotations, list):
            raise fail(path, where, "'annotations' is not a list")
        if not annotations:
            continue  # a task nobody annotated (predictions alone are no labels)
        data = task["data"]
        text = _text_of(data, text_key, path, where)
        item_id = data.get(ID_KEY)
        outcomes = []
        for k, annotation in enumerate(annotations, start=1):
            kind, choice = ls_outcome(
                annotation, from_name=from_name, where=f"{str(path)!r}: {where}, annotation {k}"
            )
            outcomes.append((annotation.get("updated_at") or annotation.get("created_at") or "",
                             k, kind, choice, annotation))
        # The task's label: its latest annotation with a choice; a skip only if all skipped.
        answers = sorted((o for o in outcomes if o[2] == "answer"), key=lambda o: (o[0], o[1]))
        skips = [o for o in outcomes if o[2] == "skip"]
        chosen = answers[-1] if answers else (skips[-1] if skips else None)
        meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
        person = meta.get("skprepal_annotator")
        if chosen is not None and person is None:
            person = ls_person(chosen[4])
        entries.append(
            Entry(
                where=where,
                kind=None if chosen is None else chosen[2],
                label=None if chosen is None else chosen[3],
                text=text,
                item_id=None if item_id is None else str(item_id),
                annotator="label-studio" if person is None else f"label-studio:{person}",
                key=digest([data, annotations]),
            )
        )
    return entries

