"""Files a session's labels are written to: one writer per format, and Label Studio's config.

A writer takes the labeled records (``row``, ``id``, ``text``, ``label``, ``annotator``,
``time``, in answer order), the output path and the session (for the label set, the skipped
items and the model's suggestions). The shapes follow each tool's documentation:

- ``"label-studio"``: Label Studio's JSON export, a list of tasks with ``data`` and
  ``annotations[].result[]`` of type ``choices``; a skipped item is a cancelled annotation
  (``was_cancelled: true``). It imports back into Label Studio as annotated tasks.
- ``"label-studio-tasks"``: every item as a Label Studio import task, with skprepal's suggestion
  and confidence as a prediction (``predictions[].result``, ``score``, ``model_version``), so that
  sorting by prediction score ascending lists the least certain first; items labeled in skprepal
  carry their annotation too.
- ``"prodigy"``: Prodigy's JSONL for the ``choice`` interface (``text``, ``options``,
  ``accept``, ``answer``, ``_input_hash``, ``_task_hash``); a skipped item is ``"ignore"``.
- ``"argilla"``: Argilla 2.x records as ``dataset.records.to_list(flatten=True)`` gives them
  (``text``, ``label.responses``, ``label.responses.users``, ``label.responses.status``,
  ``label.suggestion``, ``label.suggestion.score``, ``label.suggestion.agent``), one JSON list.
"""

from __future__ import annotations

import csv
import hashlib
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from skprepal.exceptions import InvalidInputError

__all__ = [
    "WRITERS",
    "ChoicesControl",
    "label_studio_config",
    "model_version",
    "parse_label_config",
    "write_csv",
    "write_jsonl",
]

Record = dict[str, Any]

#: The key skprepal's own exports put in a Label Studio task's ``data`` (and Prodigy's and
#: Argilla's metadata) to name the session item, so that a task finds its row even after an
#: edit of its text elsewhere.
ID_KEY = "skprepal_id"
#: Names used in the Label Studio files skprepal writes: ``<Choices name="label"
#: toName="text">`` over ``<Text name="text" value="$text">``.
LS_FROM_NAME, LS_TO_NAME, LS_TEXT_KEY = "label", "text", "text"
#: The Argilla field and question names of the records skprepal writes.
ARGILLA_FIELD, ARGILLA_QUESTION = "text", "label"

_PLAIN_KEYS = ("id", "text", "label", "annotator", "time")


def write_csv(records: Sequence[Record], path: Path, session: Any = None) -> None:
    """CSV with a header: ``id, text, label, annotator, time``."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(_PLAIN_KEYS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)


def write_jsonl(records: Sequence[Record], path: Path, session: Any = None) -> None:
    """One JSON object per line, with the keys of :func:`write_csv`."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(
            json.dumps({k: r[k] for k in _PLAIN_KEYS}, ensure_ascii=False) + "\n" for r in records
        )


# -- Label Studio --------------------------------------------------------------------------------


def label_studio_config(
    labels: Sequence[str],
    *,
    from_name: str = LS_FROM_NAME,
    to_name: str = LS_TO_NAME,
    text_key: str = LS_TEXT_KEY,
) -> str:
    """The Label Studio labeling config of a single-choice text classification project.

    Parameters
    ----------
    labels : sequence of str
        The choices, in the order Label Studio shows them (a session's ``labels``).
    from_name, to_name, text_key : str
        The ``Choices`` control's name, the ``Text`` object's name and the task ``data`` key the
        text is read from. The defaults are the names skprepal's Label Studio files use.

    Returns
    -------
    str
        XML for the project's "Labeling Interface" (or ``label_config`` in its REST API).

    Examples
    --------
    >>> print(label_studio_config(["billing", "login"]))
    <View>
      <Text name="text" value="$text"/>
      <Choices name="label" toName="text" choice="single" showInLine="true">
        <Choice value="billing"/>
        <Choice value="login"/>
      </Choices>
    </View>
    """
    choices = "\n".join(f"    <Choice value={quoteattr(str(label))}/>" for label in labels)
    return (
        "<View>\n"
        f"  <Text name={quoteattr(to_name)} value={quoteattr('$' + text_key)}/>\n"
        f"  <Choices name={quoteattr(from_name)} toName={quoteattr(to_name)} choice=\"single\" "
        "showInLine=\"true\">\n"
        f"{choices}\n"
        "  </Choices>\n"
        "</View>"
    )


