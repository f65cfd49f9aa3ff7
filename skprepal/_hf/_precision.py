"""Numeric precision of a forward pass: what the hardware offers, what ``"auto"`` picks, how to run.

``"auto"`` is a rule per hardware capability, written down with the measurement behind it
(``benchmarks/README.md``, section ``embedding.py``), never a guess made at run time from timing:
the same hardware always gets the same precision, so the cache key (which holds the precision in
effect) is stable. The capabilities are read at run time, never assumed: the CPU's flags from
``/proc/cpuinfo`` (or torch's own CPU probes where that file does not exist), the compute
capability of a CUDA device.

The rule's bar is the one a frozen embedding must keep: cosine >= 0.999 to fp32 on every text.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import logging
import platform
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skprepal.exceptions import InvalidInputError

__all__ = [
    "PRECISIONS",
    "TRAINING_PRECISIONS",
    "Hardware",
    "auto_precision",
    "check_precision",
    "detect_hardware",
    "precision_context",
    "quantize_int8",
    "resolve_precision",
]

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
# The Trainer has mixed-precision options for these; int8 training is not a thing it does.
TRAINING_PRECISIONS = ("auto", "fp32", "bf16", "fp16")

# Other spellings people write, answered with a "did you mean" (one name per setting, so the
# cache key has one spelling too).
_ALIASES = {
    "float32": "fp32", "float": "fp32", "full": "fp32", "32": "fp32", "f32": "fp32",
    "bfloat16": "bf16", "bf-16": "bf16", "b16": "bf16",
    "float16": "fp16", "half": "fp16", "16": "fp16", "f16": "fp16", "amp": "fp16",
    "qint8": "int8", "8bit": "int8", "int-8": "int8", "i8": "int8", "quantized": "int8",
}  # fmt: skip

# CPU flags (as Linux names them in /proc/cpuinfo) that mean native low-precision arithmetic.
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
CPU_FP16_FLAGS = ("amx_fp16", "avx512_fp16")
# Flags reported with the hardware (benchmark tables); the rule reads only the ones above.
REPORTED_CPU_FLAGS = (
    "avx", "avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16",
    "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "amx_fp16",
)  # fmt: skip
# torch's cpuinfo-based probes, for systems without /proc/cpuinfo (macOS, Windows).
_TORCH_CPU_PROBES = {
    "avx2": "_is_avx2_supported",
    "avx512f": "_is_avx512_supported",
    "avx512_bf16": "_is_avx512_bf16_supported",
    "avx512_vnni": "_is_vnni_supported",
    "amx_tile": "_is_amx_tile_supported",
    "amx_fp16": "_is_amx_fp16_supported",
}


@dataclass(frozen=True)
class Hardware:
    """The capabilities of the device a model runs on, as found at run time.

    Attributes
    ----------
    device_type : {"cpu", "cuda", "mps"}
        Kind of device.
    name : str
        CPU model name or GPU name.
    cpu_flags : frozenset of str
        The CPU's instruction-set flags (Linux names: ``avx2``, ``avx512_bf16``, ``amx_bf16``,
        ...). Empty for a GPU.
    torch_cpu_capability : str or None
        ``torch.backends.cpu.get_cpu_capability()``: the vector ISA torch's own kernels use
        (``"AVX2"``, ``"AVX512"``, ``"DEFAULT"``, ...).
    cuda_capability : tuple of int or None
        ``(major, minor)`` compute capability of a CUDA device.
    cores : int or None
        CPU cores available to this process.
    """

    device_type: str
    name: str = ""
    cpu_flags: frozenset[str] = field(default_factory=frozenset)
    torch_cpu_capability: str | None = None
    cuda_capability: tuple[int, int] | None = None
    cores: int | None = None

    @property
    def native_bf16(self) -> bool:
        """Whether bf16 matrix products run natively (not emulated in fp32 registers)."""
        if self.device_type == "cuda":
            return self.cuda_capability is not None and self.cuda_capability >= (8, 0)
        if self.device_type == "cpu":
            return any(flag in self.cpu_flags for flag in CPU_BF16_FLAGS)
        return False

    def describe(self) -> str:
        """One line for reports: name, and the flags or capability that decide precision."""
        if self.device_type == "cuda":
            cc = ".".join(map(str, self.cuda_capability)) if self.cuda_capability else "?"
            return f"{self.name} (CUDA compute capability {cc})"
        if self.device_type == "cpu":
            shown = [f for f in REPORTED_CPU_FLAGS if f in self.cpu_flags]
            absent = [f for f in ("avx512f", *CPU_BF16_FLAGS, "amx_tile") if f not in shown]
            return (
                f"{self.name or platform.machine()}, {self.cores or '?'} cores; flags: "
                f"{' '.join(shown) or 'none of note'}"
                + (f"; no {', no '.join(absent)}" if absent else "")
                + f"; torch CPU capability {self.torch_cpu_capability}"
            )
        return self.name or self.device_type


def _read_cpuinfo(path: Path = Path("/proc/cpuinfo")) -> tuple[str, frozenset[str]] | None:
    """Model name and flags of the first processor listed, or None without the file."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    name, flags = "", frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not name:
            name = value.strip()
        elif key in ("flags", "Features") and not flags:  # "Features" on ARM
            flags = frozenset(value.split())
        if name and flags:
            break
    return name, flags


