"""The Hugging Face plumbing shared by every estimator that runs a transformer.

One module per job: ``_device`` picks the torch device, ``_precision`` the numeric precision
from the hardware found at run time, ``_loading`` turns a model name
into a vetted local folder and loads it (never running code shipped with a model), and
``_batching`` tokenizes and cuts length-sorted batches. The frozen embedder, the fine-tuner
and the MLP head import from here, so none of them depends on another's package. Nothing here
imports torch or transformers until a function needs them.
"""

from skprepal._hf._batching import CHUNK_SIZE, MAX_BATCH_TOKENS, length_sorted_batches, tokenize
from skprepal._hf._device import resolve_device
from skprepal._hf._loading import (
    DEFAULT_MODEL,
    EncoderSpec,
    effective_max_length,
    load_encoder,
    load_tokenizer,
    read_encoder_spec,
    refuse_remote_code,
    resolve_model_folder,
)
from skprepal._hf._precision import (
    PRECISIONS,
    TRAINING_PRECISIONS,
    Hardware,
    auto_precision,
    check_precision,
    detect_hardware,
    precision_context,
    resolve_precision,
)

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_MODEL",
    "MAX_BATCH_TOKENS",
    "PRECISIONS",
    "TRAINING_PRECISIONS",
    "EncoderSpec",
    "Hardware",
    "auto_precision",
    "check_precision",
    "detect_hardware",
    "effective_max_length",
    "length_sorted_batches",
    "load_encoder",
    "load_tokenizer",
    "precision_context",
    "read_encoder_spec",
    "refuse_remote_code",
    "resolve_device",
    "resolve_precision",
    "resolve_model_folder",
    "tokenize",
]
