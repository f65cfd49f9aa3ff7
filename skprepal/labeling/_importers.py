"""Labels made elsewhere, into a session: Label Studio, Prodigy, Argilla and skprepal's own files.

A reader turns a file into entries (an answer, a skip or nothing per annotated item) and says
exactly where a file departs from the shape it claims; :func:`import_labels` matches each entry
to a session row (by the id skprepal's own exports carry, else by text) and journals them in one
transaction, with the source tool as annotator. Importing the same file twice journals nothing
new: each entry's request id is a digest of its source record.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skprepal._validation import check_option
from skprepal.exceptions import InvalidInputError
from skprepal.labeling._formats import ARGILLA_FIELD, ARGILLA_QUESTION, ID_KEY, LS_TEXT_KEY

__all__ = ["IMPORT_FORMATS", "import_labels", "ls_outcome", "ls_person"]


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


def _digest(value: Any) -> str:
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:32]


def _fail(path: Path, where: str, problem: str) -> InvalidInputError:
    return InvalidInputError(f"{str(path)!r}: {where}: {problem}")


def _load_json(path: Path, expected: str) -> Any:
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


def _json_lines(path: Path, expected: str) -> list[tuple[int, Any]]:
    out = []
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    out.append((number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise _fail(
                        path, f"line {number}", f"is not JSON ({exc.msg}); {expected}"
                    ) from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{str(path)!r} is not UTF-8 text; {expected}.") from None
    return out


# -- Label Studio --------------------------------------------------------------------------------

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
            raise _fail(path, where, f"data has no text under {text_key!r} (keys: {sorted(data)})")
        return value
    if isinstance(data.get(LS_TEXT_KEY), str):
        return data[LS_TEXT_KEY]
    strings = [k for k, v in data.items() if isinstance(v, str) and k != ID_KEY]
    if len(strings) == 1:
        return data[strings[0]]
    if ID_KEY in data:
        return None
    raise _fail(
        path, where,
        f"cannot tell which of the data keys {sorted(data)} holds the text; pass text_key=...",
    )


def _read_label_studio(
    path: Path, *, labels: Sequence[str], from_name: str | None = None,
    text_key: str | None = None,
) -> list[Entry]:
    tasks = _load_json(path, _LS_EXPECTED)
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
            raise _fail(path, where, f"has no 'data' object; {_LS_EXPECTED}")
        annotations = task.get("annotations") or []
        if not isinstance(annotations, list):
            raise _fail(path, where, "'annotations' is not a list")
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
                key=_digest([data, annotations]),
            )
        )
    return entries


# -- Prodigy -------------------------------------------------------------------------------------

_PRODIGY_EXPECTED = (
    "expected Prodigy annotations (prodigy db-out): one JSON object per line with 'text', "
    "'answer' (accept, reject or ignore) and 'label' or 'options' + 'accept'"
)


def _read_prodigy(path: Path, *, labels: Sequence[str]) -> list[Entry]:
    entries = []
    for number, task in _json_lines(path, _PRODIGY_EXPECTED):
        where = f"line {number}"
        if not isinstance(task, dict) or not isinstance(task.get("text"), str):
            raise _fail(path, where, f"has no 'text' string; {_PRODIGY_EXPECTED}")
        answer = task.get("answer")
        if answer not in ("accept", "reject", "ignore"):
            raise _fail(
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
                raise _fail(path, where, "'options' must be a list of objects with an 'id'")
            if not isinstance(accept, list):
                raise _fail(path, where, "'accept' must be a list of option ids")
            if answer == "accept" and len(accept) > 1:
                raise _fail(
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
            raise _fail(
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
                key=_digest(task),
            )
        )
    return entries


# -- Argilla -------------------------------------------------------------------------------------

_ARGILLA_EXPECTED = (
    "expected Argilla 2.x records: a JSON list (or JSON Lines) of records as "
    "dataset.records.to_list(flatten=True) gives them, or as dataset.records.to_json writes them"
)


def _argilla_records(path: Path) -> list[tuple[str, Any]]:
    try:
        records = _load_json(path, _ARGILLA_EXPECTED)
    except InvalidInputError:
        # Not one JSON document: JSON Lines (as Hugging Face's Dataset.to_json writes them)?
        return [(f"line {n}", r) for n, r in _json_lines(path, _ARGILLA_EXPECTED)]
    if isinstance(records, dict):  # JSON Lines of one record
        return [("line 1", records)]
    if not isinstance(records, list):
        raise InvalidInputError(
            f"{str(path)!r} holds a JSON {type(records).__name__}; {_ARGILLA_EXPECTED}."
        )
    return [(f"record {n}", r) for n, r in enumerate(records, start=1)]


def _read_argilla(
    path: Path, *, labels: Sequence[str], field: str = ARGILLA_FIELD,
    question: str = ARGILLA_QUESTION,
) -> list[Entry]:
    entries = []
    for where, record in _argilla_records(path):
        if not isinstance(record, dict):
            raise _fail(path, where, f"is not an object; {_ARGILLA_EXPECTED}")
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
                raise _fail(path, where, f"'{question}.responses' is not a list")
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
            raise _fail(
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
                    raise _fail(
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
                key=_digest(record),
            )
        )
    return entries


# -- skprepal's own csv / jsonl ------------------------------------------------------------------

_OWN_EXPECTED = "expected skprepal's export: columns (keys) id, text, label, annotator, time"


def _own_entries(path: Path, rows: list[tuple[str, Any]]) -> list[Entry]:
    entries = []
    for where, row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or "label" not in row:
            keys = sorted(row) if isinstance(row, dict) else type(row).__name__
            raise _fail(path, where, f"has no 'text' and 'label' ({keys}); {_OWN_EXPECTED}")
        label = row["label"]
        empty = label is None or label == ""
        entries.append(
            Entry(
                where=where, kind=None if empty else "answer",
                label=None if empty else str(label), text=row["text"],
                item_id=None if row.get("id") in (None, "") else str(row["id"]),
                annotator=row.get("annotator") or None, key=_digest(row),
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
    return _own_entries(path, [(f"line {n}", r) for n, r in _json_lines(path, _OWN_EXPECTED)])


#: Format name -> reader(path, *, labels, **options).
READERS: dict[str, Callable[..., list[Entry]]] = {
    "csv": _read_csv,
    "jsonl": _read_jsonl,
    "label-studio": _read_label_studio,
    "label-studio-tasks": _read_label_studio,
    "prodigy": _read_prodigy,
    "argilla": _read_argilla,
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
            raise _fail(
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
