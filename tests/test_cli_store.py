"""``skprepal embed FILE --out DIR``: an on-disk store from the command line, in this process."""

from __future__ import annotations

import json

import numpy as np
import pytest

from skprepal import FrozenLLMTransformer
from skprepal.cli import main
from skprepal.embedding import EmbeddingStore


def test_embed_out_writes_a_store_with_ids_and_resumes(tiny_bert, tmp_path, capsys):
    path = tmp_path / "tickets.jsonl"
    texts = [f"ticket {i} about a refund" for i in range(25)]
    path.write_text("\n".join(json.dumps({"text": t, "key": f"k{i}"}) for i, t in enumerate(texts)))
    args = ["embed", str(path), "--out", str(tmp_path / "store"), "--model", str(tiny_bert),
            "--cache-dir", str(tmp_path / "cache"), "--id-column", "key", "--chunk-size", "10",
            "--dtype", "float16"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "25 rows ->" in printed and "25 x 32 float16" in printed and "(local)" in printed
    store = EmbeddingStore.open(tmp_path / "store")
    assert store.ids == [f"k{i}" for i in range(25)] and store.n_chunks == 3
    expected = FrozenLLMTransformer(str(tiny_bert), device="cpu").fit_transform(texts)
    np.testing.assert_allclose(store.vectors, expected, atol=2e-3)
    assert main(args) == 0  # a complete store: opened again, nothing embedded


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--engine", "ray"], "--engine ray writes a store: give --out DIR"),
        (["--out", "STORE", "--id-column", "nope"], "has no column 'nope'"),
        (["--neighbour-table", "5"], "--index and --neighbour-table index a store: give --out"),
    ],
)
def test_embed_store_errors_are_one_line(tiny_bert, tmp_path, capsys, extra, message):
    path = tmp_path / "t.csv"
    path.write_text("text\nhello\nworld\n")
    extra = [str(tmp_path / "store") if a == "STORE" else a for a in extra]
    args = ["embed", str(path), "--model", str(tiny_bert), "--cache-dir", str(tmp_path / "c")]
    assert main(args + extra) == 1
    assert message in capsys.readouterr().err


def test_embed_out_builds_the_index_and_its_neighbour_table_beside_the_store(
    tiny_bert, tmp_path, capsys
):
    pytest.importorskip("faiss")
    from skprepal.strategies import VectorIndex

    path = tmp_path / "t.csv"
    path.write_text("text\n" + "\n".join(f"ticket {i} about a refund" for i in range(30)))
    args = ["embed", str(path), "--out", str(tmp_path / "store"), "--model", str(tiny_bert),
            "--cache-dir", str(tmp_path / "cache"), "--neighbour-table", "7"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "vector index: VectorIndex(IndexFlatIP, n_rows=30, neighbours=7)" in printed
    index = VectorIndex.open(tmp_path / "store" / "index.faiss")
    store = EmbeddingStore.open(tmp_path / "store")
    rows, _ = index.search(store.vectors[[4]], 7)
    np.testing.assert_array_equal(index.neighbour_table[4], rows[0])
