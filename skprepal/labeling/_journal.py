"""The session file: one SQLite database holding the texts, the settings and a journal.

The journal is append-only: every answer, skip and undo is a row, committed (write-ahead log,
``synchronous=FULL``) before the call that made it returns. Nothing in the file is pickled; the
settings are JSON. Leases hand items to annotators, so that two processes working on one file
are given distinct items.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skprepal.exceptions import InvalidInputError, SessionStorageError

__all__ = ["Event", "Journal", "SESSION_FORMAT"]

#: Bumped when the layout of a session file changes.
SESSION_FORMAT = 1

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items (row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, text TEXT NOT NULL);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('answer', 'skip', 'undo')),
    row INTEGER NOT NULL REFERENCES items(row),
    label TEXT,
    undoes INTEGER REFERENCES events(seq),
    annotator TEXT,
    time REAL NOT NULL,
    request_id TEXT UNIQUE
);
CREATE TABLE leases (row INTEGER PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL);
"""


@dataclass(frozen=True)
class Event:
    """One journal entry."""

    seq: int
    kind: str
    row: int
    label: Any
    undoes: int | None
    annotator: str | None
    time: float


def _storage_error(path: Path, exc: sqlite3.Error) -> SessionStorageError:
    message = str(exc)
    if "readonly" in message or "read-only" in message:
        why = "the file (or its folder) is read-only"
    elif "full" in message:
        why = "the disk is full"
    elif "locked" in message or "busy" in message:
        why = "another process held the file locked for too long"
    else:
        why = message
    return SessionStorageError(
        f"could not write to the session file {str(path)!r}: {why}. The last answer was NOT "
        "saved; fix the cause and give it again."
    )


class Journal:
    """Open a session file (``create`` makes a new one).

    Parameters
    ----------
    path : path-like
        The SQLite file.
    timeout : float, default=30.0
        Seconds to wait for another process's write lock.
    """

    def __init__(self, path: str | os.PathLike, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(
                f"no session file at {str(self.path)!r}; create one with "
                "LabelingSession.create(path, texts, labels=[...])."
            )
        try:
            self._conn = self._connect(timeout)
            version = self.meta("format")
        except (sqlite3.DatabaseError, KeyError):
            if hasattr(self, "_conn"):
                self._conn.close()
            raise InvalidInputError(
                f"{str(self.path)!r} is not a skprepal session file (no session tables in it)."
            ) from None
        if version != SESSION_FORMAT:
            self._conn.close()
            raise InvalidInputError(
                f"{str(self.path)!r} is a session file of format {version}; this skprepal reads "
                f"format {SESSION_FORMAT}."
            )

    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        *,
        ids: Sequence[str],
        texts: Sequence[str],
        meta: dict[str, Any],
    ) -> Journal:
        """Write a new session file with its items and settings."""
        path = Path(path)
        if path.exists():
            raise FileExistsError(
                f"{str(path)!r} exists; open it with LabelingSession.open(path), or choose "
                "another path."
            )
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO items (row, id, text) VALUES (?, ?, ?)",
                ((i, ident, text) for i, (ident, text) in enumerate(zip(ids, texts, strict=True))),
            )
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                ((k, json.dumps(v)) for k, v in {"format": SESSION_FORMAT, **meta}.items()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.close()
            path.unlink(missing_ok=True)
            raise
        conn.close()
        return cls(path)

    def _connect(self, timeout: float) -> sqlite3.Connection:
        # check_same_thread=False: a web server calls the session from its worker threads (one
        # at a time: the app holds a lock around every call).
        conn = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed answer survives a crash of the machine, not only of the process.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) so processes never interleave.

        ``durable=False`` commits without waiting for the disk (``synchronous=NORMAL``: still
        atomic, and still ordered before every later commit): for leases, which a crash may
        lose without harm, so that handing out the next item costs no second disk flush.
        Answers, skips and undos are always written durably.
        """
        if not durable:
            self._conn.execute("PRAGMA synchronous=NORMAL")
        try:
            yield from self._write_transaction()
        finally:
            if not durable:
                self._conn.execute("PRAGMA synchronous=FULL")

    def _write_transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _storage_error(self.path, exc) from None
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise _storage_error(self.path, exc) from None
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    # -- reading -------------------------------------------------------------------------------

    def meta(self, key: str) -> Any:
        """A setting stored at creation."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return json.loads(row[0])

    def items(self) -> tuple[list[str], list[str]]:
        """``(ids, texts)`` in row order."""
        rows = self._conn.execute("SELECT id, text FROM items ORDER BY row").fetchall()
        return [r[0] for r in rows], [r[1] for r in rows]

    def events(self, after: int = 0) -> list[Event]:
        """Journal entries with ``seq > after``, in order."""
        cursor = self._conn.execute(
            "SELECT seq, kind, row, label, undoes, annotator, time FROM events "
            "WHERE seq > ? ORDER BY seq",
            (after,),
        )
        return [
            Event(seq, kind, row, None if label is None else json.loads(label), undoes, who, t)
            for seq, kind, row, label, undoes, who, t in cursor
        ]

    # -- writing -------------------------------------------------------------------------------

    def append(
        self,
        conn: sqlite3.Connection,
        kind: str,
        row: int,
        *,
        label: Any = None,
        undoes: int | None = None,
        annotator: str | None = None,
        request_id: str | None = None,
    ) -> int | None:
        """Add an event inside ``transaction()``; None if ``request_id`` was already journaled."""
        if request_id is not None:
            seen = conn.execute(
                "SELECT seq FROM events WHERE request_id = ?", (request_id,)
            ).fetchone()
            if seen is not None:
                return None
        cursor = conn.execute(
            "INSERT INTO events (kind, row, label, undoes, annotator, time, request_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                kind,
                int(row),
                None if label is None else json.dumps(label),
                undoes,
                annotator,
                time.time(),
                request_id,
            ),
        )
        conn.execute("DELETE FROM leases WHERE row = ?", (int(row),))
        return int(cursor.lastrowid)

    def leased_by_others(self, conn: sqlite3.Connection, holder: str) -> set[int]:
        """Rows another holder has a live lease on."""
        cursor = conn.execute(
            "SELECT row FROM leases WHERE holder != ? AND expires > ?", (holder, time.time())
        )
        return {r[0] for r in cursor}

    def lease(self, conn: sqlite3.Connection, rows: Sequence[int], holder: str, seconds: float):
        """Hand ``rows`` to ``holder`` for ``seconds``."""
        expires = time.time() + seconds
        conn.executemany(
            "INSERT OR REPLACE INTO leases (row, holder, expires) VALUES (?, ?, ?)",
            ((int(r), holder, expires) for r in rows),
        )
