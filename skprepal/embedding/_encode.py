"""The batched forward pass: tokenize, sort by length, pad per batch, pool, restore order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from skprepal.embedding._pooling import pool

__all__ = ["Encoder"]

# Texts tokenized and length-sorted together. Sorting a whole chunk keeps padding waste low;
# bounding it keeps the token lists of a huge pool out of memory.
CHUNK_SIZE = 16_384
# Padded tokens per forward pass at most: batches of long texts get fewer texts. On CPU, long
# batches past this size run slower per token (activations leave the cache), and the cap bounds
# peak memory whatever batch_size says.
MAX_BATCH_TOKENS = 8_192


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
    """

    model: Any
    tokenizer: Any
    pooling: tuple[str, ...]
    max_length: int
    normalize: bool
    device: str
    lower_case: bool = False

    def _tokenize(self, texts: np.ndarray) -> dict[str, list[list[int]]]:
        # One list per column: the tokenizer takes a pair as (text, text_pair).
        columns = [list(texts)] if texts.ndim == 1 else [list(col) for col in texts.T]
        if self.lower_case:
            columns = [[t.lower() for t in col] for col in columns]
        wanted = set(self.tokenizer.model_input_names)
        encoded = self.tokenizer(
            *columns,
            truncation=True,
            max_length=self.max_length,
            padding=False,
            return_attention_mask=False,
            return_token_type_ids="token_type_ids" in wanted,
        )
        return {
            name: encoded[name] for name in ("input_ids", "token_type_ids") if name in encoded
        }

    def _pad(self, sequences: list[list[int]], value: int) -> np.ndarray:
        width = max(len(s) for s in sequences)
        out = np.full((len(sequences), width), value, dtype=np.int64)
        left = getattr(self.tokenizer, "padding_side", "right") == "left"
        for row, seq in enumerate(sequences):
            if left:
                out[row, width - len(seq) :] = seq
            else:
                out[row, : len(seq)] = seq
        return out

    def _forward(self, batch: dict[str, list[list[int]]]) -> np.ndarray:
        import torch

        ids = batch["input_ids"]
        pad_id = self.tokenizer.pad_token_id
        inputs = {"input_ids": self._pad(ids, 0 if pad_id is None else pad_id)}
        inputs["attention_mask"] = self._pad([[1] * len(s) for s in ids], 0)
        if "token_type_ids" in batch:
            inputs["token_type_ids"] = self._pad(batch["token_type_ids"], 0)
        tensors = {k: torch.from_numpy(v).to(self.device) for k, v in inputs.items()}
        output = self.model(**tensors)
        tokens = output.last_hidden_state if hasattr(output, "last_hidden_state") else output[0]
        vectors = pool(self.pooling, tokens, tensors["attention_mask"])
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
            encoded = self._tokenize(chunk)
            lengths = np.fromiter((len(s) for s in encoded["input_ids"]), int, len(chunk))
            # Longest first: the first batch shows the memory peak at once, as
            # sentence-transformers does; stable so equal lengths keep input order.
            order = np.argsort(-lengths, kind="stable")
            vectors = None
            with torch.inference_mode():
                b = 0
                while b < len(order):
                    # Sorted longest first, so the batch's first text sets its padded width.
                    width = max(int(lengths[order[b]]), 1)
                    rows = order[b : b + max(1, min(batch_size, MAX_BATCH_TOKENS // width))]
                    b += len(rows)
                    batch = {name: [seqs[i] for i in rows] for name, seqs in encoded.items()}
                    out = self._forward(batch)
                    if vectors is None:
                        vectors = np.empty((len(chunk), out.shape[1]), dtype=np.float32)
                    vectors[rows] = out
                    if progress is not None:
                        progress.update(len(rows))
            yield np.arange(start, start + len(chunk)), vectors
