"""Tokenize once, sort by token length, pad per batch: the input side of every forward pass.

Shared by the frozen encoder (pooled hidden states) and the fine-tuned classifier (logits), so
both get the same padding savings and the same handling of text pairs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["CHUNK_SIZE", "MAX_BATCH_TOKENS", "tokenize", "length_sorted_batches"]

# Texts tokenized and length-sorted together. Sorting a whole chunk keeps padding waste low;
# bounding it keeps the token lists of a huge pool out of memory.
CHUNK_SIZE = 16_384
# Padded tokens per forward pass at most: batches of long texts get fewer texts. On CPU, long
# batches past this size run slower per token (activations leave the cache), and the cap bounds
# peak memory whatever batch_size says.
MAX_BATCH_TOKENS = 8_192


def tokenize(
    tokenizer: Any, texts: np.ndarray, max_length: int, *, lower_case: bool = False
) -> dict[str, list[list[int]]]:
    """Token ids (and token type ids where the model takes them), unpadded, truncated.

    Parameters
    ----------
    tokenizer : transformers tokenizer
    texts : ndarray of object, shape (n,) or (n, 2)
        Texts, or pairs given to the tokenizer as ``(text, text_pair)``.
    max_length : int
        Truncation length in tokens (a pair counts both texts).
    lower_case : bool, default=False
        Lower-case the texts first.

    Returns
    -------
    dict
        ``input_ids`` and, when the model takes them, ``token_type_ids``: one list per text.
    """
    # One list per column: the tokenizer takes a pair as (text, text_pair).
    columns = [list(texts)] if texts.ndim == 1 else [list(col) for col in texts.T]
    if lower_case:
        columns = [[t.lower() for t in col] for col in columns]
    wanted = set(tokenizer.model_input_names)
    encoded = tokenizer(
        *columns,
        truncation=True,
        max_length=max_length,
        padding=False,
        return_attention_mask=False,
        return_token_type_ids="token_type_ids" in wanted,
    )
    return {name: encoded[name] for name in ("input_ids", "token_type_ids") if name in encoded}


def _pad(sequences: list[list[int]], value: int, left: bool) -> np.ndarray:
    width = max(len(s) for s in sequences)
    out = np.full((len(sequences), width), value, dtype=np.int64)
    for row, seq in enumerate(sequences):
        if left:
            out[row, width - len(seq) :] = seq
        else:
            out[row, : len(seq)] = seq
    return out


def length_sorted_batches(
    tokenizer: Any,
    texts: np.ndarray,
    *,
    max_length: int,
    batch_size: int,
    lower_case: bool = False,
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Yield padded model inputs for ``texts``, longest first within each chunk.

    Parameters
    ----------
    tokenizer : transformers tokenizer
    texts : ndarray of object, shape (n,) or (n, 2)
        Validated texts or pairs.
    max_length : int
        Truncation length in tokens.
    batch_size : int
        Texts per batch at most (fewer for long texts, see ``MAX_BATCH_TOKENS``).
    lower_case : bool, default=False
        Lower-case the texts first.

    Yields
    ------
    rows : ndarray of int
        Positions in ``texts`` of the batch's texts.
    inputs : dict of ndarray of int64
        ``input_ids``, ``attention_mask`` and, where used, ``token_type_ids``, padded to the
        batch's longest text.
    """
    pad_id = tokenizer.pad_token_id
    pad_id = 0 if pad_id is None else pad_id
    left = getattr(tokenizer, "padding_side", "right") == "left"
    for start in range(0, len(texts), CHUNK_SIZE):
        encoded = tokenize(
            tokenizer, texts[start : start + CHUNK_SIZE], max_length, lower_case=lower_case
        )
        lengths = np.fromiter(
            (len(s) for s in encoded["input_ids"]), int, len(encoded["input_ids"])
        )
        # Longest first: the first batch shows the memory peak at once, as sentence-transformers
        # does; stable, so equal lengths keep input order.
        order = np.argsort(-lengths, kind="stable")
        b = 0
        while b < len(order):
            # Sorted longest first, so the batch's first text sets its padded width.
            width = max(int(lengths[order[b]]), 1)
            rows = order[b : b + max(1, min(batch_size, MAX_BATCH_TOKENS // width))]
            b += len(rows)
            ids = [encoded["input_ids"][i] for i in rows]
            inputs = {
                "input_ids": _pad(ids, pad_id, left),
                "attention_mask": _pad([[1] * len(s) for s in ids], 0, left),
            }
            if "token_type_ids" in encoded:
                inputs["token_type_ids"] = _pad(
                    [encoded["token_type_ids"][i] for i in rows], 0, left
                )
            yield start + rows, inputs
