"""Frozen pretrained text embeddings: the transformer, pooling and the on-disk cache.

Model loading, device choice and batching are shared with the fine-tuner and live in
:mod:`skprepal._hf`.
"""

from skprepal._hf import DEFAULT_MODEL
from skprepal.embedding._cache import EmbeddingCache
from skprepal.embedding._store import EmbeddingStore
from skprepal.embedding._transformer import FrozenLLMTransformer

__all__ = ["DEFAULT_MODEL", "EmbeddingCache", "EmbeddingStore", "FrozenLLMTransformer"]
