"""FrozenLLMTransformer: correctness against plain transformers code, input handling, errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skprepal import FrozenLLMTransformer
from skprepal.embedding._encode import Encoder
from skprepal.exceptions import InvalidInputError, ModelNotFoundError, NotFittedError


def reference_embeddings(folder, texts, pairs=None, mode="mean", max_length=256):
    """One text at a time, no padding, pooled by hand: what a batched, sorted run must match."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    rows = []
    for i, text in enumerate(texts):
        args = (text,) if pairs is None else (text, pairs[i])
        enc = tokenizer(*args, truncation=True, max_length=max_length, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**enc).last_hidden_state[0]
        pooled = {"mean": hidden.mean(0), "cls": hidden[0], "max": hidden.max(0).values}[mode]
        rows.append(pooled.numpy())
    return np.stack(rows)


@pytest.mark.parametrize("mode", ["mean", "cls", "max"])
def test_matches_unbatched_reference_in_input_order(tiny_bert, texts, mode):
    embedder = FrozenLLMTransformer(
        tiny_bert, pooling=mode, batch_size=2, device="cpu", precision="fp32"
    )
    out = embedder.fit_transform(texts)
    assert out.dtype == np.float32
    assert out.shape == (len(texts), 32)
    np.testing.assert_allclose(out, reference_embeddings(tiny_bert, texts, mode=mode), atol=1e-5)


def test_batch_size_does_not_change_the_output(tiny_bert, texts):
    # fp32: in bf16 or fp16 the padding of a batch shows in the last digits kept.
    small = FrozenLLMTransformer(tiny_bert, batch_size=1, device="cpu", precision="fp32")
    large = FrozenLLMTransformer(tiny_bert, batch_size=64, device="cpu", precision="fp32")
    small, large = small.fit_transform(texts), large.fit_transform(texts)
    np.testing.assert_allclose(small, large, atol=1e-5)


def test_pairs_go_to_the_tokenizer_as_text_and_text_pair(tiny_bert):
    questions = ["what is a refund", "who made the film", "why"]
    answers = ["a refund is money back", "the plot", "because it was bad and not good at all"]
    embedder = FrozenLLMTransformer(tiny_bert, device="cpu", precision="fp32").fit(
        list(zip(questions, answers, strict=True))
    )
    out = embedder.transform(np.array([questions, answers], dtype=object).T)
    expected = reference_embeddings(tiny_bert, questions, pairs=answers)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert embedder.n_features_in_ == 2
    joined = FrozenLLMTransformer(tiny_bert, device="cpu", precision="fp32").fit_transform(
        [q + " " + a for q, a in zip(questions, answers, strict=True)]
    )
    assert not np.allclose(out, joined, atol=1e-3)


def test_separate_pair_encoding_gives_sentence_bert_pair_features(tiny_bert, tmp_path, monkeypatch):
    questions = ["what is a refund", "who made the film", "why"]
    answers = ["a refund is money back", "the plot", "because it was bad and not good at all"]
    pairs = np.array([questions, answers], dtype=object).T
    embedder = FrozenLLMTransformer(
        tiny_bert, device="cpu", precision="fp32", pair_encoding="separate", cache_dir=tmp_path
    ).fit(pairs)
    out = embedder.transform(pairs)
    u = reference_embeddings(tiny_bert, questions)
    v = reference_embeddings(tiny_bert, answers)
    np.testing.assert_allclose(out, np.hstack([u, v, np.abs(u - v), u * v]), atol=1e-5)
    assert out.shape == (3, embedder.embedding_dim_) == (3, 4 * u.shape[1])
    assert embedder.get_feature_names_out().shape == (4 * u.shape[1],)
    # Each text is cached on its own: a single-text transformer on the same cache finds them.
    single = FrozenLLMTransformer(
        tiny_bert, device="cpu", precision="fp32", cache_dir=tmp_path
    ).fit(questions)

    def no_forward(*args, **kwargs):
        raise AssertionError("a text cached by the pair transform was embedded again")

    monkeypatch.setattr(Encoder, "_forward", no_forward)
    np.testing.assert_allclose(single.transform(questions), u, atol=1e-5)


def test_separate_pair_encoding_leaves_single_texts_alone(tiny_bert, texts):
    joint = FrozenLLMTransformer(tiny_bert, device="cpu").fit_transform(texts)
    separate = FrozenLLMTransformer(tiny_bert, device="cpu", pair_encoding="separate")
    np.testing.assert_array_equal(separate.fit_transform(texts), joint)


def test_unknown_pair_encoding_is_a_clear_error(tiny_bert, texts):
    with pytest.raises(InvalidInputError, match="pair_encoding.*separate"):
        FrozenLLMTransformer(tiny_bert, device="cpu", pair_encoding="seperate").fit(texts)