def _cpu_hardware() -> Hardware:
    import os

    import torch

    found = _read_cpuinfo()
    if found is not None and found[1]:
        name, flags = found
    else:
        # No /proc/cpuinfo (macOS, Windows): torch's cpuinfo-based probes, where it has them.
        name = platform.processor()
        probes = getattr(torch, "cpu", None)
        flags = frozenset(
            flag
            for flag, probe in _TORCH_CPU_PROBES.items()
            if callable(getattr(probes, probe, None)) and getattr(probes, probe)()
        )
        if "amx_tile" in flags:  # AMX-TILE comes with AMX-BF16 on every CPU that has it
            flags |= {"amx_bf16"}
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except AttributeError:  # torch < 2.1
        capability = None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return Hardware("cpu", name, flags, capability, None, cores)


def detect_hardware(device: str) -> Hardware:
    """Read the capabilities of ``device`` (a concrete torch device string) at run time.

    Parameters
    ----------
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``, as returned by
        :func:`~skprepal._hf.resolve_device`.

    Returns
    -------
    Hardware

    Examples
    --------
    >>> detect_hardware("cpu").device_type
    'cpu'
    """
    kind = device.split(":")[0]
    if kind == "cpu":
        return _cpu_hardware()
    if kind == "cuda":
        import torch

        index = int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()
        return Hardware(
            "cuda",
            torch.cuda.get_device_name(index),
            cuda_capability=tuple(torch.cuda.get_device_capability(index)),
        )
    return Hardware(kind, kind)


