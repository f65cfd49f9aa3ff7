"""On-disk, content-addressed cache of embeddings in one SQLite file.

SQLite gives what a cache shared by processes needs without a home-made file format: every write
is a transaction (a process killed mid-write leaves the previous state, never a torn row), several
processes may read and write one file (write-ahead log plus a busy timeout), and vectors are stored
as raw little-endian float32 bytes, so nothing is ever unpickled on the way back.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from skprepal.exceptions import CacheError

__all__ = ["EmbeddingCache", "cache_namespace", "text_keys"]

CACHE_FILE = "embeddings.sqlite3"
# Bumped whenever the meaning of a stored vector changes, so old entries are never served.
CACHE_FORMAT = 1
# SQLite limits the number of bound parameters of one statement (999 in older builds).
_LOOKUP_CHUNK = 900
_DTYPE = np.dtype("<f4")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (key BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_digests (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, digest TEXT NOT NULL
);
"""


def cache_namespace(**settings: Any) -> bytes:
    """Digest of everything besides the text that decides an embedding.

    Parameters
    ----------
    **settings
        JSON-serialisable settings: the model's fingerprint, pooling, truncation length,
        normalisation, ...

    Returns
    -------
    bytes
        A 32-byte digest that prefixes every key of these settings.
    """
    payload = json.dumps({"format": CACHE_FORMAT, **settings}, sort_keys=True)
    return hashlib.sha256(payload.encode()).digest()


def text_keys(namespace: bytes, texts: np.ndarray) -> list[bytes]:
    """Return one 20-byte key per text (or text pair) under ``namespace``.

    Each part is length-prefixed, so ``("ab", "c")`` and ``("a", "bc")`` never collide.
    """
    rows = texts.reshape(len(texts), -1)
    keys = []
    for row in rows:
        digest = hashlib.blake2b(namespace, digest_size=20)
        for part in row:
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "little"))
            digest.update(data)
        keys.append(digest.digest())
    return keys


class EmbeddingCache:
    """A folder holding one SQLite file of embeddings, shareable between processes.

    Parameters
    ----------
    directory : str or path-like
        The cache folder; created when missing.
    timeout : float, default=120
        Seconds to wait for another process's write to finish before failing.
    """

    def __init__(self, directory: str | os.PathLike, *, timeout: float = 120.0) -> None:
        self.directory = Path(directory).expanduser()
        self.path = self.directory / CACHE_FILE
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._db = self._open(timeout)
        except (OSError, sqlite3.Error) as exc:
            raise CacheError(
                f"cannot open the embedding cache at {str(self.path)!r}: {exc}. Check that "
                "cache_dir is a writable folder, or pass cache_dir=None."
            ) from exc

    def _open(self, timeout: float) -> sqlite3.Connection:
        deadline = time.monotonic() + timeout
        while True:
            db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            try:
                # Switching a new file to WAL needs an exclusive lock, and SQLite answers
                # "database is locked" at once, without its busy timeout, while another process
                # does the same: retry until the timeout instead.
                if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    db.execute("PRAGMA journal_mode=WAL")
                # NORMAL in WAL mode keeps every committed transaction intact after a crash of
                # the process; only an OS crash may roll back the last commits.
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
                return db
            except sqlite3.OperationalError as exc:
                db.close()
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.01, 0.1))

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]

    def get_many(self, keys: Sequence[bytes], dim: int | None = None) -> dict[bytes, np.ndarray]:
        """Return the stored vectors of those ``keys`` that are in the cache.

        A stored value whose size does not fit ``dim`` is ignored (and so recomputed).
        """
        found: dict[bytes, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _LOOKUP_CHUNK):
            chunk = unique[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, vector FROM embeddings WHERE key IN ({marks})", chunk
            )
            for key, blob in rows:
                if len(blob) % _DTYPE.itemsize or (dim and len(blob) != dim * _DTYPE.itemsize):
                    continue
                found[key] = np.frombuffer(blob, dtype=_DTYPE)
        return found

    def put_many(self, items: Iterable[tuple[bytes, np.ndarray]]) -> None:
        """Store vectors in one transaction: all of them are written, or none."""
        rows = [(key, np.ascontiguousarray(v, dtype=_DTYPE).tobytes()) for key, v in items]
        if not rows:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR IGNORE INTO embeddings VALUES (?, ?)", rows)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise CacheError(
                f"cannot write to the embedding cache {str(self.path)!r}: {exc}"
            ) from exc

    def lookup_digest(self, path: str, size: int, mtime_ns: int) -> str | None:
        """Return a file digest memoised for this exact path, size and modification time."""
        row = self._db.execute(
            "SELECT digest FROM file_digests WHERE path = ? AND size = ? AND mtime_ns = ?",
            (path, size, mtime_ns),
        ).fetchone()
        return row[0] if row else None

    def store_digest(self, path: str, size: int, mtime_ns: int, digest: str) -> None:
        """Memoise a file digest."""
        self._db.execute(
            "INSERT OR REPLACE INTO file_digests VALUES (?, ?, ?, ?)",
            (path, size, mtime_ns, digest),
        )