@dataclass(frozen=True)
class ChoicesControl:
    """One ``<Choices>`` control of a Label Studio labeling config.

    ``tokens`` are what Label Studio writes in ``value.choices`` (a choice's ``alias`` if it has
    one, else its ``value``), ``values`` the choices as shown, in the same order.
    """

    from_name: str
    to_name: str
    text_key: str | None
    values: tuple[str, ...]
    tokens: tuple[str, ...]
    multiple: bool

    def token_of(self, label: str) -> str:
        """The result token of the choice showing ``label``."""
        return self.tokens[self.values.index(label)] if label in self.values else label

    def label_of(self, token: str) -> str:
        """The choice value of a result token (the token itself when it is no alias)."""
        return self.values[self.tokens.index(token)] if token in self.tokens else token


def parse_label_config(config: str, *, where: str = "the labeling config") -> list[ChoicesControl]:
    """The ``<Choices>`` controls of a Label Studio labeling config, in document order.

    Raises
    ------
    InvalidInputError
        If ``config`` is not XML.
    """
    try:
        root = ET.fromstring(config)
    except ET.ParseError as exc:
        raise InvalidInputError(f"{where} is not valid XML ({exc}).") from None
    objects = {}
    for element in root.iter():
        name, value = element.get("name"), element.get("value")
        if name is not None and value is not None and value.startswith("$"):
            objects[name] = value[1:]
    controls = []
    for element in root.iter():
        if element.tag.lower() != "choices":
            continue
        to_name = (element.get("toName") or "").split(",")[0].strip()
        values, tokens = [], []
        for choice in element.iter():
            if choice.tag.lower() == "choice" and choice.get("value") is not None:
                values.append(choice.get("value"))
                tokens.append(choice.get("alias") or choice.get("value"))
        controls.append(
            ChoicesControl(
                from_name=element.get("name", ""),
                to_name=to_name,
                text_key=objects.get(to_name),
                values=tuple(values),
                tokens=tuple(tokens),
                multiple=(element.get("choice") or "single").lower() == "multiple",
            )
        )
    return controls


def select_control(
    controls: Sequence[ChoicesControl], labels: Sequence[str], *, where: str
) -> ChoicesControl:
    """The control whose choices are the session's labels; a clear error when none is.

    A session is single-label: the control must be ``choice="single"`` and its choices must be
    exactly the session's labels (in any order), or Label Studio would be shown suggestions it
    cannot display and send labels the session cannot take.
    """
    if not controls:
        raise InvalidInputError(
            f"{where} has no <Choices> control; skprepal suggests one label per text, e.g.\n"
            + label_studio_config(labels)
        )
    wanted = set(labels)
    fitting = [c for c in controls if set(c.values) == wanted]
    if not fitting:
        best = controls[0]
        missing = [label for label in labels if label not in best.values]
        extra = [value for value in best.values if value not in wanted]
        raise InvalidInputError(
            f"the choices of <Choices name={best.from_name!r}> in {where} are not the session's "
            f"labels {list(labels)!r}: missing {missing!r}, not in the session {extra!r}. Use "
            "these choices, e.g.\n" + label_studio_config(labels)
        )
    control = fitting[0]
    if control.multiple:
        raise InvalidInputError(
            f"<Choices name={control.from_name!r}> in {where} allows several choices "
            "(choice=\"multiple\"); a skprepal session takes one label per text: use "
            "choice=\"single\"."
        )
    return control


def model_version(session: Any) -> str:
    """A name for the session's model as of its last journal entry: ``skprepal-<file>-<seq>``.

    It changes with every answer, skip and undo, so Label Studio (which keeps one prediction per
    task and model version) asks again after the model has changed.
    """
    entries = session.journal()
    seq = entries[-1]["seq"] if entries else 0
    return f"skprepal-{Path(session.path).stem}-{seq}"


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def _skipped_records(session: Any) -> list[Record]:
    """The items set aside (skipped and not undone), with who skipped them and when."""
    rows = [int(r) for r in session.learner.skipped_indices_]
    if not rows:
        return []
    entries = session.journal()
    undone = {e["undoes"] for e in entries if e["kind"] == "undo"}
    last_skip = {e["row"]: e for e in entries if e["kind"] == "skip" and e["seq"] not in undone}
    texts = session.texts
    records = []
    for row in rows:
        entry = last_skip.get(row, {})
        records.append(
            {
                "row": row,
                "id": session.item(row)["id"],
                "text": texts[row],
                "label": None,
                "annotator": entry.get("annotator"),
                "time": entry.get("time"),
            }
        )
    return records


def _choices_region(label: str, *, score: float | None = None) -> Record:
    region = {
        "from_name": LS_FROM_NAME,
        "to_name": LS_TO_NAME,
        "type": "choices",
        "value": {"choices": [label]},
    }
    if score is not None:
        region["score"] = score
    return region


def _ls_annotation(record: Record) -> Record:
    cancelled = record["label"] is None
    return {
        "result": [] if cancelled else [{**_choices_region(record["label"]), "origin": "manual"}],
        "was_cancelled": cancelled,
        "ground_truth": False,
        "created_at": _iso(record["time"]),
        "updated_at": _iso(record["time"]),
    }