def test_containers_give_the_same_embeddings(tiny_bert, texts):
    pd = pytest.importorskip("pandas")
    embedder = FrozenLLMTransformer(tiny_bert, device="cpu").fit(texts)
    expected = embedder.transform(texts)
    np.testing.assert_array_equal(embedder.transform(np.array(texts)), expected)
    np.testing.assert_array_equal(embedder.transform(tuple(texts)), expected)
    np.testing.assert_array_equal(embedder.transform(pd.Series(texts)), expected)
    np.testing.assert_array_equal(embedder.transform(np.array(texts)[:, None]), expected)


def test_set_output_pandas_keeps_index_and_names_columns(tiny_bert, texts):
    pd = pytest.importorskip("pandas")
    series = pd.Series(texts, index=[f"doc{i}" for i in range(len(texts))])
    embedder = FrozenLLMTransformer(tiny_bert, device="cpu").set_output(transform="pandas")
    frame = embedder.fit_transform(series)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index) == list(series.index)
    assert list(frame.columns) == list(embedder.get_feature_names_out())
    assert frame.columns[0] == "frozenllmtransformer0" and frame.shape == (len(texts), 32)


def test_normalize_gives_unit_vectors(tiny_bert, texts):
    out = FrozenLLMTransformer(tiny_bert, normalize=True, device="cpu").fit_transform(texts)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_truncation_at_max_length(tiny_bert):
    base = "good " * 20
    texts = [base + "bad film", base + "great plot and acting"]
    truncated = FrozenLLMTransformer(tiny_bert, max_length=10, device="cpu").fit_transform(texts)
    np.testing.assert_allclose(truncated[0], truncated[1], atol=1e-6)
    full = FrozenLLMTransformer(tiny_bert, max_length=256, device="cpu").fit_transform(texts)
    assert not np.allclose(full[0], full[1], atol=1e-4)


