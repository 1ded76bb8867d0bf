"""The web page's work: a bounded queue of stylisation jobs, run one at a time in a worker thread.

Adapting to a painting costs tens of seconds of every core, so jobs run one after another, at
most `waiting` more wait their turn, and the rest are refused at once (`QueueFull`) rather than
queued for hours. A finished job keeps the photo and its full-strength stylisation in memory,
so strength and colour change the result without running the network again; only the last
`keep` finished jobs are kept, and nothing of a job outlives it on disk.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from .controls import apply_strength, transfer_luminance
from .errors import MetastyleError
from .images import tensor_to_pil
from .inference import Stylizer
from .pipeline import render
from .transformer import TransformerNet

# What a job stylises with: ("style", a painting's path or "builtin:NAME"), ("model", a model's path)
# or ("mix", [(model path, weight), ...]): `network_for`'s keyword arguments.
Source = tuple[str, Any]
# The network a source names, adapting where needed (on windows of the job's photo):
# (source, photo, on_progress(step, steps)) -> network.
Runner = Callable[[Source, torch.Tensor, Callable[[int, int], None]], TransformerNet]


class QueueFull(MetastyleError):
    """More jobs were submitted than the queue holds."""


class Cancelled(Exception):
    """Raised from a job's progress callback when the server stops."""


@dataclass(eq=False)
class Job:
    photo: torch.Tensor  # 1x3xHxW in [0, 1]
    source: Source
    scratch: Path | None = None  # the folder of an uploaded painting, removed when the job ends
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    status: str = "queued"  # queued, adapting, stylizing, done, error
    step: int = 0
    steps: int = 0
    error: str = ""
    first_step_at: float = 0.0
    stylized: torch.Tensor | None = None

    def eta(self) -> float | None:
        """Seconds of adaptation left, from the pace of the steps so far."""
        if self.status != "adapting" or self.step < 2:
            return None
        pace = (time.monotonic() - self.first_step_at) / (self.step - 1)
        return pace * (self.steps - self.step)

    def on_progress(self, step: int, steps: int) -> None:
        if step == 1:
            self.first_step_at = time.monotonic()
        self.status, self.step, self.steps = "adapting", step, steps

    def image(self, strength: float = 1.0, preserve_color: bool = False) -> Image.Image:
        """The result with these controls, from the kept stylisation: no network runs."""
        if self.stylized is None:
            raise MetastyleError("the result is not ready yet")
        stylized = transfer_luminance(self.photo, self.stylized) if preserve_color else self.stylized
        return tensor_to_pil(apply_strength(self.photo, stylized, strength))


class JobQueue:
    """One running job, at most `waiting` queued, the last `keep` finished ones kept for their results."""

    def __init__(self, runner: Runner, waiting: int = 2, keep: int = 4) -> None:
        self.runner, self.waiting, self.keep = runner, waiting, keep
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self._queue: deque[Job] = deque()
        self._running: Job | None = None
        self._stopping = False
        self._wake = threading.Condition()
        threading.Thread(target=self._work, name="metastyle-jobs", daemon=True).start()

    def check_room(self) -> None:
        """Refuse a job now, before its uploads are read, when the queue is full."""
        busy = len(self._queue) + (self._running is not None)
        if self._stopping:
            raise QueueFull("the server is stopping")
        if busy > self.waiting:
            raise QueueFull(f"the server is busy with {busy} jobs (one runs, {self.waiting} may wait); try again in a minute")

    def submit(self, job: Job) -> Job:
        with self._wake:
            try:
                self.check_room()
            except QueueFull:
                _discard(job.scratch)
                raise
            self.jobs[job.id] = job
            self._queue.append(job)
            self._wake.notify()
        return job

    def ahead(self, job: Job) -> int:
        """How many jobs run before this one starts."""
        with self._wake:
            return self._queue.index(job) + (self._running is not None) if job in self._queue else 0

    def stop(self) -> None:
        """Refuse new jobs, drop the queued ones and cancel the running one at its next step."""
        with self._wake:
            self._stopping = True
            dropped = list(self._queue)
            self._queue.clear()
            self._wake.notify()
        for job in dropped:
            _discard(job.scratch)

    def _work(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._queue or self._stopping)
                if self._stopping:
                    return
                self._running = job = self._queue.popleft()
            try:
                self._run(job)
            finally:
                with self._wake:
                    self._running = None
                    self._forget_old()

    def _run(self, job: Job) -> None:
        try:
            job.stylized = self._stylize(job)
            outcome = ("done", "")
        except Cancelled:
            outcome = ("error", "the server stopped")
        except Exception as error:  # reported to the page, not lost in a thread
            outcome = ("error", str(error) if isinstance(error, MetastyleError) else f"internal error: {error!r}")
        _discard(job.scratch)  # before the page hears that the job is over
        job.status, job.error = outcome

    def _stylize(self, job: Job) -> torch.Tensor:
        def on_progress(step: int, steps: int) -> None:
            if self._stopping:
                raise Cancelled
            job.on_progress(step, steps)

        job.status = "adapting" if job.source[0] == "style" else "stylizing"
        network = self.runner(job.source, job.photo, on_progress)
        job.status = "stylizing"
        with torch.inference_mode():
            return render(Stylizer(network), job.photo.to(next(network.parameters()).device)).cpu()

    def _forget_old(self) -> None:
        finished = [id for id, job in self.jobs.items() if job.status in ("done", "error")]
        for id in finished[: max(0, len(finished) - self.keep)]:
            del self.jobs[id]


def _discard(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