def auto_precision(hardware: Hardware, *, training: bool = False) -> tuple[str, str]:
    """The precision ``"auto"`` stands for on ``hardware``, and why.

    The rule, with its evidence (``benchmarks/README.md``):

    - CPU with AMX-BF16 (Intel Xeon 4th generation and later): bf16. Measured in issue 17 on a
      2-core Xeon with AMX: 2.5-2.8x fp32's texts/s (3.0-3.5x sentence-transformers' fp32),
      cosine to fp32 at least 0.9999, and active-learning curves within seed noise.
    - CPU with AVX512_BF16 but no AMX (AMD Zen 4, Intel Cooper Lake): fp32. Measured on the
      same Xeon with oneDNN held to AVX512_BF16 (``ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16``, as
      such a CPU runs it): bf16 embedded at 0.66x (SST-2) and 0.72x (IMDb) fp32's texts/s, and
      fine-tuned at about fp32's speed; not yet on a Zen 4 itself.
    - Any other CPU (AVX2, AVX-512 without BF16, ARM): fp32. Measured on a 2-core AMD EPYC with
      AVX2 only: bf16 and fp16 are emulated and several times slower than fp32, and torch's
      dynamic int8 misses the cosine bar (mean 0.97 on SST-2).
    - CUDA compute capability >= 8.0 (Ampere and later): bf16, tensor cores at fp16's speed with
      fp32's range (no overflow in large activations). 7.x (Volta, Turing): fp16. Older: fp32.
      Not yet measured in this project (``benchmarks/gpu_embedding.py`` does).
    - MPS and anything else: fp32.

    int8 is never chosen: no setting measured so far keeps the cosine bar.

    Parameters
    ----------
    hardware : Hardware
        What :func:`detect_hardware` found (or a hand-made one, in tests).
    training : bool, default=False
        For fine-tuning: the same rule (the Trainer's mixed precision keeps fp32 master weights).

    Returns
    -------
    precision : str
        ``"fp32"``, ``"bf16"`` or ``"fp16"``.
    reason : str
        The hardware feature that decided it.

    Examples
    --------
    >>> auto_precision(Hardware("cpu", cpu_flags=frozenset({"avx2", "fma"})))[0]
    'fp32'
    >>> auto_precision(Hardware("cpu", cpu_flags=frozenset({"avx512f", "amx_bf16"})))[0]
    'bf16'
    >>> auto_precision(Hardware("cuda", cuda_capability=(7, 5)))[0]
    'fp16'
    """
    del training  # one rule for both today; the argument keeps the call sites explicit
    if hardware.device_type == "cpu":
        if "amx_bf16" in hardware.cpu_flags:
            return "bf16", "the CPU has AMX-BF16"
        if "avx512_bf16" in hardware.cpu_flags:
            return "fp32", "the CPU has AVX512_BF16 but no AMX-BF16, where bf16 ran slower"
        return "fp32", "the CPU has no native bf16 (no AMX-BF16, no AVX512_BF16)"
    if hardware.device_type == "cuda" and hardware.cuda_capability is not None:
        if hardware.cuda_capability >= (8, 0):
            return "bf16", f"CUDA compute capability {hardware.cuda_capability} >= 8.0"
        if hardware.cuda_capability >= (7, 0):
            return "fp16", f"CUDA compute capability {hardware.cuda_capability} is 7.x"
        return "fp32", f"CUDA compute capability {hardware.cuda_capability} < 7.0"
    return "fp32", f"no low-precision rule for {hardware.device_type}"


def check_precision(value: Any, allowed: tuple[str, ...] = PRECISIONS) -> str:
    """Return ``value`` if it names a precision in ``allowed``, else raise with a "did you mean".

    Examples
    --------
    >>> check_precision("bf16")
    'bf16'
    >>> check_precision("bfloat16")
    Traceback (most recent call last):
    ...
    skprepal.exceptions.InvalidInputError: precision='bfloat16' is not supported; choose one of 'auto', 'fp32', 'bf16', 'fp16', 'int8'. Did you mean 'bf16'?
    """  # noqa: E501
    if isinstance(value, str) and value in allowed:
        return value
    hint = ""
    if isinstance(value, str):
        lowered = value.strip().lower().replace("_", "")
        guess = lowered if lowered in PRECISIONS else _ALIASES.get(lowered)
        if guess is None:
            close = difflib.get_close_matches(lowered, allowed, n=1, cutoff=0.6)
            guess = close[0] if close else None
        if guess in allowed:
            hint = f" Did you mean {guess!r}?"
        elif guess is not None:
            hint = f" {guess!r} is an inference-only setting (FrozenLLMTransformer)."
    raise InvalidInputError(
        f"precision={value!r} is not supported; choose one of "
        f"{', '.join(map(repr, allowed))}.{hint}"
    )


