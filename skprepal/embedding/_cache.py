"""On-disk, content-addressed cache of embeddings in one SQLite file.

SQLite gives what a cache shared by processes needs without a home-made file format: every write
is a transaction (a process killed mid-write leaves the previous state, never a torn row), several
processes may read and write one file (write-ahead log plus a busy timeout), and vectors are stored
as raw little-endian float32 bytes, so nothing is ever unpickled on the way back.

A cache is never worth stopping the work for: a file SQLite reports as damaged (not a database,
malformed, truncated) is moved aside with a warning and an empty cache takes its place, so the
embeddings are recomputed instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from skprepal.exceptions import CacheError

__all__ = ["UNCACHED_PRECISIONS", "EmbeddingCache", "cache_namespace", "text_keys"]

CACHE_FILE = "embeddings.sqlite3"
# Precisions whose vectors are not a function of the text alone, and so never cached: torch's
# dynamic int8 quantizes each Linear layer's input with one scale per forward pass, taken from
# the whole padded batch, so a text's vector depends on the texts batched with it (up to 0.23
# apart in one coordinate on all-MiniLM-L6-v2). A batch of one would make it the text's own,
# at 1.8x int8's time per text, slower than fp32 batched (benchmark in the transformer's notes).
UNCACHED_PRECISIONS = frozenset({"int8"})
# Bumped whenever the meaning of a stored vector changes, so old entries are never served.
# 2: the precision and the backend of the forward pass are part of every key.
CACHE_FORMAT = 2
# SQLite limits the number of bound parameters of one statement (999 in builds before 3.32).
_LOOKUP_CHUNK = 900
# Pages of a new file. At SQLite's default 4 KiB a row of a WITHOUT ROWID table keeps at most
# about 1 KB on its page, so every 384-float vector (1.5 KB) spilled onto an overflow page:
# reading 10,000 cached vectors took 165 ms, 53-57 ms with 16-64 KiB pages. At 32 KiB rows up to
# about 8 KB (a 2,000-dimensional vector) stay on their page. Older files keep their page size.
_PAGE_SIZE = 32_768
# Reads through a memory map instead of read() calls into SQLite's page cache: 57 ms -> 37 ms
# for 10,000 vectors. Address space only; the OS pages the file in as it is read.
_MMAP_BYTES = 1 << 30
_DTYPE = np.dtype("<f4")
# SQLite's primary result codes for a damaged file: SQLITE_CORRUPT and SQLITE_NOTADB.
_CORRUPT_CODES = {11, 26}
# Their messages, for Python < 3.11, whose exceptions carry no result code.
_CORRUPT_MESSAGES = ("malformed", "not a database", "corrupt")
# The write-ahead log and its index belong to the main file and move aside with it: a stale log
# next to a new file would be replayed into it.
_SIDECARS = ("-wal", "-shm")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (key BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_digests (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, digest TEXT NOT NULL
);
"""


