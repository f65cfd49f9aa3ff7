"""Embed a pool on a Ray cluster with Ray Data, into an :class:`~skprepal.embedding.EmbeddingStore`.

``pip install "skprepal[ray]"``. The file (CSV, TSV, JSON Lines or Parquet; one file, a list, or a
folder of them) is read into a Ray Dataset, its rows numbered in input order, and embedded by a
pool of actors (:class:`EncoderActor`), each loading the encoder once. Every actor writes, per
row, the row number, the id, the embedding cache's key of the text (the key
:meth:`FrozenLLMTransformer.cache_keys <skprepal.embedding.FrozenLLMTransformer.cache_keys>`
gives: a later single-process run on the same texts finds them in the cache) and the vector, as
Parquet shards. The driver then compacts the shards into the store, in input order, and into the
embedder's cache (:meth:`EmbeddingStore.from_shards
<skprepal.embedding.EmbeddingStore.from_shards>`).

The input files and the shard folder must be reachable under the same paths from every node and
from the driver: on one machine they are; on a cluster, put them on a shared file system.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from skprepal.embedding._store import EmbeddingStore, _encoder_settings
from skprepal.exceptions import InvalidInputError, ModelNotFoundError, SkprepalError

__all__ = ["EncoderActor", "embed_with_ray", "read_pool"]

logger = logging.getLogger(__name__)

_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}
#: The row-number column added before the actors (input order), and written to every shard.
ROW = "__skprepal_row"
_MARKER = "ray.json"


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise ImportError(
            "embedding on Ray needs Ray Data: pip install 'skprepal[ray]' (or 'ray[data]')."
        ) from None
    return ray


def _input_files(path: Any, fmt: str | None) -> tuple[list[str], str]:
    """The input files, sorted where a folder was given, and their format."""
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    if not paths:
        raise InvalidInputError("path is empty; give a file, a list of files or a folder.")
    files: list[Path] = []
    for item in map(Path, paths):
        if item.is_dir():
            found = sorted(
                f for f in item.iterdir()
                if f.is_file() and (fmt is None or _FORMATS.get(f.suffix.lower()) == fmt)
                and f.suffix.lower() in _FORMATS
            )
            if not found:
                raise InvalidInputError(
                    f"{str(item)!r} holds no .csv, .tsv, .jsonl or .parquet file."
                )
            files += found
        elif item.is_file():
            files.append(item)
        else:
            raise InvalidInputError(f"{str(item)!r}: no such file or folder.")
    formats = {fmt or _FORMATS.get(f.suffix.lower()) for f in files}
    if None in formats or len(formats) != 1:
        raise InvalidInputError(
            f"cannot tell one format for {[str(f) for f in files]}: use files of one of the "
            "suffixes .csv, .tsv, .jsonl or .parquet, or pass format='csv', 'tsv', 'jsonl' or "
            "'parquet'."
        )
    return [str(f.resolve()) for f in files], formats.pop()


def read_pool(
    path: Any, *, columns: Sequence[str], format: str | None = None  # noqa: A002
) -> Any:
    """Read a pool's files into a Ray Dataset of ``columns`` (kept as strings for CSV/TSV).

    Parameters
    ----------
    path : path-like, list of path-like, or a folder
        CSV or TSV (with a header line), JSON Lines, or Parquet files.
    columns : sequence of str
        The columns to keep.
    format : {"csv", "tsv", "jsonl", "parquet"} or None
        None tells it from the suffix.

    Returns
    -------
    ray.data.Dataset
    """
    ray = _ray()
    files, fmt = _input_files(path, format)
    columns = list(columns)
    if fmt in ("csv", "tsv"):
        import pyarrow as pa
        from pyarrow import csv

        # Strings as written: an id "007" or a text "42" stays what the file says.
        return ray.data.read_csv(
            files,
            parse_options=csv.ParseOptions(delimiter="\t" if fmt == "tsv" else ","),
            convert_options=csv.ConvertOptions(
                column_types={c: pa.string() for c in columns}, include_columns=columns
            ),
        )
    if fmt == "jsonl":
        # pyarrow's JSON reader, Ray's default, reads one object per line.
        return ray.data.read_json(files).select_columns(columns)
    return ray.data.read_parquet(files).select_columns(columns)


def _number_rows(ray: Any, read: Any) -> Any:
    """The dataset ``read()`` makes, with a column of row numbers in input order.

    Ray Data keeps no order by default: the read runs with ``preserve_order`` so that its blocks
    come back in input order (files in order, rows in order), then each block gets its offset.
    A dataset keeps a copy of the context current when it is made, so the option is set before
    ``read()``: setting it after, as this did before, leaves the dataset's own copy unordered.
    """
    context = ray.data.DataContext.get_current()
    before = context.execution_options.preserve_order
    context.execution_options.preserve_order = True
    try:
        blocks = read().to_arrow_refs()
    finally:
        context.execution_options.preserve_order = before

    @ray.remote(num_cpus=0.25)
    def count(table: Any) -> int:
        return table.num_rows

    @ray.remote(num_cpus=0.25)
    def numbered(table: Any, offset: int) -> Any:
        import pyarrow as pa

        rows = pa.array(np.arange(offset, offset + table.num_rows, dtype=np.int64))
        return table.append_column(ROW, rows)

    sizes = ray.get([count.remote(block) for block in blocks])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    refs = [numbered.remote(b, int(o)) for b, o, s in zip(blocks, offsets, sizes, strict=True) if s]
    return ray.data.from_arrow_refs(refs), int(np.sum(sizes))


class EncoderActor:
    """A Ray Data actor: loads the encoder once, then embeds batch after batch.

    Built by ``map_batches`` on each actor of the pool; called with a batch in numpy format
    (a dict of arrays) and returns a ``pyarrow.Table`` of ``row``, ``id``, ``key`` and
    ``vector`` (a fixed-size list of float32).

    Parameters
    ----------
    params : dict
        ``FrozenLLMTransformer.get_params()`` of the driver's embedder; ``cache_dir`` and the
        progress bar are dropped (the driver fills its cache from the shards).
    text_columns : list of str
        One column, or two for text pairs.
    id_column : str or None
        The ids; None uses the row numbers.
    fingerprint : str or None
        The driver's ``model_fingerprint_``: the actor checks that its model files are the
        same, and keys its vectors with it.
    threads : int or None
        torch threads of this actor (its share of the node's CPUs).
    precision : str or None
        The driver's ``precision_``, which the store records: the actor checks that its own
        precision in effect is the same (``"auto"`` resolves on each node's hardware).
    """

    def __init__(
        self,
        params: dict[str, Any],
        *,
        text_columns: list[str],
        id_column: str | None,
        fingerprint: str | None,
        threads: int | None = None,
        precision: str | None = None,
    ) -> None:
        from skprepal.embedding import FrozenLLMTransformer
        from skprepal.embedding._identity import folder_fingerprint

        if threads:
            import torch

            torch.set_num_threads(int(threads))
        self.text_columns, self.id_column = list(text_columns), id_column
        params = {**params, "cache_dir": None, "show_progress": False}
        probe = ["a"] if len(self.text_columns) == 1 else [("a", "b")]
        self.transformer = FrozenLLMTransformer(**params).fit(probe)
        if precision is not None and self.transformer.precision_ != precision:
            raise InvalidInputError(
                f"precision={params.get('precision')!r} runs at {self.transformer.precision_!r} "
                f"on this node ({self.transformer.device_}) but at {precision!r} on the driver, "
                "whose precision the store records; fix it in the embedder (e.g. "
                f"FrozenLLMTransformer(precision={precision!r})) so every actor runs at one."
            )
        if fingerprint is not None:
            found = folder_fingerprint(Path(self.transformer.model_path_))
            if found != fingerprint:
                raise ModelNotFoundError(
                    f"the model files at {self.transformer.model_path_!r} on this node differ "
                    "from the driver's: install the same model on every node."
                )
            # Keys as the driver's cache holds them: they name the model by its files' digest,
            # which the actor, without a cache of its own, does not record when it fits.
            self.transformer.model_fingerprint_ = fingerprint

    def __call__(self, batch: dict[str, np.ndarray]) -> Any:
        """Embed one batch; return its rows, ids, cache keys and vectors."""
        import pyarrow as pa

        rows = np.asarray(batch[ROW], dtype=np.int64)
        columns = [batch[c] for c in self.text_columns]
        for column in columns:
            bad = [i for i, t in enumerate(column) if not isinstance(t, str) or not t]
            if bad:
                raise InvalidInputError(
                    f"data row {int(rows[bad[0]])} (from 0) has no text in column "
                    f"{self.text_columns[columns.index(column)]!r}; fill or remove it."
                )
        texts = columns[0] if len(columns) == 1 else np.stack(columns, axis=1)
        texts = np.asarray(texts, dtype=object)
        vectors = np.ascontiguousarray(self.transformer.transform(texts), dtype=np.float32)
        keys = self.transformer.cache_keys(texts)
        if self.id_column is None:
            ids = rows.astype(str)
        else:
            ids = [str(i) for i in batch[self.id_column]]
        return pa.table(
            {
                "row": pa.array(rows, type=pa.int64()),
                "id": pa.array(ids, type=pa.string()),
                "key": pa.array(keys, type=pa.binary()),
                "vector": pa.FixedSizeListArray.from_arrays(
                    pa.array(vectors.ravel(), type=pa.float32()), vectors.shape[1]
                ),
            }
        )


def _skprepal_cause(exc: BaseException) -> SkprepalError | None:
    """The skprepal error a Ray task raised, under Ray's wrappers."""
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, SkprepalError):
            return current
        stack += [current.__cause__, current.__context__, getattr(current, "cause", None)]
    return None


def _input_identity(files: list[str]) -> list[list[Any]]:
    return [[f, os.stat(f).st_size, os.stat(f).st_mtime_ns] for f in files]


def embed_with_ray(
    path: Any,
    out_dir: str | os.PathLike,
    *,
    text_column: str | Sequence[str] = "text",
    id_column: str | None = None,
    format: str | None = None,  # noqa: A002
    embedder: Any = None,
    address: str | None = None,
    num_actors: int | None = None,
    num_cpus_per_actor: float = 1,
    num_gpus_per_actor: float = 0,
    batch_size: int = 256,
    dtype: str = "float32",
    chunk_size: int = 10_000,
    shards_dir: str | os.PathLike | None = None,
    keep_shards: bool = False,
) -> EmbeddingStore:
    """Embed the texts of a file on a Ray cluster into an :class:`.EmbeddingStore` and the cache.

    Parameters
    ----------
    path : path-like, list of path-like, or a folder
        CSV or TSV (header line), JSON Lines, or Parquet files, read in sorted order. Reachable
        from every node.
    out_dir : path-like
        The store's folder.
    text_column : str or sequence of two str, default="text"
        The texts, or two columns of joint text pairs.
    id_column : str or None, default=None
        Row ids kept in the store (as strings); None numbers the rows from 0, as
        :meth:`.EmbeddingStore.build` does.
    format : {"csv", "tsv", "jsonl", "parquet"} or None
        None tells it from the suffix.
    embedder : FrozenLLMTransformer or None
        The encoder (None: the default MiniLM). Each actor builds its own from
        ``embedder.get_params()``; the vectors go into ``embedder.cache_dir`` if it has one.
        Fix its ``precision`` where the actors' hardware differs from the driver's: the store
        records the precision in effect on the driver, and an actor on which ``"auto"``
        resolves to another one stops the run with an error.
    address : str or None
        The cluster to join (as ``ray.init(address=...)``); None joins the one ``RAY_ADDRESS``
        names or starts a local one. Unused when Ray is already initialised in this process.
    num_actors : int or None
        Actors in the pool; None: the cluster's CPUs (or GPUs) divided by each actor's share.
    num_cpus_per_actor, num_gpus_per_actor : float
        Resources reserved per actor (``num_gpus_per_actor=1`` puts one encoder on each GPU).
    batch_size : int, default=256
        Rows per call of an actor.
    dtype : {"float32", "float16"}, default="float32"
        Storage type of the store.
    chunk_size : int, default=10_000
        Recorded in the store's ``meta.json``, as in :meth:`.EmbeddingStore.build`.
    shards_dir : path-like or None
        Where the actors write the Parquet shards (a folder every node and the driver reach);
        None: ``out_dir/shards``.
    keep_shards : bool, default=False
        Keep the shards after the compaction (they hold as much as the store).

    Returns
    -------
    EmbeddingStore
        The store, complete. Running the same call again returns it without embedding; after a
        failure in the compaction it compacts the shards again without embedding.

    See Also
    --------
    skprepal.embedding.EmbeddingStore.build : The same store from one process.

    Examples
    --------
    >>> # doc: no-run (starts a Ray cluster)
    >>> from skprepal.integrations.ray import embed_with_ray  # doctest: +SKIP
    >>> store = embed_with_ray("tickets.csv", "tickets.store", num_actors=4)  # doctest: +SKIP
    >>> store.vectors.shape  # doctest: +SKIP
    (670, 384)
    """
    from sklearn.base import clone

    from skprepal.embedding import FrozenLLMTransformer

    ray = _ray()
    text_columns = [text_column] if isinstance(text_column, str) else list(text_column)
    if not 1 <= len(text_columns) <= 2:
        raise InvalidInputError(
            f"text_column={text_column!r}: give one column, or two for joint text pairs."
        )
    for name, value in (("batch_size", batch_size), ("num_actors", num_actors)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise InvalidInputError(f"{name}={value!r} must be a positive integer.")
    files, fmt = _input_files(path, format)
    embedder = FrozenLLMTransformer() if embedder is None else clone(embedder)
    if len(text_columns) == 2 and embedder.get_params().get("pair_encoding") == "separate":
        raise InvalidInputError(
            "embed_with_ray takes single texts or joint pairs; pair_encoding='separate' is not "
            "supported on Ray."
        )
    # The driver loads the encoder once, for what keys the cache: the model files' digest.
    embedder.fit(["a"] if len(text_columns) == 1 else [("a", "b")])
    out_dir = Path(out_dir)
    shards = Path(shards_dir) if shards_dir is not None else out_dir / "shards"
    columns = [*text_columns, *([id_column] if id_column and id_column not in text_columns else [])]
    job = {
        "input": _input_identity(files),
        "format": fmt,
        "text_columns": text_columns,
        "id_column": id_column,
        "encoder": _encoder_settings(embedder),
        "fingerprint": embedder.model_fingerprint_,
        "shards": str(shards.resolve()),
    }
    marker = out_dir / _MARKER
    previous = json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else None
    done = previous is not None and previous.get("job") == job
    if done and previous.get("state") == "compacted":
        try:
            return EmbeddingStore.open(out_dir)
        except (FileNotFoundError, InvalidInputError):
            done = False
    if not (done and previous.get("state") == "embedded" and shards.is_dir()):
        if shards.exists():
            shutil.rmtree(shards)
        _run_on_ray(
            ray, files, fmt, columns, shards, embedder, text_columns=text_columns,
            id_column=id_column, address=address, num_actors=num_actors,
            num_cpus_per_actor=num_cpus_per_actor, num_gpus_per_actor=num_gpus_per_actor,
            batch_size=batch_size,
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"job": job, "state": "embedded"}, indent=1), "utf-8")
    store = EmbeddingStore.from_shards(
        out_dir, shards, embedder=embedder, dtype=dtype, chunk_size=chunk_size
    )
    marker.write_text(json.dumps({"job": job, "state": "compacted"}, indent=1), "utf-8")
    if not keep_shards:
        shutil.rmtree(shards, ignore_errors=True)
    return store


