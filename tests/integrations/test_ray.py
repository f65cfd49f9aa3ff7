"""Embedding on a real local Ray cluster: the same store and cache keys as one process.

Each Ray run starts its actors (a Python process importing torch each), the cost that dominates
here: the tests share one cluster and make three runs in all, one per input format.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from skprepal import FrozenLLMTransformer
from skprepal.cli import main
from skprepal.embedding import EmbeddingCache, EmbeddingStore
from skprepal.exceptions import InvalidInputError
from skprepal.integrations import ray as skray

WORDS = ["refund", "card", "login", "password", "crash", "error", "invoice", "locked"]


def _texts(n, start=0):
    return [
        f"{WORDS[i % 8]} {WORDS[(i * 3) % 8]} ticket number {i}" for i in range(start, start + n)
    ]


@pytest.fixture
def embedder(tiny_bert, tmp_path):
    return FrozenLLMTransformer(str(tiny_bert), device="cpu", cache_dir=tmp_path / "cache")


def _local(embedder, texts, tmp_path):
    """The store one process builds, with a cache of its own (the Ray run's stays untouched)."""
    local = FrozenLLMTransformer(**{**embedder.get_params(), "cache_dir": tmp_path / "local"})
    return EmbeddingStore.build(tmp_path / "local-store", texts, embedder=local)


def test_jsonl_folder_on_two_actors_gives_the_local_store_and_fills_the_cache(
    ray_cluster, embedder, tmp_path, monkeypatch
):
    # Two files and batches of 16 over two actors: batches finish out of order, rows must not.
    folder = tmp_path / "pool"
    folder.mkdir()
    texts = _texts(120)
    for name, part in (("a.jsonl", range(0, 70)), ("b.jsonl", range(70, 120))):
        with open(folder / name, "w", encoding="utf-8") as handle:
            for i in part:
                handle.write(json.dumps({"text": texts[i], "ticket": f"T-{i:04d}"}) + "\n")
    store = skray.embed_with_ray(
        folder, tmp_path / "store", embedder=embedder, id_column="ticket", num_actors=2,
        batch_size=16,
    )
    assert isinstance(store.vectors, np.memmap) and store.vectors.shape == (120, 32)
    np.testing.assert_allclose(store.vectors, _local(embedder, texts, tmp_path).vectors, atol=1e-6)
    assert store.ids == [f"T-{i:04d}" for i in range(120)]
    assert not (tmp_path / "store" / "shards").exists()  # compacted, then removed

    # The cache holds every text under the key a single process uses: nothing is embedded again.
    with EmbeddingCache(tmp_path / "cache") as cache:
        assert len(cache) == 120
    again = FrozenLLMTransformer(**embedder.get_params()).fit(texts[:1])
    np.testing.assert_allclose(again.transform(texts), store.vectors, atol=1e-6)
    assert (again.n_embedded_, again.n_cached_) == (0, 120)
    assert set(again.cache_keys(texts)) == set(skray_keys(tmp_path / "cache"))

    # The same call again opens the store: no Ray run.
    monkeypatch.setattr(skray, "_run_on_ray", lambda *a, **k: pytest.fail("embedded again"))
    reopened = skray.embed_with_ray(
        folder, tmp_path / "store", embedder=embedder, id_column="ticket", num_actors=2
    )
    assert reopened.ids == store.ids
    # A store made this way is one EmbeddingStore.build recognises as complete and its own.
    same = EmbeddingStore.build(tmp_path / "store", texts, embedder=embedder,
                                ids=[f"T-{i:04d}" for i in range(120)])
    assert same.complete


def skray_keys(cache_dir):
    import sqlite3

    with sqlite3.connect(cache_dir / "embeddings.sqlite3") as db:
        return [row[0] for row in db.execute("SELECT key FROM embeddings")]


def test_parquet_pairs_float16_and_row_number_ids(ray_cluster, embedder, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    questions, answers = _texts(40), _texts(40, start=500)
    pq.write_table(pa.table({"q": questions, "a": answers}), tmp_path / "pairs.parquet")
    store = skray.embed_with_ray(
        tmp_path / "pairs.parquet", tmp_path / "store", text_column=["q", "a"],
        embedder=embedder, dtype="float16", num_actors=1, batch_size=8, keep_shards=True,
    )
    pairs = np.array(list(zip(questions, answers, strict=True)), dtype=object)
    expected = FrozenLLMTransformer(**embedder.get_params()).fit(pairs[:1]).transform(pairs)
    assert store.vectors.dtype == np.float16
    np.testing.assert_allclose(store.vectors, expected, atol=2e-3)
    assert store.ids == [str(i) for i in range(40)]
    assert sorted((tmp_path / "store" / "shards").glob("*.parquet"))  # kept on request


def test_cli_embed_out_engine_ray_reads_csv_as_written(ray_cluster, embedder, tmp_path, capsys):
    path = tmp_path / "tickets.csv"
    texts = [*_texts(30), "42"]  # a text that looks like a number stays a text
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows([f"{i:03d}", t] for i, t in enumerate(texts))
    args = ["embed", str(path), "--out", str(tmp_path / "store"), "--engine", "ray",
            "--model", embedder.model, "--cache-dir", str(tmp_path / "cache"),
            "--id-column", "id", "--num-actors", "1"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "31 rows ->" in printed and "(ray)" in printed
    store = EmbeddingStore.open(tmp_path / "store")
    assert store.ids[:2] == ["000", "001"] and store.ids[-1] == "030"
    np.testing.assert_allclose(store.vectors, _local(embedder, texts, tmp_path).vectors, atol=1e-6)


# -- without a cluster: the pieces the runs above go through -------------------------------------


def test_the_actor_refuses_a_missing_text_and_names_its_row(tiny_bert):
    actor = skray.EncoderActor(
        {"model": str(tiny_bert), "device": "cpu"}, text_columns=["text"], id_column=None,
        fingerprint=None,
    )
    batch = {"text": np.array(["fine", None], dtype=object), skray.ROW: np.array([7, 8])}
    with pytest.raises(InvalidInputError, match="data row 8 .* no text in column 'text'"):
        actor(batch)


def test_the_actor_refuses_other_model_files(tiny_bert):
    from skprepal.exceptions import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="differ from the driver's"):
        skray.EncoderActor({"model": str(tiny_bert)}, text_columns=["text"], id_column=None,
                           fingerprint="0" * 64)


def test_the_actor_refuses_to_run_at_another_precision_than_the_drivers(tiny_bert):
    # "auto" resolves on each node: an actor on other hardware would write vectors (and cache
    # keys) of another precision than the one the store records.
    with pytest.raises(
        InvalidInputError,
        match=r"precision='fp32' runs at 'fp32' on this node \(cpu\) but at 'bf16' on the "
        r"driver.* FrozenLLMTransformer\(precision='bf16'\)",
    ):
        skray.EncoderActor({"model": str(tiny_bert), "device": "cpu", "precision": "fp32"},
                           text_columns=["text"], id_column=None, fingerprint=None,
                           precision="bf16")
    same = skray.EncoderActor({"model": str(tiny_bert), "device": "cpu", "precision": "fp32"},
                              text_columns=["text"], id_column=None, fingerprint=None,
                              precision="fp32")
    assert same.transformer.precision_ == "fp32"


def test_skprepal_errors_come_out_of_rays_wrappers():
    cause = InvalidInputError("data row 3 has no text")
    try:
        try:
            raise cause
        except InvalidInputError as exc:
            raise RuntimeError("a Ray task failed") from exc
    except RuntimeError as wrapped:
        assert skray._skprepal_cause(wrapped) is cause
    assert skray._skprepal_cause(RuntimeError("other")) is None


def test_input_files_and_formats(tmp_path):
    (tmp_path / "b.jsonl").write_text("{}\n")
    (tmp_path / "a.jsonl").write_text("{}\n")
    (tmp_path / "notes.md").write_text("not a pool")
    files, fmt = skray._input_files(tmp_path, None)
    assert fmt == "jsonl" and [f.rsplit("/", 1)[1] for f in files] == ["a.jsonl", "b.jsonl"]
    (tmp_path / "c.csv").write_text("text\nx\n")
    with pytest.raises(InvalidInputError, match="cannot tell one format"):
        skray._input_files(tmp_path, None)
    with pytest.raises(InvalidInputError, match="no such file"):
        skray._input_files(tmp_path / "missing.csv", None)
    with pytest.raises(InvalidInputError, match="text_column"):
        skray.embed_with_ray(tmp_path / "c.csv", tmp_path / "out", text_column=["a", "b", "c"])
