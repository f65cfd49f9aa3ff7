"""EmbeddingStore: chunked, resumable, memory-mapped embeddings the learner runs on directly."""

from __future__ import annotations

import multiprocessing
import os
import signal

import numpy as np
import pytest

from skprepal import FrozenLLMTransformer, PRepALLearner
from skprepal.embedding import EmbeddingCache, EmbeddingStore
from skprepal.exceptions import InvalidInputError


def _texts(n):
    words = ["refund", "card", "login", "password", "crash", "error", "invoice", "locked"]
    return [f"{words[i % 8]} {words[(i * 3) % 8]} ticket number {i}" for i in range(n)]


@pytest.fixture
def embedder(tiny_bert, tmp_path):
    return FrozenLLMTransformer(str(tiny_bert), device="cpu", cache_dir=tmp_path / "cache")


def test_a_store_holds_what_the_encoder_gives_and_the_learner_runs_on_it(embedder, tmp_path):
    texts = _texts(50)
    store = EmbeddingStore.build(tmp_path / "store", texts, embedder=embedder, chunk_size=16,
                                 ids=[f"t{i}" for i in range(50)])
    expected = embedder.fit_transform(texts)
    store = EmbeddingStore.open(tmp_path / "store")
    assert isinstance(store.vectors, np.memmap) and not store.vectors.flags.writeable
    np.testing.assert_allclose(store.vectors, expected, atol=1e-6)
    assert store.ids == [f"t{i}" for i in range(50)]
    y = np.array([i % 2 for i in range(50)])
    learner = PRepALLearner(initial_size=10, batch_size=10, budget=30, random_state=0)
    learner.fit(store.vectors, y)
    assert learner.labeled_indices_.size == 30


def test_float16_halves_the_file_and_is_not_copied_by_the_learner(embedder, tmp_path):
    texts = _texts(40)
    half = EmbeddingStore.build(tmp_path / "half", texts, embedder=embedder, dtype="float16")
    full = EmbeddingStore.build(tmp_path / "full", texts, embedder=embedder)
    assert half.vectors.dtype == np.float16
    assert half.vectors.nbytes * 2 == full.vectors.nbytes
    np.testing.assert_allclose(half.vectors, full.vectors, atol=2e-3)
    partial = np.full(40, -1)
    partial[:6] = [0, 1] * 3
    learner = PRepALLearner(random_state=0).fit(half.vectors, partial)
    assert learner.query(5).shape == (5,)


def _build_slowly(folder, texts, model, cache):
    embedder = FrozenLLMTransformer(model, device="cpu", cache_dir=cache)
    EmbeddingStore.build(folder, texts, embedder=embedder, chunk_size=10)


def test_a_killed_build_resumes_where_it_stopped(tiny_bert, tmp_path):
    texts = _texts(200)
    folder, cache = tmp_path / "store", tmp_path / "cache"
    context = multiprocessing.get_context("spawn")
    worker = context.Process(target=_build_slowly, args=(folder, texts, str(tiny_bert), cache))
    worker.start()
    # Kill it once some chunks, not all, are marked done.
    while worker.is_alive():
        if (folder / "progress.npy").exists():
            done = np.load(folder / "progress.npy")
            if 2 <= done.sum() < done.size - 5:
                os.kill(worker.pid, signal.SIGKILL)
                break
    worker.join()
    assert worker.exitcode == -signal.SIGKILL, "the build finished before it could be killed"
    with pytest.raises(InvalidInputError, match="incomplete .* run the same build again"):
        EmbeddingStore.open(folder)
    written_before = int(np.load(folder / "progress.npy").sum())
    embedder = FrozenLLMTransformer(str(tiny_bert), device="cpu", cache_dir=cache)
    store = EmbeddingStore.build(folder, texts, embedder=embedder, chunk_size=10)
    assert store.complete and written_before < store.n_chunks
    np.testing.assert_allclose(store.vectors, embedder.fit_transform(texts), atol=1e-6)
    with EmbeddingCache(cache) as filled:
        assert len(filled) >= len(texts)  # the store filled the cache in turn


