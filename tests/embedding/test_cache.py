"""The on-disk embedding cache: keys, reuse, model identity, atomic writes, sharing, no pickle."""

from __future__ import annotations

import hashlib
import inspect
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from skprepal import FrozenLLMTransformer
from skprepal.embedding import EmbeddingCache
from skprepal.embedding._cache import CACHE_FILE, cache_namespace, text_keys
from skprepal.embedding._encode import Encoder
from skprepal.exceptions import CacheError


def _keys(*rows, **settings):
    namespace = cache_namespace(**{"model": "m", "pooling": ["mean"], **settings})
    return text_keys(namespace, np.array(rows, dtype=object))


def test_keys_depend_on_text_settings_and_pair_boundaries():
    a, b, a2 = _keys("a text", "another text", "a text")
    assert a == a2 and a != b and len(a) == 20
    assert _keys("a text")[0] != _keys("a text", max_length=128)[0]
    assert _keys("a text")[0] != _keys("a text", model="other weights")[0]
    assert _keys("a text")[0] != _keys("a text", pooling=["cls"])[0]
    assert _keys("a text")[0] != _keys("a text", normalize=True)[0]
    pair_1 = text_keys(b"ns", np.array([["ab", "c"]], dtype=object))
    pair_2 = text_keys(b"ns", np.array([["a", "bc"]], dtype=object))
    assert pair_1 != pair_2


def test_the_key_format_stays_as_written_so_caches_outlive_upgrades():
    # A change of format is made on purpose, with CACHE_FORMAT: otherwise every cache a user
    # has would be recomputed after an upgrade. The format, written out independently:
    import json

    from skprepal.embedding._cache import CACHE_FORMAT

    settings = {"model": "m", "max_length": 128}
    payload = json.dumps({"format": CACHE_FORMAT, **settings}, sort_keys=True).encode()
    namespace = cache_namespace(**settings)
    assert namespace == hashlib.sha256(payload).digest()

    def key(*parts):
        digest = hashlib.blake2b(namespace, digest_size=20)
        for part in parts:
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "little") + data)
        return digest.digest()

    # A lone surrogate (a broken emoji from a bad decode) is a text like any other.
    texts = ["a text", "", "caf\u00e9 \ud83d"]
    assert text_keys(namespace, np.array(texts, dtype=object)) == [key(t) for t in texts]
    pairs = np.array([["a", "bc"], ["\ud83d", ""]], dtype=object)
    assert text_keys(namespace, pairs) == [key("a", "bc"), key("\ud83d", "")]


def test_repeat_transform_is_served_from_the_cache(tiny_bert, texts, tmp_path, monkeypatch):
    first = FrozenLLMTransformer(tiny_bert, cache_dir=tmp_path, device="cpu").fit_transform(texts)
    with EmbeddingCache(tmp_path) as cache:
        assert len(cache) == len(set(texts))  # duplicates embedded and stored once

    def no_forward(*args, **kwargs):
        raise AssertionError("a cached text was embedded again")

    embedder = FrozenLLMTransformer(tiny_bert, cache_dir=tmp_path, device="cpu").fit(texts)
    monkeypatch.setattr(Encoder, "_forward", no_forward)
    again = embedder.transform(texts)
    np.testing.assert_array_equal(again, first)


def test_only_new_texts_are_embedded(tiny_bert, texts, tmp_path, monkeypatch):
    embedder = FrozenLLMTransformer(
        tiny_bert, cache_dir=tmp_path, device="cpu", precision="fp32"
    ).fit(texts)
    assert (embedder.n_embedded_, embedder.n_cached_) == (0, 0)
    embedder.transform(texts[:3])
    assert (embedder.n_embedded_, embedder.n_cached_) == (3, 0)
    seen = []
    original = Encoder.iter_embeddings

    def spy(self, batch_texts, *args, **kwargs):
        seen.extend(batch_texts.tolist())
        return original(self, batch_texts, *args, **kwargs)

    monkeypatch.setattr(Encoder, "iter_embeddings", spy)
    out = embedder.transform(texts)
    assert sorted(seen) == sorted(set(texts) - set(texts[:3]))
    # Counts of distinct texts: the last text repeats the first.
    assert (embedder.n_embedded_, embedder.n_cached_) == (len(seen), 3)
    embedder.transform(texts)
    assert (embedder.n_embedded_, embedder.n_cached_) == (0, len(set(texts)))
    # fp32: in bf16 the batches' padding, which differs between the two runs, shows at 1e-3.
    uncached = FrozenLLMTransformer(tiny_bert, device="cpu", precision="fp32").fit_transform(texts)
    np.testing.assert_allclose(out, uncached, atol=1e-6)


