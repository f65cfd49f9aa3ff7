"""LabelingSession: a labeling project a person can trust, kept in one SQLite file."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone

from skprepal._validation import check_texts
from skprepal.exceptions import InvalidInputError
from skprepal.labeling._formats import WRITERS
from skprepal.labeling._journal import Event, Journal
from skprepal.labeling._spec import from_spec, to_spec

__all__ = ["LabelingSession", "EXPORT_FORMATS"]

#: Formats :meth:`LabelingSession.export` writes.
EXPORT_FORMATS = tuple(WRITERS)
#: Seconds an item handed out by ``next`` stays reserved for its annotator.
LEASE_SECONDS = 600.0


def _check_labels(labels: Any) -> list[str]:
    if isinstance(labels, str) or not isinstance(labels, Sequence) or len(labels) < 2:
        raise InvalidInputError(
            f"labels={labels!r} must be a list of at least two label names, e.g. "
            "labels=['billing', 'login']."
        )
    bad = [label for label in labels if not isinstance(label, str) or not label.strip()]
    if bad:
        raise InvalidInputError(f"label {bad[0]!r} must be a non-empty string.")
    if len(set(labels)) != len(labels):
        raise InvalidInputError(f"labels={list(labels)!r} repeats a label; list each once.")
    return list(labels)


def _check_ids(ids: Any, n: int) -> list[str]:
    if ids is None:
        return [str(i) for i in range(n)]
    ids = [str(i) for i in ids]
    if len(ids) != n:
        raise InvalidInputError(f"got {len(ids)} ids for {n} texts; give one id per text.")
    if len(set(ids)) != n:
        raise InvalidInputError("ids repeat a value; every text needs its own id.")
    return ids


def _texts_digest(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(hashlib.sha256(text.encode("utf-8")).digest())
    return digest.hexdigest()


class LabelingSession:
    """A labeling project in one SQLite file: texts, label set, settings and a journal.

    Every answer, skip and undo is committed to the file before the call returns, and the
    model that picks the next item has seen every answer so far (its head refits in
    milliseconds on the frozen embeddings). :meth:`open` replays the journal into a
    :class:`~skprepal.PRepALLearner`, with the embeddings from the embedding cache, and reaches
    the state of an uninterrupted run: the same labels and the same next query. Several
    processes may open one file (two annotators): each is handed distinct items and no answer is
    lost.

    Do not call the constructor: use :meth:`create` or :meth:`open`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skprepal.labeling import LabelingSession
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tickets.sqlite3"
    >>> texts = [f"{w} please, ticket {i}" for i, w in enumerate(["refund my card",
    ...          "cannot log in", "charged twice", "password reset"] * 5)]
    >>> session = LabelingSession.create(path, texts, labels=["billing", "login"])
    >>> item = session.next()[0]
    >>> session.answer(item["row"], "billing", annotator="ana")["label"]
    'billing'
    >>> session.progress()["n_labeled"], session.close()
    (1, None)
    >>> LabelingSession.open(path).labeled() == ([item["row"]], ["billing"])
    True
    """

    def __init__(self, journal: Journal, *, _token: object = None) -> None:
        if _token is not _CONSTRUCT:
            raise TypeError("use LabelingSession.create(...) or LabelingSession.open(path)")
        self._journal = journal
        self._holder = uuid.uuid4().hex
        self._seen = 0
        self._active: dict[int, Event] = {}  # seq -> answer or skip not undone
        self._by_row: dict[int, list[int]] = {}  # row -> seqs of its active events, in order
        self._load()

    # -- making and opening ----------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        texts: Any,
        labels: Sequence[str],
        *,
        embedder: Any = None,
        learner: Any = None,
        ids: Sequence[Any] | None = None,
    ) -> LabelingSession:
        """Make a new session file and embed its texts once.

        Parameters
        ----------
        path : path-like
            The new file (it must not exist).
        texts : list, ndarray or pandas Series of str
            The items to label.
        labels : list of str
            The label set, in the order the labeling interface shows it.
        embedder : FrozenLLMTransformer or None
            The encoder (None: the default MiniLM). Without a ``cache_dir`` it gets one next to
            the session file, ``<path>.cache``, so that :meth:`open` reads the vectors back.
        learner : PRepALLearner or None
            The active-learning settings (None: margin sampling, the pool scored on every CPU,
            ``PRepALLearner(n_jobs=-1)``). Its ``classes`` are
            set to ``labels`` and its ``missing_label`` to None; with ``random_state=None`` a
            seed is drawn and stored, so that a reopened session asks the same questions.
        ids : sequence or None
            One id per text (kept as strings), e.g. the source file's keys; default ``"0"``,
            ``"1"``...

        Returns
        -------
        LabelingSession
        """
        from skprepal.embedding import FrozenLLMTransformer
        from skprepal.learner import PRepALLearner

        texts = check_texts(texts, name="texts")
        if texts.ndim != 1:
            raise InvalidInputError("a labeling session takes one text per item, not text pairs.")
        labels = _check_labels(labels)
        ids = _check_ids(ids, texts.shape[0])
        path = Path(path)
        embedder = FrozenLLMTransformer() if embedder is None else clone(embedder)
        if embedder.get_params().get("cache_dir", "") is None:
            embedder.set_params(cache_dir=str(path.resolve()) + ".cache")
        # A person waits on every query: by default the pool is scored on every CPU.
        learner = PRepALLearner(n_jobs=-1) if learner is None else clone(learner)
        learner.set_params(classes=labels, missing_label=None)
        if learner.random_state is None:
            learner.set_params(random_state=int(np.random.SeedSequence().entropy % 2**31))
        from skprepal import __version__

        meta = {
            "labels": labels,
            "embedder": to_spec(embedder, name="embedder"),
            "learner": to_spec(learner, name="learner"),
            "texts_sha256": _texts_digest(texts.tolist()),
            "skprepal_version": __version__,
        }
        journal = Journal.create(path, ids=ids, texts=texts.tolist(), meta=meta)
        try:
            return cls(journal, _token=_CONSTRUCT)
        except BaseException:
            # Embedding failed or was interrupted: no half-made session is left to be reopened.
            journal.close()
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
            raise

    @classmethod
    def open(cls, path: str | os.PathLike) -> LabelingSession:
        """Open a session file and replay its journal.

        Parameters
        ----------
        path : path-like
            A file made by :meth:`create`.

        Returns
        -------
        LabelingSession
            In the state the journal describes: the same labels, skips and next query as the
            session that wrote it.
        """
        return cls(Journal(path), _token=_CONSTRUCT)

    def _load(self) -> None:
        journal = self._journal
        self.labels = list(journal.meta("labels"))
        self._ids, self._texts = journal.items()
        if _texts_digest(self._texts) != journal.meta("texts_sha256"):
            raise InvalidInputError(
                f"the texts in {str(journal.path)!r} do not match the digest recorded when it "
                "was made; the file was edited outside skprepal."
            )
        self._row_of_id = {ident: row for row, ident in enumerate(self._ids)}
        self.embedder = from_spec(journal.meta("embedder"))
        self._vectors = self.embedder.fit_transform(self._texts)
        self._learner = from_spec(journal.meta("learner"))
        unlabeled = np.full(len(self._texts), None, dtype=object)
        self._learner.fit(self._vectors, unlabeled)
        self._sync()

    def close(self) -> None:
        """Close the file (every answer is already saved)."""
        self._journal.close()

    def __enter__(self) -> LabelingSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the journal into the learner ------------------------------------------------------------

    def _sync(self) -> None:
        """Apply journal entries written since the last sync (by any process); refit once."""
        events = self._journal.events(after=self._seen)
        if not events:
            return
        touched: list[int] = []
        for event in events:
            self._seen = event.seq
            if event.kind == "undo":
                undone = self._active.pop(event.undoes, None)
                if undone is not None:
                    self._by_row[undone.row].remove(undone.seq)
                    touched.append(undone.row)
            else:
                self._active[event.seq] = event
                self._by_row.setdefault(event.row, []).append(event.seq)
                touched.append(event.row)
        learner = self._learner
        changed = False
        for row in dict.fromkeys(touched):
            seqs = self._by_row.get(row, [])
            want = self._active[seqs[-1]] if seqs else None
            is_labeled = row in set(learner.labeled_indices_.tolist())
            is_skipped = row in set(learner.skipped_indices_.tolist())
            if want is None:
                if is_labeled or is_skipped:
                    learner.forget([row], refit=False)
                    changed = True
            elif want.kind == "answer":
                current = self._label_of(row) if is_labeled else None
                if current != want.label:
                    learner.teach([row], [want.label], refit=False)
                    changed = True
            elif not is_skipped:
                if is_labeled:
                    learner.forget([row], refit=False)
                learner.skip([row])
                changed = True
        if changed:
            learner.refit()

    def _label_of(self, row: int) -> Any:
        order = self._learner.labeled_indices_.tolist()
        return self._learner.y_labeled_[order.index(row)]

    def _check_row(self, row: Any) -> int:
        if isinstance(row, (bool, np.bool_)) or not isinstance(row, (int, np.integer)):
            raise InvalidInputError(f"row={row!r} must be an integer row number.")
        if not 0 <= int(row) < len(self._texts):
            raise InvalidInputError(
                f"row {row} is out of range: the session has {len(self._texts)} items "
                f"(0..{len(self._texts) - 1})."
            )
        return int(row)

    def _check_label(self, label: Any) -> str:
        if label not in self.labels:
            import difflib

            close = difflib.get_close_matches(str(label), self.labels, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InvalidInputError(
                f"label {label!r} is not one of the session's labels {self.labels!r}.{hint}"
            )
        return str(label)

    # -- labeling --------------------------------------------------------------------------

    @property
    def learner(self) -> Any:
        """The :class:`~skprepal.PRepALLearner` as of the last answer (of any process)."""
        self._sync()
        return self._learner

    def row_of(self, item_id: Any) -> int:
        """The row of the item with id ``item_id``."""
        try:
            return self._row_of_id[str(item_id)]
        except KeyError:
            raise InvalidInputError(f"no item has id {item_id!r} in this session.") from None

    def item(self, row: int) -> dict[str, Any]:
        """``row``, ``id`` and ``text`` of one item, plus the model's ``suggestion`` and
        ``confidence`` (None while no head is fit)."""
        row = self._check_row(row)
        return self._describe([row])[0]

    def _describe(self, rows: Sequence[int]) -> list[dict[str, Any]]:
        learner = self._learner
        suggestions: list[Any] = [None] * len(rows)
        confidences: list[Any] = [None] * len(rows)
        if learner.estimator_ is not None and len(rows):
            proba = learner.predict_proba(self._vectors[list(rows)])
            best = proba.argmax(axis=1)
            suggestions = [str(learner.classes_[b]) for b in best]
            confidences = [float(p[b]) for p, b in zip(proba, best, strict=True)]
        return [
            {
                "row": int(row),
                "id": self._ids[row],
                "text": self._texts[row],
                "suggestion": suggestion,
                "confidence": confidence,
            }
            for row, suggestion, confidence in zip(rows, suggestions, confidences, strict=True)
        ]

    def next(self, n: int = 1, *, annotator: str | None = None) -> list[dict[str, Any]]:
        """The next items to label, chosen by a model that has seen every answer so far.

        Items handed to one annotator (or process) are reserved for it for ten minutes, so a
        second annotator on the same file gets other items; asking again returns the same ones
        until they are answered.

        Parameters
        ----------
        n : int, default=1
            How many items.
        annotator : str or None
            Who asks; None stands for this process.

        Returns
        -------
        list of dict
            ``row``, ``id``, ``text``, ``suggestion`` and ``confidence`` per item; fewer than
            ``n`` (or none) when the pool runs out.
        """
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise InvalidInputError(f"n={n!r} must be a positive integer.")
        holder = annotator or self._holder
        with self._journal.transaction(durable=False) as conn:
            self._sync()  # under the write lock: answers of other processes are all in
            taken = self._journal.leased_by_others(conn, holder)
            candidates = self._learner.query(int(n) + len(taken))
            rows = [int(r) for r in candidates if int(r) not in taken][: int(n)]
            self._journal.lease(conn, rows, holder, LEASE_SECONDS)
        return self._describe(rows)

    def answer(
        self,
        row: int,
        label: str,
        *,
        annotator: str | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Give ``row`` a label; saved to the file before this returns.

        Parameters
        ----------
        row : int
            The item's row (``next()[i]["row"]``).
        label : str
            One of ``labels``.
        annotator : str or None
            Who answered, kept in the journal.
        request_id : str or None
            A client's id for this answer: an answer retried with the same id (after a lost
            response) is journaled once.

        Returns
        -------
        dict
            ``seq`` (the journal entry; None for a retried ``request_id``), ``row`` and ``label``.

        Raises
        ------
        InvalidInputError
            For an unknown row or label; nothing is written.
        SessionStorageError
            If the file cannot be written (read-only, disk full); the answer is not saved.
        """
        row, label = self._check_row(row), self._check_label(label)
        return self._write("answer", row, label=label, annotator=annotator, request_id=request_id)

    def skip(
        self, row: int, *, annotator: str | None = None, request_id: str | None = None
    ) -> dict[str, Any]:
        """Set ``row`` aside: it gets no label and is not offered again. Saved before returning."""
        row = self._check_row(row)
        return self._write("skip", row, annotator=annotator, request_id=request_id)

    def _write(self, kind: str, row: int, **fields: Any) -> dict[str, Any]:
        with self._journal.transaction() as conn:
            seq = self._journal.append(conn, kind, row, **fields)
        self._sync()
        return {"seq": seq, "row": row, "label": fields.get("label")}

    def _write_many(self, entries: Sequence[dict[str, Any]]) -> list[int | None]:
        """Journal many answers and skips in one transaction, then refit once (imports).

        Each entry has ``kind`` ("answer" or "skip"), ``row`` and optionally ``label``,
        ``annotator`` and ``request_id``; rows and labels are checked before anything is
        written. Returns each entry's seq (None for a request id already journaled).
        """
        checked = []
        for entry in entries:
            row = self._check_row(entry["row"])
            label = self._check_label(entry["label"]) if entry["kind"] == "answer" else None
            checked.append((entry["kind"], row, label, entry))
        with self._journal.transaction() as conn:
            seqs = [
                self._journal.append(
                    conn, kind, row, label=label, annotator=entry.get("annotator"),
                    request_id=entry.get("request_id"),
                )
                for kind, row, label, entry in checked
            ]
        self._sync()
        return seqs

    def import_labels(self, path: str | os.PathLike, format: str, **options: Any) -> dict:
        """Answer (and skip) items with labels made in another tool; the session goes on from
        there. See :func:`skprepal.labeling.import_labels` for the formats and options."""
        from skprepal.labeling._importers import import_labels

        return import_labels(self, path, format, **options)

    def undo(
        self,
        *,
        annotator: str | None = None,
        request_id: str | None = None,
        seq: int | None = None,
    ) -> dict[str, Any] | None:
        """Take back the last answer or skip (of ``annotator``, or of anyone if None).

        The item returns to the state before it: the pool, or an earlier answer it had.

        Parameters
        ----------
        annotator : str or None
            Whose last entry to take back (None: anyone's); kept in the journal.
        request_id : str or None
            A client's id for this undo: retried with the same id, it is journaled once.
        seq : int or None
            Take back this journal entry (``answer(...)["seq"]``) rather than the last one, e.g.
            when an annotation made in another tool is deleted there. Nothing happens if it is
            no longer in force.

        Returns
        -------
        dict or None
            The item taken back (as :meth:`item` describes it, plus ``undone``: "answer" or
            "skip", and ``label``), or None when there is nothing to undo.
        """
        with self._journal.transaction() as conn:
            self._sync()
            if seq is not None:
                mine = [self._active[seq]] if seq in self._active else []
            else:
                mine = [
                    e for e in self._active.values()
                    if annotator is None or e.annotator == annotator
                ]
            if not mine:
                return None
            last = max(mine, key=lambda e: e.seq)
            seq = self._journal.append(
                conn, "undo", last.row, undoes=last.seq, annotator=annotator,
                request_id=request_id,
            )
        self._sync()
        if seq is None:  # a retried request: already undone
            return None
        return {**self.item(last.row), "undone": last.kind, "label": last.label}

    # -- reading the state -----------------------------------------------------------------

    def progress(self) -> dict[str, Any]:
        """Counts: ``n_labeled``, ``n_skipped``, ``n_pool``, ``per_class`` (every label)."""
        learner = self.learner
        counts = dict.fromkeys(self.labels, 0)
        for label in learner.y_labeled_.tolist():
            counts[label] += 1
        n_labeled = int(learner.labeled_indices_.size)
        n_skipped = int(learner.skipped_indices_.size)
        return {
            "n_items": len(self._texts),
            "n_labeled": n_labeled,
            "n_skipped": n_skipped,
            "n_pool": len(self._texts) - n_labeled - n_skipped,
            "per_class": counts,
        }

    def labeled(self) -> tuple[list[int], list[str]]:
        """``(rows, labels)`` of the labeled items, in answer order."""
        learner = self.learner
        return learner.labeled_indices_.tolist(), [str(v) for v in learner.y_labeled_]

    def journal(self) -> list[dict[str, Any]]:
        """Every journal entry, oldest first: ``seq``, ``kind``, ``row``, ``label``, ``undoes``,
        ``annotator`` and ``time`` (seconds since the epoch)."""
        return [asdict(event) for event in self._journal.events()]

    def export(self, path: str | os.PathLike, format: str = "csv") -> Path:
        """Write the labeled items to ``path``, in answer order.

        Parameters
        ----------
        path : path-like
            The output file.
        format : str, default="csv"
            One of :data:`~skprepal.labeling.EXPORT_FORMATS`: ``"csv"`` (columns ``id, text,
            label, annotator, time``), ``"jsonl"`` (the same keys, one object per line),
            ``"label-studio"`` (Label Studio's JSON export of annotated tasks),
            ``"label-studio-tasks"`` (every item as a Label Studio task with skprepal's
            suggestion and score as a prediction), ``"prodigy"`` (Prodigy JSONL) or
            ``"argilla"`` (Argilla 2.x flattened records). The last four include skipped items,
            as each tool marks them.

        Returns
        -------
        Path
        """
        from skprepal._validation import check_option

        check_option("format", format, WRITERS)
        self._sync()
        answers = {}
        for event in self._active.values():
            if event.kind == "answer":
                answers[event.row] = event  # the last active answer of each row
        rows, labels = self.labeled()
        records = [
            {
                "row": r,
                "id": self._ids[r],
                "text": self._texts[r],
                "label": label,
                "annotator": answers[r].annotator if r in answers else None,
                "time": answers[r].time if r in answers else None,
            }
            for r, label in zip(rows, labels, strict=True)
        ]
        path = Path(path)
        WRITERS[format](records, path, self)
        return path

    @property
    def texts(self) -> list[str]:
        """Every item's text, in row order."""
        return list(self._texts)

    @property
    def path(self) -> Path:
        """The session file."""
        return self._journal.path


_CONSTRUCT = object()