def test_building_over_a_store_of_other_settings_is_refused(embedder, tmp_path):
    texts = _texts(20)
    EmbeddingStore.build(tmp_path / "store", texts, embedder=embedder)
    with pytest.raises(InvalidInputError, match="other settings \\(max_length '256' -> '8'\\)"):
        EmbeddingStore.build(tmp_path / "store", texts, embedder=embedder.set_params(max_length=8))
    with pytest.raises(InvalidInputError, match="dtype='float64' is not supported"):
        EmbeddingStore.build(tmp_path / "other", texts, embedder=embedder, dtype="float64")
    with pytest.raises(FileNotFoundError, match="no embedding store"):
        EmbeddingStore.open(tmp_path / "nothing")


def _shard(path, rows, embedder, texts, ids):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    vectors = embedder.transform([texts[r] for r in rows])
    pq.write_table(
        pa.table({
            "row": pa.array(rows, type=pa.int64()),
            "id": [ids[r] for r in rows],
            "key": pa.array(embedder.cache_keys([texts[r] for r in rows]), type=pa.binary()),
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(vectors.ravel()), vectors.shape[1]
            ),
        }),
        path,
    )


def test_from_shards_puts_rows_in_order_and_fills_the_cache(embedder, tmp_path):
    texts, ids = _texts(30), [f"id{i}" for i in range(30)]
    embedder.fit(texts[:1])
    shards = tmp_path / "shards"
    shards.mkdir()
    # Shards as a cluster writes them: split anyhow, rows out of order.
    order = np.random.default_rng(0).permutation(30).tolist()
    for k, part in enumerate((order[:7], order[7:20], order[20:])):
        _shard(shards / f"part-{k}.parquet", part, embedder, texts, ids)
    fresh_cache = tmp_path / "fresh-cache"
    target = FrozenLLMTransformer(**{**embedder.get_params(), "cache_dir": fresh_cache})
    store = EmbeddingStore.from_shards(tmp_path / "store", shards, embedder=target)
    assert store.complete and store.ids == ids
    np.testing.assert_allclose(store.vectors, embedder.transform(texts), atol=1e-6)
    target.fit(texts[:1]).transform(texts)
    assert (target.n_embedded_, target.n_cached_) == (0, 30)
    # Its layout is build's: build over the same texts and ids finds it complete.
    assert EmbeddingStore.build(tmp_path / "store", texts, embedder=target, ids=ids).complete


def test_from_shards_refuses_a_missing_or_repeated_row(embedder, tmp_path):
    texts, ids = _texts(10), [str(i) for i in range(10)]
    embedder.fit(texts[:1])
    shards = tmp_path / "shards"
    shards.mkdir()
    _shard(shards / "a.parquet", [0, 1, 2, 3], embedder, texts, ids)
    _shard(shards / "b.parquet", [3, 4, 5, 6, 7, 8], embedder, texts, ids)
    with pytest.raises(InvalidInputError, match="do not hold rows 0 to 9 once each"):
        EmbeddingStore.from_shards(tmp_path / "store", shards, embedder=embedder)
    with pytest.raises(InvalidInputError, match="no Parquet shards"):
        EmbeddingStore.from_shards(tmp_path / "store", [], embedder=embedder)


# -- the precision in effect ---------------------------------------------------------------------


def test_both_paths_record_the_precision_in_effect_not_auto(embedder, tmp_path):
    texts, ids = _texts(12), [str(i) for i in range(12)]
    in_effect = FrozenLLMTransformer(**embedder.get_params()).fit(texts[:1]).precision_
    built = EmbeddingStore.build(tmp_path / "built", texts, embedder=embedder)
    assert embedder.precision == "auto" and in_effect != "auto"
    assert built.meta["encoder"]["precision"] == in_effect
    # The Ray path: shards, compacted with an embedder that is not fitted.
    shards = tmp_path / "shards"
    shards.mkdir()
    _shard(shards / "part.parquet", list(range(12)), embedder.fit(texts[:1]), texts, ids)
    unfitted = FrozenLLMTransformer(**embedder.get_params())
    compacted = EmbeddingStore.from_shards(tmp_path / "compacted", shards, embedder=unfitted)
    assert compacted.meta == built.meta
    # "auto" and the precision it stands for here are one store.
    fixed = FrozenLLMTransformer(**{**embedder.get_params(), "precision": in_effect})
    assert EmbeddingStore.build(tmp_path / "built", texts, embedder=fixed).complete