def test_settings_that_change_the_output_do_not_share_entries(tiny_bert, texts, tmp_path):
    mean = FrozenLLMTransformer(tiny_bert, cache_dir=tmp_path, device="cpu").fit_transform(texts)
    cls = FrozenLLMTransformer(tiny_bert, pooling="cls", cache_dir=tmp_path).fit_transform(texts)
    unit = FrozenLLMTransformer(tiny_bert, normalize=True, cache_dir=tmp_path).fit_transform(texts)
    assert not np.allclose(mean, cls) and not np.allclose(mean, unit)
    with EmbeddingCache(tmp_path) as cache:
        assert len(cache) == 3 * len(set(texts))


def test_max_length_is_part_of_the_key(tiny_bert, texts, tmp_path):
    # Cached vectors of texts cut at 10 tokens must never answer for a max_length=256 transform.
    long_rows = [i for i, text in enumerate(texts) if len(text.split()) > 10]
    assert long_rows
    short = FrozenLLMTransformer(
        tiny_bert, max_length=10, cache_dir=tmp_path, device="cpu"
    ).fit_transform(texts)
    full = FrozenLLMTransformer(
        tiny_bert, max_length=256, cache_dir=tmp_path, device="cpu"
    ).fit_transform(texts)
    reference = FrozenLLMTransformer(tiny_bert, max_length=256, device="cpu").fit_transform(texts)
    np.testing.assert_allclose(full, reference, atol=1e-6)
    assert not np.allclose(short[long_rows], full[long_rows], atol=1e-3)
    with EmbeddingCache(tmp_path) as cache:
        assert len(cache) == 2 * len(set(texts))


def test_identity_is_the_weights_not_the_name(tmp_path, tiny_bert, texts):
    from tests.conftest import make_tiny_bert

    cache = tmp_path / "cache"
    original = FrozenLLMTransformer(tiny_bert, cache_dir=cache, device="cpu").fit(texts)
    original.transform(texts)
    copy = shutil.copytree(tiny_bert, tmp_path / "moved-copy")
    moved = FrozenLLMTransformer(copy, cache_dir=cache, device="cpu").fit(texts)
    assert moved.model_fingerprint_ == original.model_fingerprint_
    retrained = make_tiny_bert(tmp_path / "same-name" / "tiny-bert", seed=1)
    other = FrozenLLMTransformer(retrained, cache_dir=cache, device="cpu").fit(texts)
    assert other.model_fingerprint_ != original.model_fingerprint_
    out = other.transform(texts)
    assert not np.allclose(out, original.transform(texts), atol=1e-3)


def test_model_files_are_hashed_once_and_remembered_by_real_path_size_and_time(
    tiny_bert, tmp_path
):
    cache = tmp_path / "cache"
    first = FrozenLLMTransformer(tiny_bert, cache_dir=cache, device="cpu").fit(["x"])
    with sqlite3.connect(cache / CACHE_FILE) as db:
        memo = dict(db.execute("SELECT path, digest FROM file_digests").fetchall())
    weights = os.path.realpath(tiny_bert / "model.safetensors")
    assert weights in memo and all(os.path.isfile(path) for path in memo)
    contents = (tiny_bert / "model.safetensors").read_bytes()
    assert memo[weights] == hashlib.sha256(contents).hexdigest()
    # The memo is trusted while the file keeps its size and time: a digest planted there is used,
    # so the weights were not read again.
    with sqlite3.connect(cache / CACHE_FILE) as db:
        db.execute("UPDATE file_digests SET digest = ? WHERE path = ?", ("0" * 64, weights))
    again = FrozenLLMTransformer(tiny_bert, cache_dir=cache, device="cpu").fit(["x"])
    assert again.model_fingerprint_ != first.model_fingerprint_