def test_model_pooling_reads_the_sentence_transformers_folder(tiny_st, texts):
    from sentence_transformers import SentenceTransformer

    embedder = FrozenLLMTransformer(
        tiny_st, pooling="model", normalize=True, device="cpu", precision="fp32"
    )
    out = embedder.fit_transform(texts)
    assert embedder.pooling_ == ("cls",)
    assert embedder.max_length_ == 64
    expected = SentenceTransformer(str(tiny_st), device="cpu").encode(texts)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_legacy_sentence_transformers_layout(tmp_path, tiny_bert, texts):
    import json
    import shutil

    folder = tmp_path / "legacy"
    shutil.copytree(tiny_bert, folder / "0_Transformer")
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 32, "pooling_mode_max_tokens": True})
    )
    (folder / "0_Transformer" / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 12, "do_lower_case": False})
    )
    modules = [
        {
            "idx": 0, "name": "0", "path": "0_Transformer",
            "type": "sentence_transformers.models.Transformer",
        },
        {
            "idx": 1, "name": "1", "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    embedder = FrozenLLMTransformer(folder, pooling="model", device="cpu", precision="fp32")
    embedder.fit(texts)
    assert embedder.pooling_ == ("max",) and embedder.max_length_ == 12
    expected = reference_embeddings(tiny_bert, texts, mode="max", max_length=12)
    np.testing.assert_allclose(embedder.transform(texts), expected, atol=1e-5)


def test_model_pooling_on_a_plain_folder_is_a_clear_error(tiny_bert, texts):
    with pytest.raises(InvalidInputError, match="pooling='model'.*declares none"):
        FrozenLLMTransformer(tiny_bert, pooling="model", device="cpu").fit(texts)


@pytest.mark.parametrize("file", ["config.json", "tokenizer_config.json"])
def test_a_model_that_needs_its_own_code_is_refused(tmp_path, tiny_bert, texts, file):
    import shutil

    from tests.conftest import add_remote_code

    folder = add_remote_code(shutil.copytree(tiny_bert, tmp_path / "custom"), file=file)
    embedder = FrozenLLMTransformer(folder, device="cpu")
    with pytest.raises(
        InvalidInputError,
        match=rf"needs its own Python code: {file} has an auto_map.*never runs code shipped",
    ):
        embedder.fit(texts)
    assert not (tmp_path / "custom-code-ran").exists()


def test_hub_id_loads_from_the_local_hugging_face_cache(tmp_path, tiny_bert, monkeypatch, texts):
    """The hub code path, offline: a snapshot laid out as huggingface_hub caches it."""
    import shutil

    import huggingface_hub.constants as hub_constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--skprepal-test--tiny-bert"
    shutil.copytree(tiny_bert, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    embedder = FrozenLLMTransformer("skprepal-test/tiny-bert", device="cpu").fit(texts)
    assert embedder.model_path_.endswith(commit)
    expected = FrozenLLMTransformer(tiny_bert, device="cpu").fit_transform(texts)
    np.testing.assert_array_equal(embedder.transform(texts), expected)
    with pytest.raises(ModelNotFoundError, match="hub could not provide it"):
        FrozenLLMTransformer("skprepal-test/not-there", device="cpu").fit(texts)


def test_default_model_resolves_to_the_packaged_copy(packaged_minilm):
    from skprepal._hf import DEFAULT_MODEL, resolve_model_folder

    assert resolve_model_folder(DEFAULT_MODEL) == packaged_minilm
    assert resolve_model_folder("all-MiniLM-L6-v2") == packaged_minilm


@pytest.mark.slow
def test_packaged_minilm_matches_sentence_transformers_encode(packaged_minilm):
    from sentence_transformers import SentenceTransformer

    sentences = [
        "A gripping, beautifully shot film.",
        "the worst two hours of my life",
        "It was fine, I guess. " * 40,
        "Where is the refund for order 1234?",
    ]
    embedder = FrozenLLMTransformer(normalize=True, batch_size=3, device="cpu", precision="fp32")
    out = embedder.fit_transform(sentences)
    assert embedder.model_path_ == str(packaged_minilm) and out.shape == (4, 384)
    expected = SentenceTransformer(str(packaged_minilm), device="cpu").encode(sentences)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    via_folder = FrozenLLMTransformer(
        packaged_minilm, pooling="model", normalize=True, precision="fp32"
    )
    np.testing.assert_allclose(via_folder.fit_transform(sentences), expected, atol=1e-5)


def test_pickle_and_clone_round_trip(tiny_bert, texts):
    embedder = FrozenLLMTransformer(tiny_bert, device="cpu").fit(texts)
    expected = embedder.transform(texts)
    blob = pickle.dumps(embedder)
    assert len(blob) < 10_000, "the loaded model must not be pickled"
    assert embedder._encoder is not None, "pickling must not unload the live transformer"
    restored = pickle.loads(blob)
    np.testing.assert_array_equal(restored.transform(texts), expected)
    fresh = clone(embedder)
    assert not hasattr(fresh, "embedding_dim_")
    assert fresh.get_params() == embedder.get_params()


def test_progress_bar_is_shown_when_asked(tiny_bert, texts, capsys):
    FrozenLLMTransformer(tiny_bert, show_progress=True, device="cpu").fit_transform(texts)
    assert "Embedding" in capsys.readouterr().err
    FrozenLLMTransformer(tiny_bert, show_progress=False, device="cpu").fit_transform(texts)
    assert "Embedding" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "bad, message",
    [
        ("just one text", "single str; wrap it in a list"),
        (["fine", None], r"X\[1\] is None.*must be a str"),
        (["fine", 3], r"X\[1\] is 3 of type int"),
        ([], "X is empty"),
        (np.array([["a", "b", "c"]], dtype=object), r"shape \(1, 3\)"),
        ([("a", "b"), ("c",)], "mixes rows"),
        (None, "X is None"),
    ],
)
def test_bad_texts_are_rejected_before_the_model_loads(bad, message):
    # The model folder does not exist: the input error must come first, from skprepal.
    embedder = FrozenLLMTransformer("/no/such/model", device="cpu")
    with pytest.raises(InvalidInputError, match=message):
        embedder.fit(bad)


def test_bad_parameters_are_clear_errors(tiny_bert, tmp_path, texts):
    with pytest.raises(InvalidInputError, match="Did you mean 'mean'"):
        FrozenLLMTransformer(tiny_bert, pooling="meen").fit(texts)
    with pytest.raises(ModelNotFoundError, match="no such folder"):
        FrozenLLMTransformer(tmp_path / "missing").fit(texts)
    with pytest.raises(ModelNotFoundError, match="holds no model"):
        FrozenLLMTransformer(str(tmp_path)).fit(texts)
    with pytest.raises(InvalidInputError, match="device='gpu0'"):
        FrozenLLMTransformer(tiny_bert, device="gpu0").fit(texts)
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInputError, match="no CUDA GPU"):
            FrozenLLMTransformer(tiny_bert, device="cuda").fit(texts)
    with pytest.raises(ValueError, match="batch_size"):
        FrozenLLMTransformer(tiny_bert, batch_size=0).fit(texts)


def test_transform_before_fit_and_shape_change_after_fit(tiny_bert, texts):
    with pytest.raises(NotFittedError, match="FrozenLLMTransformer instance is not fitted yet"):
        FrozenLLMTransformer(tiny_bert).transform(texts)
    embedder = FrozenLLMTransformer(tiny_bert, device="cpu").fit([("q", "a"), ("q2", "a2")])
    with pytest.raises(ValueError, match="2 features"):
        embedder.transform(texts)
