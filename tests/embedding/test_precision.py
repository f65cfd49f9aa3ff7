"""Precision of the forward pass: the "auto" rule, hardware detection, the cache key, accuracy."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone

import skprepal._hf._precision as precision_module
from skprepal import FrozenLLMTransformer
from skprepal._hf import (
    Hardware,
    auto_precision,
    check_precision,
    load_encoder,
    resolve_precision,
)
from skprepal._hf._precision import _read_cpuinfo, detect_hardware
from skprepal.embedding import EmbeddingCache
from skprepal.embedding._encode import Encoder
from skprepal.exceptions import InvalidInputError

AVX2 = frozenset({"avx", "avx2", "fma", "f16c"})  # e.g. AMD EPYC Zen 2/3
AVX512 = AVX2 | {"avx512f", "avx512_vnni"}  # e.g. Intel Xeon Ice Lake
ZEN4 = AVX512 | {"avx512_bf16"}
SAPPHIRE_RAPIDS = ZEN4 | {"avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"}


def _cosine(a, b):
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.mark.parametrize(
    ("hardware", "expected"),
    [
        (Hardware("cpu", cpu_flags=frozenset()), "fp32"),
        (Hardware("cpu", cpu_flags=AVX2), "fp32"),
        (Hardware("cpu", cpu_flags=AVX512), "fp32"),
        (Hardware("cpu", cpu_flags=ZEN4), "fp32"),  # bf16 measured slower without AMX
        (Hardware("cpu", cpu_flags=SAPPHIRE_RAPIDS), "bf16"),
        (Hardware("cpu", cpu_flags=AVX2 | {"amx_bf16"}), "bf16"),
        (Hardware("cuda", cuda_capability=(6, 1)), "fp32"),
        (Hardware("cuda", cuda_capability=(7, 0)), "fp16"),
        (Hardware("cuda", cuda_capability=(7, 5)), "fp16"),
        (Hardware("cuda", cuda_capability=(8, 0)), "bf16"),
        (Hardware("cuda", cuda_capability=(9, 0)), "bf16"),
        (Hardware("cuda"), "fp32"),  # capability unknown
        (Hardware("mps"), "fp32"),
    ],
)
def test_auto_is_a_rule_per_capability(hardware, expected):
    chosen, reason = auto_precision(hardware)
    assert chosen == expected and reason
    # Deterministic: the same capabilities always give the same answer (the cache key holds it).
    assert {auto_precision(hardware)[0] for _ in range(3)} == {expected}
    assert resolve_precision("auto", hardware.device_type, hardware=hardware) == expected
    assert auto_precision(hardware, training=True)[0] == expected
    # int8 misses the cosine bar on every measured setting, so auto never picks it.
    assert chosen != "int8"


def test_explicit_precisions_are_kept_and_int8_is_cpu_only():
    cpu = Hardware("cpu", cpu_flags=AVX2)
    gpu = Hardware("cuda", cuda_capability=(8, 0))
    for name in ("fp32", "bf16", "fp16", "int8"):
        assert resolve_precision(name, "cpu", hardware=cpu) == name
    with pytest.raises(InvalidInputError, match="int8.*CPU only.*'cuda'"):
        resolve_precision("int8", "cuda", hardware=gpu)
    assert resolve_precision("fp16", "cuda", hardware=gpu, training=True) == "fp16"
    with pytest.raises(InvalidInputError, match="fp16.*GPU only"):
        resolve_precision("fp16", "cpu", hardware=cpu, training=True)


def test_cpuinfo_flags_are_read_not_assumed(tmp_path):
    fake = tmp_path / "cpuinfo"
    fake.write_text(
        "processor\t: 0\nmodel name\t: Some Xeon\nflags\t\t: fpu avx2 avx512f avx512_bf16 "
        "amx_tile amx_bf16\n\nprocessor\t: 1\nmodel name\t: Some Xeon\nflags\t\t: fpu\n"
    )
    name, flags = _read_cpuinfo(fake)
    assert name == "Some Xeon" and {"avx2", "amx_bf16", "avx512_bf16"} <= flags
    assert _read_cpuinfo(tmp_path / "missing") is None
    found = detect_hardware("cpu")
    assert found.device_type == "cpu" and found.cores >= 1
    real = _read_cpuinfo()
    if real is not None and real[1]:
        assert found.cpu_flags == real[1]  # this machine's own flags, whatever they are
    assert found.name in found.describe()


def test_auto_follows_the_detected_hardware(tiny_bert, texts, monkeypatch):
    seen = []

    def fake_detect(device):
        seen.append(device)
        return Hardware("cpu", "a CPU with AMX", SAPPHIRE_RAPIDS)

    monkeypatch.setattr(precision_module, "detect_hardware", fake_detect)
    embedder = FrozenLLMTransformer(tiny_bert, device="cpu").fit(texts)
    assert embedder.precision == "auto" and embedder.precision_ == "bf16" and seen == ["cpu"]
    monkeypatch.setattr(
        precision_module, "detect_hardware", lambda device: Hardware("cpu", cpu_flags=AVX2)
    )
    assert FrozenLLMTransformer(tiny_bert, device="cpu").fit(texts).precision_ == "fp32"


@pytest.mark.parametrize("low", ["bf16", "fp16", "int8"])
def test_low_precision_stays_close_to_fp32(tiny_bert, texts, low):
    reference = FrozenLLMTransformer(tiny_bert, precision="fp32", device="cpu").fit_transform(texts)
    embedder = FrozenLLMTransformer(tiny_bert, precision=low, device="cpu")
    out = embedder.fit_transform(texts)
    assert embedder.precision_ == low and out.dtype == np.float32
    assert not np.array_equal(out, reference)  # the precision was really applied
    assert _cosine(out, reference).min() >= 0.999


@pytest.mark.parametrize("low", ["bf16", "fp16"])
def test_low_precision_casts_linear_weights_once_and_gives_autocast_numbers(
    tiny_bert, texts, low
):
    import dataclasses

    import torch

    dtype = torch.bfloat16 if low == "bf16" else torch.float16
    embedder = FrozenLLMTransformer(tiny_bert, precision=low, device="cpu").fit(texts)
    out = embedder.transform(texts)
    model = embedder._encoder.model
    linears = [m for m in model.modules() if type(m) is torch.nn.Linear]
    assert linears and all(m.weight.dtype == m.bias.dtype == dtype for m in linears)
    kept = [
        p for m in model.modules() if isinstance(m, (torch.nn.LayerNorm, torch.nn.Embedding))
        for p in m.parameters(recurse=False)
    ]
    assert kept and all(p.dtype == torch.float32 for p in kept)
    # The shared fp32 model is untouched, and under autocast it gives these very vectors.
    source, _ = load_encoder(tiny_bert, "cpu", "fp32")
    assert all(p.dtype == torch.float32 for p in source.parameters())
    on_source = dataclasses.replace(embedder._encoder, model=source)
    _, reference = next(
        on_source.iter_embeddings(np.asarray(texts, dtype=object), embedder.batch_size)
    )
    np.testing.assert_array_equal(out, reference)


def test_a_weight_a_linear_shares_with_an_embedding_stays_fp32():
    import torch

    from skprepal._hf._precision import cast_linear_weights

    embedding, head, other = torch.nn.Embedding(5, 4), torch.nn.Linear(4, 5), torch.nn.Linear(4, 4)
    head.weight = embedding.weight  # tied, as a language-model head is to its input embeddings
    cast = cast_linear_weights(torch.nn.ModuleList([embedding, head, other]), "bf16")
    assert cast[0].weight is cast[1].weight and cast[1].weight.dtype == torch.float32
    assert cast[1].bias.dtype == cast[2].weight.dtype == torch.bfloat16
    assert head.bias.dtype == other.weight.dtype == torch.float32  # the original is untouched


def test_int8_quantizes_a_copy_and_leaves_the_shared_model_alone(tiny_bert, texts):
    import torch

    fp32 = FrozenLLMTransformer(tiny_bert, precision="fp32", device="cpu").fit(texts)
    before = fp32.transform(texts)
    int8 = FrozenLLMTransformer(tiny_bert, precision="int8", device="cpu").fit(texts)
    int8.transform(texts)
    linear_types = {type(m) for m in int8._encoder.model.modules() if "Linear" in type(m).__name__}
    assert torch.nn.Linear not in linear_types  # all quantized
    assert any(isinstance(m, torch.nn.Linear) for m in fp32._encoder.model.modules())
    np.testing.assert_array_equal(fp32.transform(texts), before)
    # The quantized copy was made from the fp32 model already loaded, not from a second load.
    load_encoder.cache_clear()
    source, _ = load_encoder(tiny_bert, "cpu", "fp32")
    load_encoder(tiny_bert, "cpu", "int8")
    assert load_encoder(tiny_bert, "cpu", "fp32")[0] is source
    assert load_encoder.cache_info().misses == 2  # fp32 once, int8 once


def test_bf16_minilm_keeps_the_cosine_bar(packaged_minilm):
    texts = [
        "The film was a waste of two hours.",
        "A moving, beautifully acted story.",
        "I cannot log in since the password reset.",
        "What is the capital of Australia?",
    ]
    reference = FrozenLLMTransformer(precision="fp32", device="cpu").fit_transform(texts)
    out = FrozenLLMTransformer(precision="bf16", device="cpu").fit_transform(texts)
    assert _cosine(out, reference).min() >= 0.999


def test_precision_is_in_the_cache_key(tiny_bert, texts, tmp_path, monkeypatch):
    calls = []
    original = Encoder._forward

    def counting(self, inputs):
        calls.append(self.precision)
        return original(self, inputs)

    monkeypatch.setattr(Encoder, "_forward", counting)
    fp32 = FrozenLLMTransformer(tiny_bert, precision="fp32", cache_dir=tmp_path, device="cpu")
    first = fp32.fit_transform(texts)
    calls.clear()
    # A bf16 transform on the same cache never returns the cached fp32 vectors ...
    bf16 = FrozenLLMTransformer(tiny_bert, precision="bf16", cache_dir=tmp_path, device="cpu")
    low = bf16.fit_transform(texts)
    assert "bf16" in calls and bf16.n_embedded_ == len(set(texts)) and bf16.n_cached_ == 0
    assert not np.array_equal(low, first)
    with EmbeddingCache(tmp_path) as cache:
        assert len(cache) == 2 * len(set(texts))
    # ... and an fp32 transform after it gets its own, unchanged.
    calls.clear()
    again = FrozenLLMTransformer(tiny_bert, precision="fp32", cache_dir=tmp_path, device="cpu")
    np.testing.assert_array_equal(again.fit_transform(texts), first)
    assert again.n_cached_ == len(set(texts)) and calls == ["fp32"]  # only fit's probe ran
    # "auto" shares the entries of the precision it resolves to, here and nowhere else.
    auto = FrozenLLMTransformer(tiny_bert, cache_dir=tmp_path, device="cpu").fit(texts)
    expected = {"fp32": first, "bf16": low}.get(auto.precision_)
    if expected is not None:
        np.testing.assert_array_equal(auto.transform(texts), expected)
        assert auto.n_embedded_ == 0


def test_a_cached_transform_after_unpickling_loads_no_model(
    tiny_bert, texts, tmp_path, monkeypatch
):
    import skprepal.embedding._transformer as transformer_module

    embedder = FrozenLLMTransformer(tiny_bert, precision="fp32", cache_dir=tmp_path, device="cpu")
    first = embedder.fit_transform(texts)
    restored = pickle.loads(pickle.dumps(embedder))
    assert restored.precision_ == "fp32"

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded for a transform the cache answers")

    monkeypatch.setattr(transformer_module, "load_encoder", no_loading)
    np.testing.assert_array_equal(restored.transform(texts), first)
    assert restored.n_cached_ == len(set(texts))
    with pytest.raises(AssertionError, match="model was loaded"):
        restored.transform(["a text the cache has never seen"])


def test_clone_and_params_keep_the_precision(tiny_bert):
    embedder = FrozenLLMTransformer(tiny_bert, precision="int8")
    assert clone(embedder).precision == "int8"
    assert embedder.get_params()["precision"] == "int8"


@pytest.mark.parametrize(
    ("bad", "hint"),
    [
        ("bfloat16", "Did you mean 'bf16'"),
        ("float16", "Did you mean 'fp16'"),
        ("FP32", "Did you mean 'fp32'"),
        ("fp33", "Did you mean 'fp32'"),
        ("int4", "Did you mean 'int8'"),
        ("half", "Did you mean 'fp16'"),
        ("quick", "choose one of 'auto', 'fp32', 'bf16', 'fp16', 'int8'\\.$"),
    ],
)
def test_an_invalid_precision_is_a_clear_error_before_any_loading(bad, hint, tmp_path):
    with pytest.raises(InvalidInputError, match=f"precision={bad!r} is not supported.*{hint}"):
        FrozenLLMTransformer(tmp_path / "no-model-here", precision=bad).fit(["a"])
    with pytest.raises(InvalidInputError, match="Did you mean"):
        check_precision("bf_16")
    with pytest.raises(ValueError, match="'precision' parameter"):
        FrozenLLMTransformer(tmp_path / "no-model-here", precision=16).fit(["a"])
