"""The frozen encoder's forward pass: batches from :mod:`skprepal._hf`, pooled."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from skprepal._hf import CHUNK_SIZE, length_sorted_batches, precision_context
from skprepal.embedding._pooling import pool

__all__ = ["Encoder"]


@dataclass
class Encoder:
    """A loaded, frozen encoder with everything needed to turn texts into vectors.

    Attributes
    ----------
    model : transformers.PreTrainedModel
        The encoder in eval mode.
    tokenizer : transformers.PreTrainedTokenizerBase
        Its tokenizer.
    pooling : tuple of str
        Pooling modes, concatenated in order.
    max_length : int
        Truncation length in tokens (a pair counts both texts).
    normalize : bool
        Whether vectors are scaled to unit L2 norm.
    device : str
        Torch device of ``model``.
    lower_case : bool
        Lower-case texts before tokenizing (sentence-transformers' ``do_lower_case``).
    precision : str
        The resolved precision: ``"bf16"`` and ``"fp16"`` run the forward pass under autocast;
        ``"int8"`` means ``model`` is already quantized; ``"fp32"`` is plain.
    """

    model: Any
    tokenizer: Any
    pooling: tuple[str, ...]
    max_length: int
    normalize: bool
    device: str
    lower_case: bool = False
    precision: str = "fp32"

    def _forward(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        import torch

        tensors = {k: torch.from_numpy(v).to(self.device) for k, v in inputs.items()}
        with precision_context(self.precision, self.device):
            output = self.model(**tensors)
        tokens = output.last_hidden_state if hasattr(output, "last_hidden_state") else output[0]
        # Pooled in fp32 whatever the forward pass ran in: a mean over hundreds of bf16 values
        # would round away what the low precision kept.
        vectors = pool(self.pooling, tokens.float(), tensors["attention_mask"])
        if self.normalize:
            vectors = torch.nn.functional.normalize(vectors, p=2.0, dim=1)
        return vectors.float().cpu().numpy()

    def iter_embeddings(
        self, texts: np.ndarray, batch_size: int, progress: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Embed ``texts`` chunk by chunk.

        Parameters
        ----------
        texts : ndarray of object, shape (n,) or (n, 2)
            Validated texts or pairs.
        batch_size : int
            Texts per forward pass.
        progress : tqdm bar, optional
            Advanced by the number of texts of each forward pass.

        Yields
        ------
        positions : ndarray of int
            Row numbers into ``texts``.
        vectors : ndarray of float32, shape (len(positions), dim)
            Their embeddings.
        """
        import torch

        for start in range(0, len(texts), CHUNK_SIZE):
            chunk = texts[start : start + CHUNK_SIZE]
            vectors = None
            with torch.inference_mode():
                for rows, inputs in length_sorted_batches(
                    self.tokenizer,
                    chunk,
                    max_length=self.max_length,
                    batch_size=batch_size,
                    lower_case=self.lower_case,
                ):
                    out = self._forward(inputs)
                    if vectors is None:
                        vectors = np.empty((len(chunk), out.shape[1]), dtype=np.float32)
                    vectors[rows] = out
                    if progress is not None:
                        progress.update(len(rows))
            yield np.arange(start, start + len(chunk)), vectors