def resolve_precision(
    precision: str,
    device: str,
    *,
    hardware: Hardware | None = None,
    allowed: tuple[str, ...] = PRECISIONS,
    training: bool = False,
) -> str:
    """The concrete precision a model runs at: ``precision``, or what ``"auto"`` picks here.

    Parameters
    ----------
    precision : str
        One of ``allowed``.
    device : str
        A concrete torch device.
    hardware : Hardware, optional
        Detected from ``device`` when not given.
    allowed : tuple of str
        The names this caller accepts.
    training : bool, default=False
        Resolve for fine-tuning rather than inference (fp16 is then a GPU-only setting).

    Returns
    -------
    str
        ``"fp32"``, ``"bf16"``, ``"fp16"`` or ``"int8"``.

    Raises
    ------
    InvalidInputError
        For an unknown name (with a "did you mean"), int8 on a device other than the CPU, or
        fp16 training on a CPU.
    """
    precision = check_precision(precision, allowed)
    if hardware is None:
        hardware = detect_hardware(device)
    if precision == "auto":
        chosen, reason = auto_precision(hardware, training=training)
        logger.info("precision='auto' is %s on %s: %s.", chosen, device, reason)
        return chosen
    if precision == "int8" and hardware.device_type != "cpu":
        raise InvalidInputError(
            f"precision='int8' runs on the CPU only (torch's dynamic quantization of the Linear "
            f"layers), but the device is {device!r}; use device='cpu', or precision 'fp16', "
            "'bf16' or 'auto' on a GPU."
        )
    if training and precision == "fp16" and hardware.device_type == "cpu":
        # accelerate enables fp16 autocast for GPUs only: on a CPU the Trainer would quietly
        # train in fp32 under an fp16 label.
        raise InvalidInputError(
            "precision='fp16' fine-tunes on a GPU only (the Trainer's fp16 mixed precision); on "
            "a CPU use 'bf16' (fast with AMX-BF16 or AVX512_BF16), 'fp32' or 'auto'."
        )
    if precision == "bf16" and hardware.device_type == "cpu" and not hardware.native_bf16:
        logger.warning(
            "precision='bf16' on a CPU without native bf16 (no AMX-BF16, no AVX512_BF16) is "
            "emulated and several times slower than fp32; precision='auto' picks fp32 here."
        )
    if precision == "fp16" and hardware.device_type == "cpu":
        if not any(flag in hardware.cpu_flags for flag in CPU_FP16_FLAGS):
            logger.warning(
                "precision='fp16' on a CPU without AMX-FP16 or AVX512_FP16 is emulated and "
                "several times slower than fp32."
            )
    return precision


@contextlib.contextmanager
def precision_context(precision: str, device: str) -> Iterator[None]:
    """Autocast to bf16 or fp16 for the forward passes inside; nothing for fp32 and int8.

    Autocast runs matrix products in the low precision and keeps softmax and layer norm in fp32,
    which holds the cosine to fp32 far better than casting the whole model.
    """
    if precision not in ("bf16", "fp16"):
        yield
        return
    import torch

    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    with torch.autocast(device_type=device.split(":")[0], dtype=dtype):
        yield


def cast_linear_weights(model: Any, precision: str) -> Any:
    """A copy of ``model`` whose Linear layers hold their weights in bf16 or fp16.

    Run under :func:`precision_context`, it gives the very numbers the fp32 model gives there:
    autocast casts every Linear's weight to the low precision on every call anyway, and casting
    once instead saved 14-20% of bf16's time on AMX (MiniLM, SST-2; ``benchmarks/README.md``).
    Layer norms and embeddings stay fp32, and so does a weight a Linear shares with another
    module (tied embeddings), which autocast would not cast there.
    """
    import torch

    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    copied = copy.deepcopy(model)
    linears = [m for m in copied.modules() if type(m) is torch.nn.Linear]
    linear_ids = {id(m) for m in linears}
    shared = {
        id(p)
        for m in copied.modules()
        if id(m) not in linear_ids
        for p in m.parameters(recurse=False)
    }
    for module in linears:
        for name, param in module.named_parameters(recurse=False):
            if id(param) not in shared:
                setattr(module, name, torch.nn.Parameter(param.detach().to(dtype), False))
    return copied


def quantize_int8(model: Any) -> Any:
    """A copy of ``model`` with its Linear layers dynamically quantized to int8 (CPU only).

    Weights are quantized once, per output channel (per-tensor scales lose far more: cosine to
    fp32 0.93 vs 0.97 on all-MiniLM-L6-v2); activations per batch, at run time.
    """
    import torch

    try:
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
    except ImportError as exc:  # removed from some future torch
        raise InvalidInputError(
            f"precision='int8' needs torch.ao.quantization.quantize_dynamic, which torch "
            f"{torch.__version__} does not have; use precision='fp32' or 'auto'."
        ) from exc
    with warnings.catch_warnings():
        # torch announces that eager-mode quantization moves to torchao; it still works.
        warnings.simplefilter("ignore")
        return quantize_dynamic(
            copy.deepcopy(model), {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8
        )
