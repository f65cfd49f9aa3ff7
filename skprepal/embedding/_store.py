"""EmbeddingStore: a pool's embeddings on disk, as one memory-mappable array with row ids.

A folder holds ``vectors.npy`` (an ``.npy`` file, so ``np.load(..., mmap_mode="r")`` maps it),
``ids.txt`` (one id per line), ``meta.json`` (shape, dtype, the encoder's settings, with the
precision in effect rather than ``"auto"``) and ``progress.npy`` (which chunks are written).
Chunks are embedded through the encoder, and so through its embedding cache (read from it, and
filled), written, flushed, and only then marked done: a killed build resumes at the first chunk
not marked, with the same settings only. A pool embedded elsewhere (on a Ray
cluster: :mod:`skprepal.integrations.ray`) arrives as Parquet shards and is compacted into the
same layout by :meth:`EmbeddingStore.from_shards`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from skprepal._validation import check_option, check_texts
from skprepal.exceptions import InvalidInputError

__all__ = ["EmbeddingStore"]

logger = logging.getLogger(__name__)

STORE_FORMAT = 1
_DTYPES = {"float32": np.float32, "float16": np.float16}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _save_progress(path: Path, done: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, done)
    # A rename is atomic: a kill leaves the previous progress or the new one, never half of one.
    os.replace(tmp, path)


def _ids_digest(ids: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for ident in ids:
        digest.update(ident.encode("utf-8") + b"\n")
    return digest.hexdigest()


#: Parameters of the encoder that do not decide the vectors: where they are cached or how fast
#: they are made.
_NOT_DECIDING = {"cache_dir", "show_progress", "batch_size", "device"}
_CACHE_BATCH = 10_000


def _resolved_precision(embedder: Any) -> str | None:
    """The precision ``embedder``'s vectors are computed at: ``precision_`` once fitted.

    An embedder not fitted yet (``from_shards`` takes one as it is) has ``precision`` resolved
    for this machine, as its ``fit`` would: no model is loaded for that. None for an embedder
    without a ``precision`` parameter.
    """
    fitted = getattr(embedder, "precision_", None)
    if fitted is not None:
        return str(fitted)
    params = embedder.get_params()
    if "precision" not in params:
        return None
    from skprepal._hf import resolve_device, resolve_precision

    return resolve_precision(params["precision"], resolve_device(params.get("device", "auto")))


def _encoder_settings(embedder: Any) -> dict[str, str]:
    """The settings that decide the vectors, as ``meta.json`` records them.

    ``precision`` is the one in effect, never ``"auto"``: "auto" means bf16 on one machine and
    fp32 on another, and a store must not mix them.
    """
    settings = {
        k: str(v) for k, v in sorted(embedder.get_params().items()) if k not in _NOT_DECIDING
    }
    precision = _resolved_precision(embedder)
    if precision is not None:
        settings["precision"] = precision
    return settings


def _precision_advice(was: Any, now: Any) -> str:
    """What to do when a store's recorded precision is not the embedder's."""
    if was == "auto":
        return (
            " The store was made by a skprepal that recorded precision='auto', not the "
            "precision in effect, so what its vectors were computed at is unknown."
        )
    return (
        f" Its vectors were computed at precision {was!r} and this embedder runs at {now!r} "
        "(precision='auto' resolves per machine): to resume or extend it, pass an embedder with "
        f"precision={was!r}."
    )


def _check_ids(ids: Sequence[Any], n: int) -> list[str]:
    ids = [str(i) for i in ids]
    if len(ids) != n:
        raise InvalidInputError(f"got {len(ids)} ids for {n} texts; give one id per text.")
    if any("\n" in i or "\r" in i for i in ids):
        raise InvalidInputError("an id holds a line break; ids are stored one per line.")
    return ids


def _prepare(directory: Path, plan: dict[str, Any], ids: list[str]) -> None:
    """Lay out a new store, or check that an existing one was planned the same way."""
    directory.mkdir(parents=True, exist_ok=True)
    meta_path = directory / "meta.json"
    if meta_path.is_file():
        existing = json.loads(meta_path.read_text(encoding="utf-8"))
        if existing != plan:
            was, now = existing.get("encoder", {}), plan["encoder"]
            changed = [
                f"{k} {was.get(k)!r} -> {now.get(k)!r}"
                for k in sorted(set(was) | set(now))
                if was.get(k) != now.get(k)
            ] + [
                f"{k} {existing.get(k)!r} -> {plan[k]!r}"
                for k in plan
                if k != "encoder" and existing.get(k) != plan[k]
            ]
            advice = (
                _precision_advice(was["precision"], now.get("precision"))
                if "precision" in was and was["precision"] != now.get("precision")
                else ""
            )
            raise InvalidInputError(
                f"{str(directory)!r} holds a store built with other settings "
                f"({'; '.join(changed)}); build into a new folder, or delete this one.{advice}"
            )
        return
    (directory / "ids.txt").write_text("".join(i + "\n" for i in ids), encoding="utf-8")
    np.lib.format.open_memmap(
        directory / "vectors.npy", mode="w+", dtype=_DTYPES[plan["dtype"]],
        shape=(plan["n"], plan["dim"]),
    ).flush()
    n_chunks = -(-plan["n"] // plan["chunk_size"])
    _save_progress(directory / "progress.npy", np.zeros(n_chunks, dtype=bool))
    _write_json(meta_path, plan)


def _shard_files(shards: Any) -> list[str]:
    if isinstance(shards, (str, os.PathLike)):
        folder = Path(shards)
        if not folder.is_dir():
            raise FileNotFoundError(f"no folder of Parquet shards at {str(folder)!r}.")
        files = sorted(str(f) for f in folder.rglob("*.parquet"))
    else:
        files = [str(f) for f in shards]
    if not files:
        raise InvalidInputError(f"no Parquet shards in {shards!r}.")
    return files


class EmbeddingStore:
    """The embeddings of a pool on disk: ``vectors`` (an ``np.memmap``) and ``ids``.

    Make one with :meth:`build` (or ``skprepal embed FILE --out DIR``), open it with
    :meth:`open`; :class:`~skprepal.PRepALLearner` runs on ``store.vectors`` directly, without
    loading it.

    Attributes
    ----------
    directory : Path
        The store's folder.
    vectors : np.memmap of shape (n, dim)
        The embeddings, read-only.
    ids : list of str
        One id per row.
    meta : dict
        Shape, dtype and the encoder's settings; ``meta["encoder"]["precision"]`` is the
        precision the vectors were computed at (``precision_``, never ``"auto"``).

    Examples
    --------
    >>> import tempfile
    >>> from skprepal.embedding import EmbeddingStore, FrozenLLMTransformer
    >>> folder = tempfile.mkdtemp()
    >>> texts = ["refund my card", "cannot log in", "charged twice"]
    >>> store = EmbeddingStore.build(folder, texts, embedder=FrozenLLMTransformer())
    >>> store = EmbeddingStore.open(folder)
    >>> store.vectors.shape, store.ids
    ((3, 384), ['0', '1', '2'])
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        meta_path = self.directory / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(
                f"no embedding store in {str(self.directory)!r} (meta.json is missing); make one "
                "with EmbeddingStore.build(directory, texts) or `skprepal embed FILE --out DIR`."
            )
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if self.meta.get("format") != STORE_FORMAT:
            raise InvalidInputError(
                f"{str(self.directory)!r} is an embedding store of format "
                f"{self.meta.get('format')}; this skprepal reads format {STORE_FORMAT}."
            )
        done = np.load(self.directory / "progress.npy")
        self.n_chunks_done = int(done.sum())
        self.n_chunks = int(done.shape[0])
        self.ids = (self.directory / "ids.txt").read_text(encoding="utf-8").split("\n")[:-1]
        self.vectors = np.load(self.directory / "vectors.npy", mmap_mode="r")

    @property
    def complete(self) -> bool:
        """Whether every chunk is written."""
        return self.n_chunks_done == self.n_chunks

    @classmethod
    def open(cls, directory: str | os.PathLike) -> EmbeddingStore:
        """Open a complete store.

        Raises
        ------
        InvalidInputError
            If the build that made it did not finish (rerun :meth:`build` to resume it).
        """
        store = cls(directory)
        if not store.complete:
            raise InvalidInputError(
                f"the embedding store in {str(store.directory)!r} is incomplete "
                f"({store.n_chunks_done} of {store.n_chunks} chunks written): run the same build "
                "again to resume it."
            )
        return store

    @classmethod
    def build(
        cls,
        directory: str | os.PathLike,
        texts: Any,
        *,
        embedder: Any = None,
        ids: Sequence[Any] | None = None,
        dtype: str = "float32",
        chunk_size: int = 10_000,
    ) -> EmbeddingStore:
        """Embed ``texts`` chunk by chunk into ``directory``, resuming a build that stopped.

        Parameters
        ----------
        directory : path-like
            The store's folder (made if missing).
        texts : list, ndarray or pandas Series of str
            The pool, one text per row.
        embedder : FrozenLLMTransformer or None
            The encoder (None: the default MiniLM). Its embedding cache, if any, is read and
            filled. Resuming a store is refused if any setting that decides the vectors differs
            from the ones recorded, the precision in effect included (``"auto"`` may resolve
            to another precision on another machine).
        ids : sequence or None
            One id per text (default the row numbers), kept as strings without line breaks.
        dtype : {"float32", "float16"}, default="float32"
            Storage type; float16 halves the disk and page-cache footprint.
        chunk_size : int, default=10_000
            Texts embedded and written at a time: the unit a killed build loses at most.

        Returns
        -------
        EmbeddingStore
        """
        from sklearn.base import clone

        from skprepal.embedding._transformer import FrozenLLMTransformer

        texts = check_texts(texts, name="texts")
        check_option("dtype", dtype, _DTYPES)
        if not isinstance(chunk_size, int) or chunk_size < 1:
            raise InvalidInputError(f"chunk_size={chunk_size!r} must be a positive integer.")
        n = texts.shape[0]
        ids = _check_ids(range(n) if ids is None else ids, n)
        embedder = FrozenLLMTransformer() if embedder is None else clone(embedder)
        embedder.fit(texts[:1])
        directory = Path(directory)
        plan = {
            "format": STORE_FORMAT,
            "n": n,
            "dim": int(embedder.transform(texts[:1]).shape[1]),
            "dtype": dtype,
            "chunk_size": int(chunk_size),
            "encoder": _encoder_settings(embedder),
            "ids_sha256": _ids_digest(ids),
        }
        _prepare(directory, plan, ids)
        done = np.load(directory / "progress.npy")
        vectors = np.load(directory / "vectors.npy", mmap_mode="r+")
        for chunk in np.flatnonzero(~done):
            start, stop = int(chunk) * chunk_size, min((int(chunk) + 1) * chunk_size, n)
            vectors[start:stop] = embedder.transform(texts[start:stop]).astype(_DTYPES[dtype])
            vectors.flush()
            done[chunk] = True
            _save_progress(directory / "progress.npy", done)
        del vectors
        return cls(directory)

    @classmethod
    def from_shards(
        cls,
        directory: str | os.PathLike,
        shards: Any,
        *,
        embedder: Any,
        dtype: str = "float32",
        chunk_size: int = 10_000,
        fill_cache: bool = True,
    ) -> EmbeddingStore:
        """Compact Parquet shards of a pool embedded elsewhere into a store (and the cache).

        Each shard holds rows of ``row`` (int64: the text's position in the pool), ``id``
        (string), ``key`` (binary: its :meth:`FrozenLLMTransformer.cache_keys
        <skprepal.embedding.FrozenLLMTransformer.cache_keys>` key) and ``vector`` (a fixed-size
        list of float32), in any order and split in any way, as
        :func:`skprepal.integrations.ray.embed_with_ray` writes them. The store comes out in
        ``row`` order, with the layout and ``meta.json`` of :meth:`build` for the same embedder,
        and the vectors go into the embedder's cache under their keys, so that a later
        single-process run takes them from there.

        Parameters
        ----------
        directory : path-like
            The store's folder (made if missing). Compacting again into a complete store with the
            same plan returns it as it is; an incomplete one is written again from the shards.
        shards : path-like or list of path-like
            A folder (searched for ``*.parquet``) or the shard files.
        embedder : FrozenLLMTransformer
            The encoder the shards were made with: its settings go into ``meta.json``, with the
            precision in effect (its ``precision_``; ``precision`` resolved for this machine if
            it is not fitted), and its ``cache_dir`` (if any) is filled, except for int8
            vectors, which are never cached.
        dtype : {"float32", "float16"}, default="float32"
            Storage type of the store.
        chunk_size : int, default=10_000
            Recorded in ``meta.json`` (a later :meth:`build` with the same value sees the same
            plan).
        fill_cache : bool, default=True
            Put the vectors into the embedder's cache.

        Returns
        -------
        EmbeddingStore
        """
        import pyarrow.parquet as pq

        from skprepal.embedding._cache import UNCACHED_PRECISIONS, EmbeddingCache

        check_option("dtype", dtype, _DTYPES)
        if not isinstance(chunk_size, int) or chunk_size < 1:
            raise InvalidInputError(f"chunk_size={chunk_size!r} must be a positive integer.")
        files = _shard_files(shards)
        # First pass, over the small columns only: how many rows, their ids in row order.
        rows_seen, ids_seen, dim = [], [], None
        for path in files:
            shard = pq.ParquetFile(path)
            field = shard.schema_arrow.field("vector")
            if dim is None:
                dim = int(field.type.list_size)
            elif int(field.type.list_size) != dim:
                raise InvalidInputError(f"the shard {path!r} holds vectors of another length.")
            table = shard.read(columns=["row", "id"])
            rows_seen.append(table.column("row").to_numpy())
            ids_seen.append(np.asarray(table.column("id").to_pylist(), dtype=object))
        rows = np.concatenate(rows_seen) if rows_seen else np.empty(0, dtype=np.int64)
        n = int(rows.size)
        if n == 0 or rows.min() < 0 or rows.max() >= n or np.bincount(rows, minlength=n).max() > 1:
            raise InvalidInputError(
                f"the shards in {shards!r} do not hold rows 0 to {n - 1} once each "
                "(a shard is missing, repeated or from another run)."
            )
        ids = np.empty(n, dtype=object)
        ids[rows] = np.concatenate(ids_seen)
        ids = _check_ids(ids.tolist(), n)
        directory = Path(directory)
        plan = {
            "format": STORE_FORMAT,
            "n": n,
            "dim": dim,
            "dtype": dtype,
            "chunk_size": int(chunk_size),
            "encoder": _encoder_settings(embedder),
            "ids_sha256": _ids_digest(ids),
        }
        _prepare(directory, plan, ids)
        done = np.load(directory / "progress.npy")
        if done.all():
            return cls(directory)
        cache_dir = getattr(embedder, "cache_dir", None) if fill_cache else None
        if cache_dir is not None and plan["encoder"].get("precision") in UNCACHED_PRECISIONS:
            # Its transforms never read the cache (their vectors depend on the batch).
            logger.info(
                "precision=%r vectors are not cached; %s is left as it is",
                plan["encoder"]["precision"], cache_dir,
            )
            cache_dir = None
        cache = EmbeddingCache(cache_dir) if cache_dir is not None else None
        vectors = np.load(directory / "vectors.npy", mmap_mode="r+")
        try:
            for path in files:
                for batch in pq.ParquetFile(path).iter_batches(
                    batch_size=_CACHE_BATCH, columns=["row", "key", "vector"]
                ):
                    at = batch.column("row").to_numpy()
                    block = batch.column("vector").flatten().to_numpy().reshape(-1, dim)
                    vectors[at] = block.astype(_DTYPES[dtype], copy=False)
                    if cache is not None:
                        cache.put_many(zip(batch.column("key").to_pylist(), block, strict=True))
            vectors.flush()
        finally:
            if cache is not None:
                cache.close()
        del vectors
        # Every row is written and flushed: only now is the store marked complete.
        _save_progress(directory / "progress.npy", np.ones_like(done))
        return cls(directory)

    def vector_index(self, **build_options: Any) -> Any:
        """The store's :class:`~skprepal.strategies.VectorIndex` (``index.faiss``), built once.

        Parameters
        ----------
        **build_options
            Passed to :meth:`VectorIndex.build <skprepal.strategies.VectorIndex.build>` when the
            index is built. ``neighbour_table=k`` also adds a table of ``k`` neighbours per row
            to an index built earlier without one (or with fewer).
        """
        from skprepal.strategies import VectorIndex

        path = self.directory / "index.faiss"
        if not path.is_file():
            return VectorIndex.build(self.vectors, path=path, **build_options)
        index = VectorIndex.open(path)
        wanted = build_options.get("neighbour_table")
        table = index.neighbour_table
        if wanted is not None and (table is None or table.shape[1] < min(wanted, index.n_rows)):
            index.build_neighbour_table(self.vectors, wanted, path=path)
        return index

    def __repr__(self) -> str:
        return (
            f"EmbeddingStore({str(self.directory)!r}, n={self.vectors.shape[0]}, "
            f"dim={self.vectors.shape[1]}, dtype={self.vectors.dtype})"
        )