def _ls_task(record: Record) -> Record:
    task: Record = {"data": {LS_TEXT_KEY: record["text"], ID_KEY: record["id"]}}
    if record.get("annotator") is not None:
        task["meta"] = {"skprepal_annotator": record["annotator"]}
    return task


def _dump_json(value: Any, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, ensure_ascii=False, indent=1)
        handle.write("\n")


def write_label_studio(records: Sequence[Record], path: Path, session: Any) -> None:
    """Label Studio's JSON export: the labeled (and skipped) items with their annotations."""
    tasks = []
    for record in [*records, *_skipped_records(session)]:
        tasks.append({**_ls_task(record), "annotations": [_ls_annotation(record)]})
    _dump_json(tasks, path)


def write_label_studio_tasks(records: Sequence[Record], path: Path, session: Any) -> None:
    """Every item as a Label Studio import task with skprepal's suggestion as a prediction."""
    done = {r["row"]: r for r in [*records, *_skipped_records(session)]}
    version = model_version(session)
    tasks = []
    texts = session.texts
    has_head = session.learner.estimator_ is not None
    for row in range(len(texts)):
        item = session.item(row)
        record = done.get(row, {"id": item["id"], "text": texts[row], "annotator": None})
        task = _ls_task(record)
        if has_head:
            task["predictions"] = [
                {
                    "model_version": version,
                    "score": item["confidence"],
                    "result": [_choices_region(item["suggestion"], score=item["confidence"])],
                }
            ]
        if row in done:
            task["annotations"] = [_ls_annotation(record)]
        tasks.append(task)
    _dump_json(tasks, path)


# -- Prodigy -------------------------------------------------------------------------------------


def stable_hash(*parts: Any) -> int:
    """A signed 32-bit integer digest of ``parts`` (Prodigy stores its hashes as such ints).

    These are not Prodigy's own hash values (it hashes with MurmurHash over its own keys); they
    are stable across runs and machines, so repeated exports agree and Prodigy keeps them.
    """
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False).encode("utf-8")
    value = int.from_bytes(hashlib.sha256(blob).digest()[:4], "big")
    return value - 2**32 if value >= 2**31 else value


def write_prodigy(records: Sequence[Record], path: Path, session: Any) -> None:
    """Prodigy ``choice`` annotations, one JSON object per line (``prodigy db-in`` reads it)."""
    options = [{"id": label, "text": label} for label in session.labels]
    with open(path, "w", encoding="utf-8") as handle:
        for record in [*records, *_skipped_records(session)]:
            input_hash = stable_hash(record["text"])
            task = {
                "text": record["text"],
                "options": options,
                "accept": [] if record["label"] is None else [record["label"]],
                "answer": "ignore" if record["label"] is None else "accept",
                "_input_hash": input_hash,
                "_task_hash": stable_hash(input_hash, [o["id"] for o in options]),
                "_view_id": "choice",
                "meta": {ID_KEY: record["id"]},
            }
            if record["annotator"] is not None:
                task["_annotator_id"] = record["annotator"]
            if record["time"] is not None:
                task["_timestamp"] = int(record["time"])
            handle.write(json.dumps(task, ensure_ascii=False) + "\n")


# -- Argilla -------------------------------------------------------------------------------------


def write_argilla(records: Sequence[Record], path: Path, session: Any) -> None:
    """Argilla 2.x records, flattened as ``dataset.records.to_list(flatten=True)`` gives them."""
    q = ARGILLA_QUESTION
    agent = model_version(session)
    out = []
    for record in [*records, *_skipped_records(session)]:
        item = session.item(record["row"])
        discarded = record["label"] is None
        flat = {
            "id": record["id"],
            "status": "completed",
            "_server_id": None,
            ARGILLA_FIELD: record["text"],
            ID_KEY: record["id"],
            f"{q}.responses": [record["label"]],
            f"{q}.responses.users": [record["annotator"]],
            f"{q}.responses.status": ["discarded" if discarded else "submitted"],
        }
        if item["suggestion"] is not None:
            flat[f"{q}.suggestion"] = item["suggestion"]
            flat[f"{q}.suggestion.score"] = item["confidence"]
            flat[f"{q}.suggestion.agent"] = agent
        out.append(flat)
    _dump_json(out, path)


#: Format name -> writer(records, path, session).
WRITERS: dict[str, Callable[[Sequence[Record], Path, Any], None]] = {
    "csv": write_csv,
    "jsonl": write_jsonl,
    "label-studio": write_label_studio,
    "label-studio-tasks": write_label_studio_tasks,
    "prodigy": write_prodigy,
    "argilla": write_argilla,
}