def _run_on_ray(
    ray: Any,
    files: list[str],
    fmt: str,
    columns: list[str],
    shards: Path,
    embedder: Any,
    *,
    text_columns: list[str],
    id_column: str | None,
    address: str | None,
    num_actors: int | None,
    num_cpus_per_actor: float,
    num_gpus_per_actor: float,
    batch_size: int,
) -> None:
    """Read, number, embed on the actor pool and write the shards."""
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    elif address is not None:
        logger.info("Ray is already initialised in this process; address=%r is not used", address)
    try:
        if num_actors is None:
            resources = ray.cluster_resources()
            if num_gpus_per_actor:
                num_actors = int(resources.get("GPU", 0) // num_gpus_per_actor)
            else:
                num_actors = int(resources.get("CPU", 1) // max(num_cpus_per_actor, 1e-9))
            num_actors = max(1, num_actors)
        dataset, n_rows = _number_rows(
            ray, lambda: read_pool(files, columns=columns, format=fmt)
        )
        if n_rows == 0:
            raise InvalidInputError(f"{files[0]!r} has no data rows.")
        logger.info("embedding %d rows on %d Ray actors", n_rows, num_actors)
        embedded = dataset.map_batches(
            EncoderActor,
            fn_constructor_kwargs={
                "params": embedder.get_params(),
                "text_columns": text_columns,
                "id_column": id_column,
                "fingerprint": embedder.model_fingerprint_,
                "threads": max(1, int(num_cpus_per_actor)),
                "precision": embedder.precision_,
            },
            compute=ray.data.ActorPoolStrategy(size=num_actors),
            batch_size=batch_size,
            batch_format="numpy",
            num_cpus=num_cpus_per_actor,
            num_gpus=num_gpus_per_actor,
        )
        # Writing takes little CPU; with a share of none it never waits for the CPUs the actors
        # hold (a cluster's CPUs all go to actors by default).
        embedded.write_parquet(str(shards), ray_remote_args={"num_cpus": 0})
    except Exception as exc:
        cause = _skprepal_cause(exc)
        if cause is not None:
            raise cause from None
        raise
    finally:
        if started:
            ray.shutdown()
