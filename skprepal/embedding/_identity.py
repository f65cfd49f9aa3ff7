"""A model's identity for the cache: a digest of the files that decide its output.

Two folders with the same weights, configuration and tokenizer get the same fingerprint wherever
they live; changing any of those files (fine-tuning the weights, editing the vocabulary) changes it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["folder_fingerprint", "file_digest"]

# Files that decide what an encoder outputs: configs, vocabularies, weights.
_IDENTITY_SUFFIXES = {".json", ".txt", ".model", ".safetensors", ".bin"}
# Exported runtimes in sub-folders of hub snapshots: never loaded by skprepal.
_SKIPPED_FOLDERS = {"onnx", "openvino"}

DigestLookup = Callable[[str, int, int], "str | None"]
DigestStore = Callable[[str, int, int, str], None]


def file_digest(path: Path) -> str:
    """Return the SHA-256 hex digest of a file's content."""
    with open(path, "rb") as handle:
        if hasattr(hashlib, "file_digest"):  # Python >= 3.11
            return hashlib.file_digest(handle, "sha256").hexdigest()
        digest = hashlib.sha256()
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
        return digest.hexdigest()


def _identity_files(folder: Path) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_FOLDERS and not d.startswith("."))
        for name in sorted(names):
            path = Path(root) / name
            if not name.startswith(".") and path.suffix in _IDENTITY_SUFFIXES:
                files.append(path)
    return files


def folder_fingerprint(
    folder: Path,
    lookup: DigestLookup | None = None,
    store: DigestStore | None = None,
) -> str:
    """Return a digest of the model files in ``folder``.

    Parameters
    ----------
    folder : Path
        A model folder.
    lookup, store : callable, optional
        A memo of file digests keyed by (real path, size, modification time), so that large weight
        files are hashed once, not on every fit.

    Returns
    -------
    str
        A SHA-256 hex digest of the relative names and contents of the folder's model files.
    """
    digest = hashlib.sha256()
    for path in _identity_files(folder):
        stat = path.stat()
        real = os.path.realpath(path)
        file_hash = lookup(real, stat.st_size, stat.st_mtime_ns) if lookup else None
        if file_hash is None:
            file_hash = file_digest(path)
            if store:
                store(real, stat.st_size, stat.st_mtime_ns, file_hash)
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(file_hash.encode() + b"\0")
    return digest.hexdigest()
