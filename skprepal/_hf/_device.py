"""Choice of the torch device a model runs on."""

from __future__ import annotations

import re

from skprepal.exceptions import InvalidInputError

__all__ = ["resolve_device"]

_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def resolve_device(device: str = "auto") -> str:
    """Return a concrete torch device string for ``device``.

    Parameters
    ----------
    device : str, default="auto"
        ``"auto"`` picks CUDA when a GPU is visible, then Apple's MPS, then the CPU. ``"cpu"``,
        ``"cuda"``, ``"cuda:N"`` and ``"mps"`` are used as given, after checking that they exist.

    Returns
    -------
    str
        The device, for example ``"cpu"`` or ``"cuda:0"``.

    Raises
    ------
    InvalidInputError
        If ``device`` is not a device name, or names a device this machine does not have.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    """
    if not isinstance(device, str) or not _DEVICE_PATTERN.match(device):
        raise InvalidInputError(
            f"device={device!r} is not supported; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
        )
    import torch

    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if device == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if device.startswith("cuda"):
        if not cuda:
            raise InvalidInputError(
                f"device={device!r} was asked for, but torch sees no CUDA GPU here "
                f"(torch {torch.__version__}); use device='auto' or 'cpu'."
            )
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise InvalidInputError(
                f"device={device!r} does not exist: torch sees {torch.cuda.device_count()} GPU(s)."
            )
    if device == "mps" and not mps:
        raise InvalidInputError("device='mps' was asked for, but MPS is not available here.")
    return device
