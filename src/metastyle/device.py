"""Choosing the compute device from what the user asked for and what the machine has."""

from __future__ import annotations

import torch

from .errors import MetastyleError


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """'auto' is CUDA when present, else the CPU; asking for CUDA without it is an error, not a fallback.

    The API takes a name or a torch.device and resolves it once, where the call enters."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise MetastyleError(f"unknown device {name!r} (use cpu, cuda, cuda:N or auto)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise MetastyleError(f"device {name!r} asked for, but this PyTorch sees no CUDA GPU")
    if device.type not in ("cpu", "cuda"):
        raise MetastyleError(f"unsupported device {name!r} (use cpu, cuda, cuda:N or auto)")
    return device


def fast_bf16(device: torch.device) -> bool:
    """Whether bfloat16 convolutions beat float32 here (AVX512-BF16/AMX CPUs, Ampere+ GPUs)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


PRECISIONS = ("fp32", "bf16", "auto")


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise MetastyleError(f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r}")


def resolve_precision(device: torch.device, precision: str) -> str:
    """What a precision setting means here: "bf16" or "fp32" ("auto": bf16 where it is fast)."""
    check_precision(precision)
    return "bf16" if precision == "bf16" or (precision == "auto" and fast_bf16(device)) else "fp32"


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """The autocast context for a precision setting: "fp32", "bf16", or "auto" (bf16 where it is fast)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=resolve_precision(device, precision) == "bf16")
