"""Pooling of token embeddings into one vector per text."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["POOLING_MODES", "pool"]

# The modes sentence-transformers folders may declare; "mean", "cls" and "max" are also offered
# directly as FrozenLLMTransformer's ``pooling``.
POOLING_MODES = ("mean", "cls", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")


def _mean_parts(tokens: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    weights = mask.unsqueeze(-1).to(tokens.dtype)
    total = (tokens * weights).sum(dim=1)
    count = weights.sum(dim=1).clamp(min=1e-9)
    return total, count


def _pool_one(mode: str, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    import torch

    if mode == "mean":
        total, count = _mean_parts(tokens, mask)
        return total / count
    if mode == "mean_sqrt_len_tokens":
        total, count = _mean_parts(tokens, mask)
        return total / count.sqrt()
    if mode == "cls":
        # The first attended position, so left-padded batches pool the real first token too.
        first = mask.to(torch.int32).argmax(dim=1)
        return tokens[torch.arange(tokens.shape[0], device=tokens.device), first]
    if mode == "max":
        hidden = tokens.masked_fill(mask.unsqueeze(-1) == 0, float("-inf"))
        return hidden.max(dim=1).values
    if mode == "lasttoken":
        positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
        last = torch.where(mask.bool(), positions, -1).max(dim=1).values.clamp(min=0)
        return tokens[torch.arange(tokens.shape[0], device=tokens.device), last]
    if mode == "weightedmean":
        # Weights grow with the position among the attended tokens (1, 2, 3, ...).
        attended = mask.to(tokens.dtype)
        weights = (attended.cumsum(dim=1) * attended).unsqueeze(-1)
        return (tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
    raise ValueError(f"unknown pooling mode {mode!r}; expected one of {POOLING_MODES}")


def pool(modes: tuple[str, ...], tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Pool ``tokens`` (batch, length, hidden) over the attended positions of ``mask``.

    Parameters
    ----------
    modes : tuple of str
        Pooling modes from :data:`POOLING_MODES`; several are concatenated in order, as
        sentence-transformers does.
    tokens : torch.Tensor of shape (batch, length, hidden)
        The encoder's last hidden states.
    mask : torch.Tensor of shape (batch, length)
        1 for real tokens, 0 for padding.

    Returns
    -------
    torch.Tensor of shape (batch, hidden * len(modes))
    """
    import torch

    pooled = [_pool_one(mode, tokens, mask) for mode in modes]
    return pooled[0] if len(pooled) == 1 else torch.cat(pooled, dim=-1)
