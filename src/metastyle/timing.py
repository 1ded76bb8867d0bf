"""Timing that means something: warm-up first, the median of repeats, the GPU synchronised."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch


def median_seconds(run: Callable[[], Any], repeats: int, device: torch.device, warm_up: bool = True) -> float:
    if warm_up:  # first-call allocations and kernel selection
        run()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        tick = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - tick)
    return statistics.median(times)
