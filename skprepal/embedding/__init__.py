"""Frozen pretrained text embeddings: model loading, pooling, batching and the on-disk cache."""

from skprepal.embedding._cache import EmbeddingCache
from skprepal.embedding._loading import DEFAULT_MODEL
from skprepal.embedding._transformer import FrozenLLMTransformer

__all__ = ["DEFAULT_MODEL", "EmbeddingCache", "FrozenLLMTransformer"]
