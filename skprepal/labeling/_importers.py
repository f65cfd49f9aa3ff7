"""Labels made elsewhere, into a session: Label Studio, Prodigy, Argilla and skprepal's own files.

A reader turns a file into entries (an answer, a skip or nothing per annotated item) and says
exactly where a file departs from the shape it claims; :func:`import_labels` matches each entry
to a session row (by the id skprepal's own exports carry, else by text) and journals them in one
transaction, with the source tool as annotator. Importing the same file twice journals nothing
new: each entry's request id is a digest of its source record.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from skprepal._validation import check_option
from skprepal.exceptions import InvalidInputError
from skprepal.labeling._import_argilla import read_argilla
from skprepal.labeling._import_base import Entry, digest, fail, json_lines
from skprepal.labeling._import_label_studio import read_label_studio
from skprepal.labeling._import_prodigy import read_prodigy

__all__ = ["IMPORT_FORMATS", "import_labels"]


# -- skprepal's own csv / jsonl ------------------------------------------------------------------

_OWN_EXPECTED = "expected skprepal's export: columns (keys) id, text, label, annotator, time"


def _own_entries(path: Path, rows: list[tuple[str, Any]]) -> list[Entry]:
    entries = []
    for where, row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or "label" not in row:
            keys = sorted(row) if isinstance(row, dict) else type(row).__name__
            raise fail(path, where, f"has no 'text' and 'label' ({keys}); {_OWN_EXPECTED}")
        label = row["label"]
        empty = label is None or label == ""
        entries.append(
            Entry(
                where=where, kind=None if empty else "answer",
                label=None if empty else str(label), text=row["text"],
                item_id=None if row.get("id") in (None, "") else str(row["id"]),
                annotator=row.get("annotator") or None, key=digest(row),
            )
        )
    return entries


def _read_csv(path: Path, *, labels: Sequence[str]) -> list[Entry]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not {"text", "label"} <= set(reader.fieldnames or []):
            raise InvalidInputError(
                f"{str(path)!r} has columns {reader.fieldnames}; {_OWN_EXPECTED}."
            )
        rows = [(f"line {reader.line_num}", dict(row)) for row in reader]
    return _own_entries(path, rows)


def _read_jsonl(path: Path, *, labels: Sequence[str]) -> list[Entry]:
    return _own_entries(path, [(f"line {n}", r) for n, r in json_lines(path, _OWN_EXPECTED)])


#: Format name -> reader(path, *, labels, **options).
READERS: dict[str, Callable[..., list[Entry]]] = {
    "csv": _read_csv,
    "jsonl": _read_jsonl,
    "label-studio": read_label_studio,
    "label-studio-tasks": read_label_studio,
    "prodigy": read_prodigy,
    "argilla": read_argilla,
}
#: Formats :func:`import_labels` reads (the same names as the export formats).
IMPORT_FORMATS = tuple(READERS)


def import_labels(
    session: Any,
    path: str | os.PathLike,
    format: str,
    *,
    annotator: str | None = None,
    on_unknown: str = "error",
    **options: Any,
) -> dict[str, Any]:
    """Journal labels made in another tool into ``session``; it goes on actively from there.

    Each annotated item of the file becomes an answer (or a skip) in the session's journal, with
    the source tool as annotator (``"label-studio:<user>"``, ``"prodigy:<session>"``,
    ``"argilla:<user>"``), all in one transaction and one refit; the next query sees them all.
    An item is matched to its row by the id skprepal's own exports carry
    (``data.skprepal_id`` / ``meta.skprepal_id`` / metadata ``skprepal_id``), else by its text.
    Importing the same file again journals nothing new.

    Parameters
    ----------
    session : LabelingSession
        The session to answer in.
    path : path-like
        The file.
    format : str
        One of :data:`IMPORT_FORMATS`:

        - ``"label-studio"`` (or ``"label-studio-tasks"``): Label Studio's JSON export. A task's
          label is its latest annotation with a choice; a task whose annotations were all
          cancelled (skipped) is skipped; predictions are not labels and are not read. Options:
          ``from_name`` (the ``Choices`` control, when there are several) and ``text_key`` (the
          ``data`` key of the text; default ``"text"``, or the task's only string).
        - ``"prodigy"``: Prodigy JSONL (``db-out``). ``choice`` tasks: the one accepted option;
          binary tasks (``label`` + ``answer``): ``accept`` is the label, ``reject`` is the
          other label when the session has two (with more, a rejection teaches no label);
          ``ignore`` is a skip.
        - ``"argilla"``: Argilla 2.x records, flattened (``records.to_list(flatten=True)``, as a
          JSON list or JSON Lines) or nested (``records.to_json``). The label is the majority of
          the submitted responses (a tie: the first given); only discarded responses make a
          skip; drafts are not labels. Options: ``field`` (the text field, default ``"text"``)
          and ``question`` (the label question, default ``"label"``).
        - ``"csv"``, ``"jsonl"``: skprepal's own exports.
    annotator : str or None
        Journal every entry with this annotator instead.
    on_unknown : {"error", "ignore"}, default="error"
        What to do with items whose text (and id) the session does not have.
    **options
        The format's options above.

    Returns
    -------
    dict
        Counts: ``n_entries`` (annotated items in the file), ``n_answered`` and ``n_skipped``
        (journaled now), ``n_already`` (journaled by an earlier import of the same records),
        ``n_no_label`` (items whose annotation carries no label), ``n_unknown`` (not in the
        session), and ``unknown`` (where the first ten of those are in the file).

    Raises
    ------
    InvalidInputError
        If the file is not what ``format`` says (naming the file, the line, task or record, and
        what was expected), a label is not one of the session's, or an item is unknown and
        ``on_unknown="error"``. Nothing is journaled then.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> from skprepal.labeling import LabelingSession, import_labels
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> texts = [f"{w} please, ticket {i}" for i, w in enumerate(["refund my card",
    ...          "cannot log in", "charged twice", "password reset"] * 5)]
    >>> lines = [{"text": texts[0], "label": "billing", "answer": "accept"},
    ...          {"text": texts[1], "label": "billing", "answer": "reject"}]
    >>> _ = (folder / "prodigy.jsonl").write_text("\\n".join(map(json.dumps, lines)))
    >>> session = LabelingSession.create(folder / "s.sqlite3", texts, ["billing", "login"])
    >>> report = import_labels(session, folder / "prodigy.jsonl", "prodigy")
    >>> report["n_answered"], session.labeled()
    (2, ([0, 1], ['billing', 'login']))
    >>> session.journal()[0]["annotator"]
    'prodigy'
    """
    check_option("format", format, READERS)
    check_option("on_unknown", on_unknown, ["error", "ignore"])
    path = Path(path)
    labels = list(session.labels)
    entries = READERS[format](path, labels=labels, **options)

    texts = session.texts
    by_text: dict[str, int] = {}
    for row, text in enumerate(texts):
        by_text.setdefault(text, row)

    def resolve(entry: Entry) -> int | None:
        if entry.item_id is not None:
            try:
                row = session.row_of(entry.item_id)
            except InvalidInputError:
                row = None
            if row is not None and (entry.text is None or texts[row] == entry.text):
                return row
        return by_text.get(entry.text) if entry.text is not None else None

    import difflib

    resolved, unknown, no_label = [], [], 0
    for entry in entries:
        if entry.kind == "answer" and entry.label not in labels:
            close = difflib.get_close_matches(str(entry.label), labels, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise fail(
                path, entry.where,
                f"label {entry.label!r} is not one of the session's labels {labels!r}.{hint}",
            )
        if entry.kind is None:
            no_label += 1
            continue
        row = resolve(entry)
        if row is None:
            unknown.append(entry.where)
            continue
        resolved.append((row, entry))
    if unknown and on_unknown == "error":
        raise InvalidInputError(
            f"{str(path)!r}: {len(unknown)} annotated item(s) are not in this session (their "
            f"text and id match no item), first at {', '.join(unknown[:5])}. Create the session "
            "with these texts, or pass on_unknown='ignore' to import the others."
        )
    # A skip never overrides a label: not one given in this file, nor one the session has.
    answered = set(session.labeled()[0]) | {r for r, e in resolved if e.kind == "answer"}
    writes = [
        {
            "kind": entry.kind,
            "row": row,
            "label": entry.label,
            "annotator": annotator if annotator is not None else entry.annotator,
            "request_id": f"import:{format}:{entry.key}",
        }
        for row, entry in resolved
        if entry.kind == "answer" or row not in answered
    ]
    seqs = session._write_many(writes) if writes else []
    new = [w for w, s in zip(writes, seqs, strict=True) if s is not None]
    return {
        "n_entries": len(entries),
        "n_answered": sum(w["kind"] == "answer" for w in new),
        "n_skipped": sum(w["kind"] == "skip" for w in new),
        "n_already": len(writes) - len(new),
        "n_no_label": no_label,
        "n_unknown": len(unknown),
        "unknown": unknown[:10],
    }