def test_no_pickle_is_ever_loaded(tiny_bert, texts, tmp_path, monkeypatch):
    import pickle

    first = FrozenLLMTransformer(tiny_bert, cache_dir=tmp_path, device="cpu").fit_transform(texts)

    def forbidden(*args, **kwargs):
        raise AssertionError("the cache must not unpickle anything")

    embedder = FrozenLLMTransformer(tiny_bert, cache_dir=tmp_path, device="cpu").fit(texts)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(np, "load", forbidden)
    monkeypatch.setattr(Encoder, "_forward", forbidden)
    np.testing.assert_array_equal(embedder.transform(texts), first)


def test_a_damaged_entry_is_recomputed(tiny_bert, texts, tmp_path):
    embedder = FrozenLLMTransformer(tiny_bert, cache_dir=tmp_path, device="cpu").fit(texts)
    expected = embedder.transform(texts)
    with sqlite3.connect(tmp_path / CACHE_FILE) as db:
        db.execute("UPDATE embeddings SET vector = x'00112233'")
    np.testing.assert_allclose(embedder.transform(texts), expected, atol=1e-6)


def _garbage(path):
    path.write_bytes(b"this is not an SQLite file\n" * 200)


def _truncated(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("damage", [_garbage, _truncated], ids=["garbage", "truncated"])
def test_a_damaged_cache_file_is_moved_aside_and_rebuilt(tiny_bert, texts, tmp_path, damage):
    expected = FrozenLLMTransformer(tiny_bert, device="cpu").fit_transform(texts)
    many = [f"text number {i} about a refund" for i in range(300)]  # a file of several pages
    FrozenLLMTransformer(tiny_bert, cache_dir=tmp_path, device="cpu").fit_transform(many)
    damage(tmp_path / CACHE_FILE)
    damaged_bytes = (tmp_path / CACHE_FILE).read_bytes()
    embedder = FrozenLLMTransformer(tiny_bert, cache_dir=tmp_path, device="cpu")
    with pytest.warns(
        RuntimeWarning, match=r"embedding cache .* was damaged .* moved to .*corrupt-"
    ):
        out = embedder.fit_transform(texts)
    np.testing.assert_allclose(out, expected, atol=1e-6)
    aside = sorted(tmp_path.glob(CACHE_FILE + ".corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damaged_bytes
    with EmbeddingCache(tmp_path) as cache:  # the rebuilt cache works, with no further warning
        assert len(cache) == len(set(texts))
    np.testing.assert_allclose(embedder.transform(texts), expected, atol=1e-6)


def test_damage_found_on_a_read_replaces_the_file_too(tmp_path):
    # Page 1 intact, the table's pages gone: opening works, the first read finds the damage.
    _damaged_cache(tmp_path)
    cache = EmbeddingCache(tmp_path)
    try:
        with pytest.warns(RuntimeWarning, match="was damaged"):
            assert cache.get_many([bytes([5, 0])], 64) == {}
        cache.put_many([(b"new", np.ones(64, np.float32))])
        assert len(cache) == 1
    finally:
        cache.close()
    assert len(list(tmp_path.glob(CACHE_FILE + ".corrupt-*"))) == 1


def test_unwritable_cache_dir_is_a_clear_error(tmp_path, tiny_bert, texts):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CacheError, match="cache_dir"):
        FrozenLLMTransformer(tiny_bert, cache_dir=blocker / "sub").fit(texts)


_WRITER = textwrap.dedent(
    """
    import hashlib, sys
    import numpy as np
    from skprepal.embedding import EmbeddingCache

    cache = EmbeddingCache(sys.argv[1])
    batch, n = 2000, 0
    print("ready", flush=True)
    while True:
        keys = [hashlib.sha1(str(i).encode()).digest() for i in range(n, n + batch)]
        cache.put_many(
            (k, np.full(64, i, dtype=np.float32)) for i, k in zip(range(n, n + batch), keys)
        )
        n += batch
    """
)


def test_a_process_killed_mid_write_leaves_no_torn_entry(tmp_path):
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.3)
            with EmbeddingCache(tmp_path) as cache:
                if len(cache) >= 10_000:
                    break
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    db = sqlite3.connect(tmp_path / CACHE_FILE)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = db.execute("SELECT key, vector FROM embeddings").fetchall()
    db.close()
    assert len(rows) >= 10_000
    assert len(rows) % 2000 == 0, "a transaction was partly written"
    by_key = {hashlib.sha1(str(i).encode()).digest(): i for i in range(len(rows))}
    for key, blob in rows:
        np.testing.assert_array_equal(np.frombuffer(blob, "<f4"), np.full(64, by_key[key]))


_EMBEDDER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from skprepal import FrozenLLMTransformer

    model, cache, out, start = sys.argv[1:5]
    texts = [f"text number {i} about a refund" for i in range(int(start), int(start) + 400)]
    X = FrozenLLMTransformer(
        model, cache_dir=cache, device="cpu", batch_size=8
    ).fit_transform(texts)
    np.save(out, X)
    """
)


def test_two_processes_share_one_cache(tiny_bert, tmp_path):
    cache = tmp_path / "shared-cache"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [
                sys.executable, "-c", _EMBEDDER,
                str(tiny_bert), str(cache), str(tmp_path / f"{s}.npy"), str(s),
            ],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for s in (0, 200)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    first, second = np.load(tmp_path / "0.npy"), np.load(tmp_path / "200.npy")
    np.testing.assert_allclose(first[200:], second[:200], atol=1e-6)  # the shared texts
    with EmbeddingCache(cache) as shared:
        assert len(shared) == 600
    texts = [f"text number {i} about a refund" for i in range(600)]
    alone = FrozenLLMTransformer(tiny_bert, device="cpu").fit_transform(texts)
    reread = FrozenLLMTransformer(tiny_bert, cache_dir=cache, device="cpu").fit_transform(texts)
    np.testing.assert_allclose(reread, alone, atol=1e-6)


_OPENER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from skprepal.embedding import EmbeddingCache

    with EmbeddingCache(sys.argv[1]) as cache:
        cache.put_many([(bytes([int(sys.argv[2])]), np.full(4, int(sys.argv[2]), np.float32))])
    """
)


