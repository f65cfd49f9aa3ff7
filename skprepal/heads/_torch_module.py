"""The torch side of the MLP head: the module with explicit-generator dropout, and its helpers.

Kept apart from the estimator so that importing skprepal never imports torch: everything here
imports it on first use.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = [
    "_dropout_mlp_class",
    "_make_module",
    "_torch_threads",
    "_to_tensor",
    "_adamw",
    "_inference_dtype",
    "_generator",
]


# -- the torch module ---------------------------------------------------------------------------


@functools.cache
def _dropout_mlp_class() -> type:
    """The torch module class, built on first use so that importing skprepal does not import
    torch. It is published as ``skprepal.heads._mlp._DropoutMLP`` (see ``__getattr__`` below), so
    a ``module_`` pickles and ``torch.save``-s on its own too."""
    import torch
    from torch import nn

    class _DropoutMLP(nn.Module):
        """Linear -> activation -> dropout, per hidden layer, then a linear output layer.

        Dropout masks are drawn from an explicit ``torch.Generator`` when one is passed to
        ``forward``, and from torch's global RNG otherwise (plain ``module(x)`` in train mode).
        The layers are created on the meta device, without weights: see :func:`_make_module`.
        """

        def __init__(
            self,
            n_features: int,
            hidden_layer_sizes: tuple[int, ...],
            n_outputs: int,
            activation: str,
            dropout: float,
        ) -> None:
            super().__init__()
            self.config = {
                "n_features": int(n_features),
                "hidden_layer_sizes": tuple(int(h) for h in hidden_layer_sizes),
                "n_outputs": int(n_outputs),
                "activation": str(activation),
                "dropout": float(dropout),
            }
            sizes = (n_features, *hidden_layer_sizes)
            self.hidden = nn.ModuleList(
                nn.Linear(a, b, device="meta")
                for a, b in zip(sizes[:-1], sizes[1:], strict=True)
            )
            self.output = nn.Linear(sizes[-1], n_outputs, device="meta")
            self.dropout = float(dropout)
            self.activation = activation

        def _act(self, h: Any) -> Any:
            if self.activation == "relu":
                return torch.relu(h)
            if self.activation == "gelu":
                return torch.nn.functional.gelu(h)
            return torch.tanh(h)

        def _drop(self, h: Any, generator: Any | None) -> Any:
            if self.dropout <= 0.0:
                return h
            keep = 1.0 - self.dropout
            mask = torch.empty_like(h).bernoulli_(keep, generator=generator)
            return h * mask / keep

        def embed(self, x: Any) -> Any:
            """Activations of the last hidden layer, without dropout."""
            for layer in self.hidden:
                x = self._act(layer(x))
            return x

        def forward(
            self, x: Any, *, stochastic: bool | None = None, generator: Any | None = None
        ) -> Any:
            """Logits; dropout is on when ``stochastic`` (default: in train mode)."""
            stochastic = self.training if stochastic is None else stochastic
            for layer in self.hidden:
                x = self._act(layer(x))
                if stochastic:
                    x = self._drop(x, generator)
            return self.output(x)

        def forward_samples(self, x: Any, n_samples: int, generator: Any | None) -> Any:
            """Logits of ``n_samples`` dropout passes, shape (n_samples, n_rows, n_outputs).

            The first hidden layer comes before any dropout, so it is computed once.
            """
            first, rest = self.hidden[0], self.hidden[1:]
            h0 = self._act(first(x))
            out = []
            for _ in range(n_samples):
                h = self._drop(h0, generator)
                for layer in rest:
                    h = self._drop(self._act(layer(h)), generator)
                out.append(self.output(h))
            return torch.stack(out)

    _DropoutMLP.__module__ = __name__
    _DropoutMLP.__qualname__ = "_DropoutMLP"
    return _DropoutMLP


def __getattr__(name: str) -> Any:
    if name == "_DropoutMLP":
        return _dropout_mlp_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _make_module(
    n_features: int,
    hidden_layer_sizes: tuple[int, ...],
    n_outputs: int,
    activation: str,
    dropout: float,
    device: str,
    generator: Any | None,
) -> Any:
    """Build the MLP on ``device``; initialise it from ``generator`` (None: leave it empty).

    The layers are created on the meta device, so that building one never draws from torch's
    global RNG (``nn.Linear`` would initialise itself from it); the weights are then drawn from
    the local generator with PyTorch's default ``nn.Linear`` scheme, U(-1/sqrt(fan_in), +).
    """
    import torch

    cls = _dropout_mlp_class()
    module = cls(n_features, hidden_layer_sizes, n_outputs, activation, dropout)
    module = module.to_empty(device=device)
    if generator is not None:
        with torch.no_grad():
            for layer in (*module.hidden, module.output):
                bound = 1.0 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)
    return module


@contextmanager
def _torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block with at most ``n_threads`` torch CPU threads (None: leave as is)."""
    import torch

    before = torch.get_num_threads()
    if n_threads is None or n_threads >= before:
        yield
        return
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _to_tensor(X: np.ndarray, device: str, dtype: Any) -> Any:
    import torch

    if not X.flags.writeable:  # torch warns on read-only buffers (memmaps)
        X = X.copy()
    return torch.from_numpy(np.ascontiguousarray(X)).to(device=device, dtype=dtype)


def _adamw(module: Any, lr: float, weight_decay: float) -> Any:
    """AdamW, fused into one kernel per step where this torch supports it (about 20% faster
    than the per-tensor loop for small heads on the CPU)."""
    import torch

    try:
        return torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)


def _inference_dtype(device: str) -> Any:
    import torch

    # Inference runs in float64 (the weights are float32, cast exactly): a row's output then does
    # not depend on which other rows share its batch (float32 GEMM and GEMV sum in different
    # orders), and probabilities sum to one to double precision. MPS has no float64.
    return torch.float32 if device.startswith("mps") else torch.float64


def _generator(device: str, seed: int) -> Any:
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


# -- the estimator ------------------------------------------------------------------------------
