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