def test_many_processes_creating_one_new_cache_at_once(tmp_path):
    """A new file's switch to WAL takes an exclusive lock: concurrent openers must wait, not
    fail."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPENER, str(tmp_path), str(i)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with EmbeddingCache(tmp_path) as cache:
        found = cache.get_many([bytes([i]) for i in range(6)], 4)
    assert sorted(found) == [bytes([i]) for i in range(6)]
    assert all(found[bytes([i])][0] == i for i in range(6))


# -- the cache read and repaired directly (found by the mutation run, tests/MUTATION.md) ---------


def _damaged_cache(folder):
    """A cache file whose first page is intact and the rest zeros: it opens, then fails to read."""
    with EmbeddingCache(folder) as cache:
        cache.put_many(
            (bytes([i % 256, i // 256]), np.full(64, i, np.float32)) for i in range(2000)
        )
    with sqlite3.connect(folder / CACHE_FILE) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    path = folder / CACHE_FILE
    kept = path.read_bytes()[: 3 * page_size]
    path.write_bytes(kept + bytes(path.stat().st_size - len(kept)))
    return path


def test_get_many_returns_the_stored_vectors_and_skips_only_the_ones_that_do_not_fit(tmp_path):
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many([(b"b", np.arange(4, dtype=np.float32)), (b"c", np.ones(3, np.float32))])
    # The first key in the table's order holds 3 bytes: no float32 vector at all.
    with sqlite3.connect(tmp_path / CACHE_FILE) as db:
        db.execute("INSERT INTO embeddings VALUES (?, ?)", (b"a", b"\x00\x01\x02"))
    with EmbeddingCache(tmp_path) as cache:
        found = cache.get_many([b"a", b"b", b"c", b"b", b"missing"])
        assert sorted(found) == [b"b", b"c"]
        np.testing.assert_array_equal(found[b"b"], np.arange(4, dtype=np.float32))
        assert found[b"b"].dtype == np.float32
        assert sorted(cache.get_many([b"a", b"b", b"c"], dim=4)) == [b"b"]
        assert sorted(cache.get_many([b"b", b"c"], dim=3)) == [b"c"]


def test_the_damaged_file_is_moved_to_a_dated_name_that_never_overwrites(tmp_path, monkeypatch):
    path = _damaged_cache(tmp_path)
    cache = EmbeddingCache(tmp_path)
    with pytest.warns(RuntimeWarning) as caught:
        assert cache.get_many([b"\x05\x00"], 64) == {}
    cache.close()
    (aside,) = tmp_path.glob(CACHE_FILE + ".corrupt-*")
    assert re.fullmatch(re.escape(CACHE_FILE) + r"\.corrupt-\d{8}-\d{6}", aside.name)
    assert str(caught[0].message) == (
        f"the embedding cache {str(path)!r} was damaged (database disk image is malformed); it "
        f"was moved to {str(aside)!r} and an empty cache replaces it, so embeddings are "
        "computed again. Delete the moved file once you no longer need it."
    )
    # Damaged again within the same second: the second file gets "-2", the first stays.
    monkeypatch.setattr(time, "strftime", lambda _format: "20261201-120000")
    for expected in (".corrupt-20261201-120000", ".corrupt-20261201-120000-2"):
        _damaged_cache(tmp_path)
        cache = EmbeddingCache(tmp_path)
        with pytest.warns(RuntimeWarning, match="was damaged"):
            cache.get_many([b"\x05\x00"], 64)
        cache.close()
        assert (tmp_path / (CACHE_FILE + expected)).is_file()
    assert len(list(tmp_path.glob(CACHE_FILE + ".corrupt-*"))) == 3


def test_a_write_that_finds_the_damage_is_kept_in_the_new_file(tmp_path):
    _damaged_cache(tmp_path)
    cache = EmbeddingCache(tmp_path)
    try:
        with pytest.warns(RuntimeWarning, match="was damaged"):
            cache.put_many([(b"\x05\x00", np.full(64, 9, np.float32))])
        np.testing.assert_array_equal(cache.get_many([b"\x05\x00"])[b"\x05\x00"], np.full(64, 9))
        assert len(cache) == 1
    finally:
        cache.close()


def test_read_into_a_damaged_file_finds_nothing_and_leaves_the_rows_alone(tmp_path):
    _damaged_cache(tmp_path)
    cache = EmbeddingCache(tmp_path)
    out = np.full((2, 64), -1.0, dtype=np.float32)
    try:
        with pytest.warns(RuntimeWarning, match="was damaged"):
            found = cache.read_into([b"\x05\x00", b"\x06\x00"], out)
        np.testing.assert_array_equal(found, [False, False])
        assert found.dtype == bool and (out == -1.0).all()
    finally:
        cache.close()


def test_vectors_are_stored_as_float32_whatever_their_type(tmp_path):
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many([(b"f64", np.arange(4, dtype=np.float64)), (b"list", [0.5, 1.5])])
        found = cache.get_many([b"f64", b"list"])
    np.testing.assert_array_equal(found[b"f64"], np.arange(4, dtype=np.float32))
    np.testing.assert_array_equal(found[b"list"], np.array([0.5, 1.5], dtype=np.float32))


def test_more_keys_than_one_statement_takes_are_all_found(tmp_path):
    # SQLite binds at most 30,000 parameters a statement here (fewer in older builds): 61,000
    # keys need three statements or more, each of its own keys.
    keys = [i.to_bytes(4, "little") for i in range(61_000)]
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many((key, np.full(1, i, np.float32)) for i, key in enumerate(keys))
        found = cache.get_many(keys)
        out = np.zeros((len(keys), 1), dtype=np.float32)
        hit = cache.read_into(keys, out)
    assert len(found) == 61_000 and found[keys[-1]][0] == 60_999
    assert hit.all() and (out[:, 0] == np.arange(61_000)).all()


def test_a_write_that_finds_the_cache_locked_says_which_cache(tmp_path):
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many([(b"a", np.ones(2, np.float32))])
    other = sqlite3.connect(tmp_path / CACHE_FILE, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with EmbeddingCache(tmp_path, timeout=0.2) as cache, pytest.raises(CacheError) as caught:
            cache.put_many([(b"b", np.ones(2, np.float32))])
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert str(caught.value) == (
        f"cannot write to the embedding cache {str(tmp_path / CACHE_FILE)!r}: database is locked"
    )


def test_a_digest_looked_up_in_a_damaged_file_is_not_known(tmp_path):
    _damaged_cache(tmp_path)
    with EmbeddingCache(tmp_path) as cache:
        with pytest.warns(RuntimeWarning, match="was damaged"):
            assert cache.lookup_digest("pool.parquet", 10, 123) is None


def test_a_file_digest_stored_when_the_damage_is_found_is_kept_in_the_new_file(tmp_path):
    _damaged_cache(tmp_path)
    cache = EmbeddingCache(tmp_path)
    try:
        with pytest.warns(RuntimeWarning, match="was damaged"):
            cache.store_digest("pool.parquet", 10, 123, "abc")
        assert cache.lookup_digest("pool.parquet", 10, 123) == "abc"
        assert cache.lookup_digest("pool.parquet", 10, 124) is None  # modified since: unknown
    finally:
        cache.close()


def test_a_file_another_process_already_replaced_is_left_alone(tmp_path):
    path = _damaged_cache(tmp_path)
    cache = EmbeddingCache(tmp_path)  # opened on the damaged file
    # Meanwhile another process found the damage, moved the file away and made a new cache.
    os.replace(path, tmp_path / "moved-by-the-other-process")
    with EmbeddingCache(tmp_path) as other:
        other.put_many([(b"theirs", np.ones(64, np.float32))])
    try:
        cache.get_many([b"\x05\x00"], 64)  # finds the damage in the file it had opened
        assert sorted(cache.get_many([b"theirs"])) == [b"theirs"]
    finally:
        cache.close()
    assert not list(tmp_path.glob(CACHE_FILE + ".corrupt-*"))


def test_a_damaged_file_that_cannot_be_moved_says_what_to_do(tmp_path, monkeypatch):
    path = _damaged_cache(tmp_path)
    cache = EmbeddingCache(tmp_path)

    def refuse(*_args):
        raise PermissionError("read-only folder")

    monkeypatch.setattr(os, "replace", refuse)
    try:
        with pytest.raises(CacheError) as caught:
            cache.get_many([b"\x05\x00"], 64)
    finally:
        monkeypatch.undo()
        cache.close()
    assert str(caught.value) == (
        f"the embedding cache {str(path)!r} is damaged (database disk image is malformed) and "
        "cannot be moved aside (read-only folder); delete it, or pass cache_dir=None."
    )


def test_the_write_ahead_log_moves_aside_with_the_damaged_file(tmp_path):
    path = _damaged_cache(tmp_path)
    # Another connection keeps the log and its index open, so they outlive this cache's own.
    other = sqlite3.connect(path)
    other.execute("PRAGMA journal_mode=WAL")
    try:
        cache = EmbeddingCache(tmp_path)
        with pytest.warns(RuntimeWarning, match="was damaged"):
            cache.get_many([b"\x05\x00"], 64)
        cache.close()
        (aside,) = tmp_path.glob(CACHE_FILE + ".corrupt-*[0-9]")
        for suffix in ("-wal", "-shm"):
            assert (tmp_path / (aside.name + suffix)).is_file()
    finally:
        other.close()


def test_a_replacement_that_fails_too_says_so_and_the_cache_still_closes(tmp_path, monkeypatch):
    path = _damaged_cache(tmp_path)
    cache = EmbeddingCache(tmp_path)

    def refuse(*_args, **_kwargs):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(sqlite3, "connect", refuse)  # the empty replacement cannot be opened
    with pytest.warns(RuntimeWarning, match="was damaged"), pytest.raises(CacheError) as caught:
        cache.get_many([b"\x05\x00"], 64)
    assert str(caught.value) == (
        f"the embedding cache at {str(path)!r} was damaged and its replacement failed too: "
        "unable to open database file. Check the folder, or pass cache_dir=None."
    )
    cache.close()  # nothing left open, nothing raised


def test_the_cache_folder_is_created_with_its_missing_parents(tmp_path):
    folder = tmp_path / "not" / "there" / "yet"
    with EmbeddingCache(folder) as cache:
        cache.put_many([(b"a", np.ones(2, np.float32))])
        assert len(cache) == 1
    assert (folder / CACHE_FILE).is_file()


def test_the_default_wait_for_another_process_is_the_documented_120_seconds():
    assert inspect.signature(EmbeddingCache).parameters["timeout"].default == 120.0
    assert "timeout : float, default=120\n" in EmbeddingCache.__doc__


def test_the_length_of_a_damaged_file_is_zero_and_the_file_is_replaced(tmp_path):
    _damaged_cache(tmp_path)
    cache = EmbeddingCache(tmp_path)
    try:
        with pytest.warns(RuntimeWarning, match="was damaged"):
            assert len(cache) == 0
        cache.put_many([(b"new", np.ones(64, np.float32))])
        assert len(cache) == 1  # counted in the new file, with no further warning
    finally:
        cache.close()


def test_a_file_found_damaged_on_opening_is_replaced_and_the_warning_says_why(tmp_path):
    path = tmp_path / CACHE_FILE
    path.write_bytes(b"this is not an SQLite file\n" * 200)
    with pytest.warns(RuntimeWarning) as caught, EmbeddingCache(tmp_path) as cache:
        assert len(cache) == 0
    (aside,) = tmp_path.glob(CACHE_FILE + ".corrupt-*")
    assert aside.read_bytes() == b"this is not an SQLite file\n" * 200
    assert [str(w.message) for w in caught] == [
        f"the embedding cache {str(path)!r} was damaged (file is not a database); it was moved "
        f"to {str(aside)!r} and an empty cache replaces it, so embeddings are computed again. "
        "Delete the moved file once you no longer need it."
    ]


def _rollback_journal_file_being_written(folder):
    """Another process's connection, mid-write, on a file not (yet) in WAL mode."""
    folder.mkdir(exist_ok=True)
    other = sqlite3.connect(folder / CACHE_FILE, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE theirs (x)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO theirs VALUES (1)")
    return other


def test_opening_retries_while_another_process_writes_the_file_before_it_is_in_wal_mode(
    tmp_path,
):
    # The switch to WAL needs an exclusive lock; with another writer's lock held SQLite answers
    # "database is locked" at once, without its busy timeout: the cache must retry, not fail.
    other = _rollback_journal_file_being_written(tmp_path)
    release = threading.Timer(0.4, lambda: other.execute("COMMIT"))
    release.start()
    try:
        start = time.monotonic()
        with EmbeddingCache(tmp_path, timeout=10) as cache:
            waited = time.monotonic() - start
            cache.put_many([(b"a", np.ones(2, np.float32))])
            assert sorted(cache.get_many([b"a"], 2)) == [b"a"]
    finally:
        release.join()
        other.close()
    assert 0.3 < waited < 5
    with sqlite3.connect(tmp_path / CACHE_FILE) as db:  # WAL mode persists in the file
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT x FROM theirs").fetchall() == [(1,)]  # their write is kept


def test_opening_a_file_locked_for_longer_than_the_timeout_fails_after_the_timeout(tmp_path):
    other = _rollback_journal_file_being_written(tmp_path)
    try:
        start = time.monotonic()
        with pytest.raises(CacheError) as caught:
            EmbeddingCache(tmp_path, timeout=0.3)
        waited = time.monotonic() - start
    finally:
        other.close()
    assert str(caught.value) == (
        f"cannot open the embedding cache at {str(tmp_path / CACHE_FILE)!r}: database is "
        "locked. Check that cache_dir is a writable folder, or pass cache_dir=None."
    )
    assert 0.3 <= waited < 3


def test_a_file_that_cannot_hold_the_cache_fails_at_once_not_after_the_timeout(tmp_path):
    # Another program's file, where "embeddings" names an index: an error no retry can clear.
    with sqlite3.connect(tmp_path / CACHE_FILE) as db:
        db.execute("CREATE TABLE other (a)")
        db.execute("CREATE INDEX embeddings ON other (a)")
    db.close()
    start = time.monotonic()
    with pytest.raises(CacheError) as caught:
        EmbeddingCache(tmp_path, timeout=30)
    assert time.monotonic() - start < 10  # wide: a loaded machine, still far below the timeout
    assert str(caught.value) == (
        f"cannot open the embedding cache at {str(tmp_path / CACHE_FILE)!r}: there is already "
        "an index named embeddings. Check that cache_dir is a writable folder, or pass "
        "cache_dir=None."
    )


def test_a_locked_write_waits_as_long_as_the_timeout_given_and_no_longer(tmp_path):
    EmbeddingCache(tmp_path).close()
    other = sqlite3.connect(tmp_path / CACHE_FILE, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock throughout
    try:
        with EmbeddingCache(tmp_path, timeout=0.5) as cache:
            start = time.monotonic()
            with pytest.raises(CacheError, match="database is locked"):
                cache.put_many([(b"b", np.ones(2, np.float32))])
            waited = time.monotonic() - start
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert 0.45 <= waited < 4  # SQLite's own default would be 5 seconds


def test_a_stored_file_digest_is_seen_at_once_by_another_process(tmp_path):
    # Committed when stored: no transaction left open to hide it (and hold the write lock).
    with EmbeddingCache(tmp_path) as cache, EmbeddingCache(tmp_path, timeout=0.5) as other:
        cache.store_digest("pool.parquet", 10, 123, "abc")
        assert other.lookup_digest("pool.parquet", 10, 123) == "abc"
        other.store_digest("labels.csv", 5, 7, "def")
        assert cache.lookup_digest("labels.csv", 5, 7) == "def"


def test_the_key_follows_the_model_files_and_only_them(tiny_bert, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_bert, model)
    (model / "1_Pooling").mkdir()
    (model / "1_Pooling" / "config.json").write_text('{"a": 1}')

    def key(folder):
        embedder = FrozenLLMTransformer(str(folder), cache_dir=tmp_path / "cache", device="cpu")
        return embedder.fit(["x"]).cache_keys(["x"])[0]

    base = key(model)
    # Not the model: hidden files and folders, exported runtimes, other kinds of files.
    for name, text in ((".git/config.json", "{}"), ("onnx/config.json", "{}"),
                       (".hidden.json", "{}"), ("README.md", "hello")):
        (model / name).parent.mkdir(exist_ok=True)
        (model / name).write_text(text)
    assert key(model) == base
    # Another folder whose module config differs, at the same size and modification time: the
    # memo of file digests (by real path, size and time) must not hand it this folder's digest.
    other = tmp_path / "other"
    shutil.copytree(model, other)
    config = other / "1_Pooling" / "config.json"
    config.write_text('{"a": 2}')
    stat = (model / "1_Pooling" / "config.json").stat()
    os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert key(other) != base
    assert key(model) == base