def _is_corruption(exc: BaseException) -> bool:
    """Whether ``exc`` says the file is damaged (as opposed to busy, locked or unwritable)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _CORRUPT_CODES  # extended codes keep the primary in the low byte
    return any(message in str(exc).lower() for message in _CORRUPT_MESSAGES)


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
    # The namespace is hashed once; each text continues from a copy of that state.
    base = hashlib.blake2b(namespace, digest_size=20)
    keys = []
    if texts.ndim == 1:
        for text in texts.tolist():
            data = text.encode("utf-8", "surrogatepass")
            digest = base.copy()
            digest.update(len(data).to_bytes(8, "little") + data)
            keys.append(digest.digest())
        return keys
    for row in texts.reshape(len(texts), -1).tolist():
        digest = base.copy()
        for part in row:
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "little") + data)
        keys.append(digest.digest())
    return keys


class EmbeddingCache:
    """A folder holding one SQLite file of embeddings, shareable between processes.

    A damaged file (one SQLite reports as not a database, malformed or truncated), found when the
    cache is opened or read, is renamed to ``embeddings.sqlite3.corrupt-<timestamp>`` with a
    :class:`RuntimeWarning`, and an empty cache replaces it: the work goes on, with the
    embeddings computed again.

    Parameters
    ----------
    directory : str or path-like
        The cache folder; created when missing.
    timeout : float, default=120
        Seconds to wait for another process's write to finish before failing.

    Attributes
    ----------
    directory : Path
        The cache folder.
    path : Path
        The SQLite file in it.
    """

    def __init__(self, directory: str | os.PathLike, *, timeout: float = 120.0) -> None:
        self.directory = Path(directory).expanduser()
        self.path = self.directory / CACHE_FILE
        self._timeout = timeout
        self._db: sqlite3.Connection | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            try:
                self._db = self._open(timeout)
            except sqlite3.DatabaseError as exc:
                if not _is_corruption(exc):
                    raise
                self._replace_damaged(exc)
        except (OSError, sqlite3.Error) as exc:
            raise CacheError(
                f"cannot open the embedding cache at {str(self.path)!r}: {exc}. Check that "
                "cache_dir is a writable folder, or pass cache_dir=None."
            ) from exc

    def _open(self, timeout: float) -> sqlite3.Connection:
        deadline = time.monotonic() + timeout
        while True:
            db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            # The identity of the file opened (connect creates a missing one): whether the file
            # at ``path`` is still this one tells our damaged file from the fresh one another
            # process may already have put in its place.
            self._opened_id = self._file_id()
            try:
                # Switching a new file to WAL needs an exclusive lock, and SQLite answers
                # "database is locked" at once, without its busy timeout, while another process
                # does the same: retry until the timeout instead.
                if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    # Only a file without tables takes a new page size (and only before WAL).
                    db.execute(f"PRAGMA page_size={_PAGE_SIZE}")
                    db.execute("PRAGMA journal_mode=WAL")
                db.execute(f"PRAGMA mmap_size={_MMAP_BYTES}")
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
            except sqlite3.DatabaseError:
                db.close()
                raise

    def _file_id(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        return stat.st_dev, stat.st_ino

    def _replace_damaged(self, exc: sqlite3.DatabaseError) -> None:
        """Move the damaged file aside, warn, and open an empty cache in its place."""
        if self._db is not None:
            self._db.close()
            self._db = None
        current = self._file_id()
        # Another process may have moved the damaged file aside already, and put a new one at
        # ``path``: that one is not ours to move.
        if current is not None and current == self._opened_id:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
            n = 1
            while aside.exists():
                n += 1
                aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
            try:
                os.replace(self.path, aside)
                for suffix in _SIDECARS:
                    sidecar = self.path.with_name(self.path.name + suffix)
                    if sidecar.exists():
                        os.replace(sidecar, aside.with_name(aside.name + suffix))
            except OSError as move_exc:
                raise CacheError(
                    f"the embedding cache {str(self.path)!r} is damaged ({exc}) and cannot be "
                    f"moved aside ({move_exc}); delete it, or pass cache_dir=None."
                ) from move_exc
            warnings.warn(
                f"the embedding cache {str(self.path)!r} was damaged ({exc}); it was moved to "
                f"{str(aside)!r} and an empty cache replaces it, so embeddings are computed "
                "again. Delete the moved file once you no longer need it.",
                RuntimeWarning,
                stacklevel=2,
            )
        self._db = self._open(self._timeout)

    def _guarded(self, operation: Callable[[], Any], on_damage: Callable[[], Any]) -> Any:
        """Run ``operation``, or ``on_damage`` on a fresh file where the file proves damaged."""
        try:
            return operation()
        except sqlite3.DatabaseError as exc:
            if not _is_corruption(exc):
                raise
            self._rollback()
            try:
                self._replace_damaged(exc)
                return on_damage()
            except sqlite3.Error as again:
                raise CacheError(
                    f"the embedding cache at {str(self.path)!r} was damaged and its replacement "
                    f"failed too: {again}. Check the folder, or pass cache_dir=None."
                ) from again

    def _rollback(self) -> None:
        if self._db is not None and self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:  # a damaged file may refuse even this; it is replaced next
                pass

    def close(self) -> None:
        """Close the database connection."""
        if self._db is not None:
            self._db.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __len__(self) -> int:
        def count() -> int:
            return self._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]

        return self._guarded(count, lambda: 0)

    def get_many(self, keys: Sequence[bytes], dim: int | None = None) -> dict[bytes, np.ndarray]:
        """Return the stored vectors of those ``keys`` that are in the cache.

        A stored value whose size does not fit ``dim`` is ignored (and so recomputed).
        """
        return self._guarded(lambda: self._get_many(keys, dim), dict)

    def _get_many(self, keys: Sequence[bytes], dim: int | None) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        for key, blob in self._rows(list(dict.fromkeys(keys))):
            if len(blob) % _DTYPE.itemsize or (dim and len(blob) != dim * _DTYPE.itemsize):
                continue
            found[key] = np.frombuffer(blob, dtype=_DTYPE)
        return found

    def _rows(self, unique_keys: list[bytes]) -> Iterable[tuple[bytes, bytes]]:
        chunk_size = _LOOKUP_CHUNK
        if hasattr(self._db, "getlimit"):  # Python >= 3.11: the build's own limit
            limit = self._db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            chunk_size = max(1, min(limit, 30_000))
        for start in range(0, len(unique_keys), chunk_size):
            chunk = unique_keys[start : start + chunk_size]
            marks = ",".join("?" * len(chunk))
            yield from self._db.execute(
                f"SELECT key, vector FROM embeddings WHERE key IN ({marks})", chunk
            )

    def read_into(self, keys: Sequence[bytes], out: np.ndarray) -> np.ndarray:
        """Copy the stored vectors of ``keys`` into the rows of ``out`` in one pass.

        The fast path of a cached transform: no array per row, one copy of all the bytes.

        Parameters
        ----------
        keys : sequence of bytes
            Distinct keys; ``keys[i]`` fills ``out[i]``.
        out : ndarray of float32, shape (len(keys), dim)
            Written where a key is found; other rows are left as they are.

        Returns
        -------
        ndarray of bool, shape (len(keys),)
            Which rows were found. A stored value of the wrong size counts as missing (and so
            is recomputed).
        """
        found = np.zeros(len(keys), dtype=bool)

        def read() -> np.ndarray:
            slot_of = {key: i for i, key in enumerate(keys)}
            width = out.shape[1] * _DTYPE.itemsize
            slots, blobs = [], []
            for key, blob in self._rows(list(keys)):
                if len(blob) == width:
                    slots.append(slot_of[key])
                    blobs.append(blob)
            if slots:
                rows = np.asarray(slots, dtype=np.intp)
                out[rows] = np.frombuffer(b"".join(blobs), dtype=_DTYPE).reshape(len(rows), -1)
                found[rows] = True
            return found

        return self._guarded(read, lambda: found)

    def put_many(self, items: Iterable[tuple[bytes, np.ndarray]]) -> None:
        """Store vectors in one transaction: all of them are written, or none."""
        rows = [(key, np.ascontiguousarray(v, dtype=_DTYPE).tobytes()) for key, v in items]
        if not rows:
            return
        # Written into the empty replacement when the file turns out damaged.
        self._guarded(lambda: self._put_rows(rows), lambda: self._put_rows(rows))

    def _put_rows(self, rows: list[tuple[bytes, bytes]]) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR IGNORE INTO embeddings VALUES (?, ?)", rows)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            if _is_corruption(exc):
                raise
            raise CacheError(
                f"cannot write to the embedding cache {str(self.path)!r}: {exc}"
            ) from exc

    def lookup_digest(self, path: str, size: int, mtime_ns: int) -> str | None:
        """Return a file digest memoised for this exact path, size and modification time."""

        def lookup() -> str | None:
            row = self._db.execute(
                "SELECT digest FROM file_digests WHERE path = ? AND size = ? AND mtime_ns = ?",
                (path, size, mtime_ns),
            ).fetchone()
            return row[0] if row else None

        return self._guarded(lookup, lambda: None)

    def store_digest(self, path: str, size: int, mtime_ns: int, digest: str) -> None:
        """Memoise a file digest."""

        def store() -> None:
            self._db.execute(
                "INSERT OR REPLACE INTO file_digests VALUES (?, ?, ?, ?)",
                (path, size, mtime_ns, digest),
            )

        self._guarded(store, store)