def test_resuming_at_another_precision_is_refused_with_the_one_to_pass(
    embedder, tmp_path, monkeypatch
):
    import skprepal._hf._precision as precision_rules

    texts = _texts(12)
    EmbeddingStore.build(tmp_path / "store", texts,
                         embedder=embedder.set_params(precision="fp32"))
    # Another machine, where "auto" means bf16 (a CPU with AMX, a recent GPU).
    monkeypatch.setattr(precision_rules, "auto_precision", lambda *a, **k: ("bf16", "a test"))
    elsewhere = FrozenLLMTransformer(**{**embedder.get_params(), "precision": "auto"})
    with pytest.raises(
        InvalidInputError,
        match=r"other settings \(precision 'fp32' -> 'bf16'\).* computed at precision 'fp32' "
        r"and this embedder runs at 'bf16' .* pass an embedder with precision='fp32'\.$",
    ):
        EmbeddingStore.build(tmp_path / "store", texts, embedder=elsewhere)
    assert EmbeddingStore.build(tmp_path / "store", texts,
                                embedder=elsewhere.set_params(precision="fp32")).complete


def test_a_store_that_recorded_auto_is_not_resumed(embedder, tmp_path):
    import json

    texts = _texts(6)
    folder = tmp_path / "store"
    EmbeddingStore.build(folder, texts, embedder=embedder)
    meta = json.loads((folder / "meta.json").read_text())
    meta["encoder"]["precision"] = "auto"  # what skprepal recorded before it resolved it
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(InvalidInputError, match="recorded precision='auto', not the precision in"):
        EmbeddingStore.build(folder, texts, embedder=embedder)


def test_from_shards_leaves_the_cache_alone_for_int8_vectors(embedder, tmp_path):
    texts, ids = _texts(8), [str(i) for i in range(8)]
    int8 = FrozenLLMTransformer(**{**embedder.get_params(), "precision": "int8"})
    shards = tmp_path / "shards"
    shards.mkdir()
    _shard(shards / "part.parquet", list(range(8)), int8.fit(texts[:1]), texts, ids)
    cache = tmp_path / "int8-cache"
    target = FrozenLLMTransformer(**{**int8.get_params(), "cache_dir": cache})
    store = EmbeddingStore.from_shards(tmp_path / "store", shards, embedder=target)
    assert store.complete and store.meta["encoder"]["precision"] == "int8"
    with EmbeddingCache(cache) as held:
        assert len(held) == 0  # int8 transforms never read it: nothing to fill


def test_the_store_builds_its_index_once_and_adds_a_neighbour_table_later(embedder, tmp_path):
    pytest.importorskip("faiss")
    store = EmbeddingStore.build(tmp_path / "store", _texts(60), embedder=embedder)
    index = store.vector_index()
    assert (tmp_path / "store" / "index.faiss").is_file() and index.neighbour_table is None
    # Asked later for a table, the saved index gets one beside it, and keeps it when reopened.
    tabled = store.vector_index(neighbour_table=8)
    assert tabled.neighbour_table.shape == (60, 8)
    assert EmbeddingStore.open(tmp_path / "store").vector_index().neighbour_table.shape == (60, 8)
    rows, _ = index.search(store.vectors[[3]], 8)
    np.testing.assert_array_equal(tabled.neighbour_table[3], rows[0])
    # A narrower table is never rebuilt for a smaller request.
    assert store.vector_index(neighbour_table=4).neighbour_table.shape == (60, 8)
