"""A meta-training run's folder: what it takes to watch a run, stop it anywhere and go on exactly.

- `checkpoint.pt`: the networks, the optimiser, the sampling generator and the settings, replaced
  atomically every few iterations; resuming with other settings is refused.
- `metrics.jsonl`: one JSON line per iteration (TensorBoard logs too when it is installed).
- `model.safetensors`: the current model, rewritten at every checkpoint, so that a run that is
  stopped (a GPU lease ending, a session's time running out) always leaves a usable model.
"""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path
from typing import Any

import torch

from .errors import MetastyleError
from .files import atomic_path, writable_folder
from .models import read_info, save_model

TAIL = 100  # iterations whose mean losses go into the model's metadata


def _with_defaults(recorded: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """`recorded` settings with what they predate filled in from `defaults`, at every depth (a
    field added to the loss config leaves the checkpoint's loss without it)."""
    filled = {**defaults, **recorded}
    return {k: _with_defaults(v, defaults[k]) if isinstance(v, dict) and isinstance(defaults.get(k), dict) else v
            for k, v in filled.items()}


class RunFolder:
    """One run's files. Only the process that writes (rank 0 under torchrun) opens the logs."""

    def __init__(self, path: str | os.PathLike, settings: dict[str, Any], resume: bool, writer: bool = True,
                 defaults: dict[str, Any] | None = None):
        """`defaults`: what a setting that a checkpoint predates stood for, so that a run made by an
        earlier version resumes as long as the new settings keep their defaults."""
        self.path = Path(path)
        self.settings = settings
        self.defaults = defaults or {}
        self.checkpoint = self.path / "checkpoint.pt"
        self.metrics = self.path / "metrics.jsonl"
        if not resume and self.checkpoint.exists():
            raise MetastyleError(f"{self.path} already holds a run; pass --resume to continue it, or choose another folder")
        self.resume = resume
        writable_folder(self.path)
        self.writer = writer
        self._log: Any = None
        self._board: Any = None
        self._tails: dict[str, deque[float]] | None = None  # each loss's last TAIL values, for final_losses

    def load(self, modules: dict[str, Any], generator: torch.Generator, device: torch.device) -> int:
        """Restore `modules` (anything with load_state_dict) and the generator; returns the iteration to go on from."""
        if not (self.resume and self.checkpoint.exists()):
            return 0
        state = torch.load(self.checkpoint, map_location=device, weights_only=True)
        recorded = _with_defaults(state["config"], self.defaults)
        changed = sorted(k for k, v in self.settings.items() if recorded.get(k) != v)
        if changed:
            raise MetastyleError(f"{self.checkpoint}: was made with other settings ({', '.join(changed)}); resume with the same ones")
        for name, module in modules.items():
            module.load_state_dict(state[name])
        generator.set_state(state["generator"])
        if self.writer:
            self._truncate_log(state["iteration"])
        return state["iteration"]

    def recorded_origin(self) -> dict[str, Any] | None:
        """On a resume, where the run said it started: its model file's "init" and the "stages"
        before its own. The weights come from the checkpoint, so an `--init` given again (perhaps
        another file, or the same path rewritten since) must not rewrite the model's history."""
        model = self.path / "model.safetensors"
        if not (self.resume and self.checkpoint.exists() and model.exists()):
            return None
        info = read_info(model)
        return {"init": info["init"], "stages": info.get("stages", [])[:-1]} if "init" in info else None

    def save(self, modules: dict[str, Any], generator: torch.Generator, iteration: int) -> None:
        state = {"iteration": iteration, "generator": generator.get_state(), "config": self.settings,
                 **{name: module.state_dict() for name, module in modules.items()}}
        with atomic_path(self.checkpoint) as tmp:
            torch.save(state, tmp)

    def write_checkpoint(self, iteration: int, modules: dict[str, Any], generator: torch.Generator, model: torch.nn.Module,
                   info: dict[str, Any], half: bool, predictor: torch.nn.Module | None) -> None:
        """Both files a checkpoint leaves: the state to resume from, and the model so far."""
        self.save(modules, generator, iteration)
        self.save_model(model, info, iteration, half, predictor)

    def save_model(self, model: torch.nn.Module, info: dict[str, Any], iteration: int, half: bool, predictor: torch.nn.Module | None) -> Path:
        """The model after `iteration` iterations; `info["stages"]`, if any, ends with this run's
        stage, which is given the same count (a run stopped early says how far it went)."""
        stages = info.get("stages")
        if stages:
            stages = stages[:-1] + [{**stages[-1], "iterations": iteration}]
        info = {**info, "iterations": iteration, **({"stages": stages} if stages else {}), "final_losses": self.final_losses()}
        return save_model(model, self.path / "model.safetensors", info, half=half, predictor=predictor)

    def log(self, metrics: dict[str, float]) -> None:
        if self._log is None:
            self._log = open(self.metrics, "a")
            self._board = _tensorboard(self.path)
        self._log.write(json.dumps(metrics) + "\n")
        self._log.flush()
        self._remember(metrics)
        if self._board is not None:
            for name, value in metrics.items():
                if name.endswith("_loss"):
                    self._board.add_scalar(name, value, metrics["iteration"])

    def close(self) -> None:
        for stream in (self._log, self._board):
            if stream is not None:
                stream.close()

    def final_losses(self) -> dict[str, float]:
        """Means of each logged loss over its last TAIL iterations (single ones are noisy: a few styles each)."""
        self._remember({})
        return {f"{name} (mean of last {len(values)})": sum(values) / len(values) for name, values in sorted(self._tails.items())}

    def _remember(self, metrics: dict[str, float]) -> None:
        """Keep each loss's tail in memory: the log is read once (with a resumed run's earlier lines,
        and `metrics` if just written), so that a checkpoint does not read the whole log again."""
        if self._tails is None:
            self._tails = {}
            for line in self.metrics.read_text().splitlines() if self.metrics.exists() else []:
                self._add(json.loads(line))
        else:
            self._add(metrics)

    def _add(self, row: dict[str, float]) -> None:
        for name, value in row.items():
            if name.endswith("_loss"):
                self._tails.setdefault(name, deque(maxlen=TAIL)).append(value)

    def _truncate_log(self, iteration: int) -> None:
        """Drop log lines past the checkpoint, which an interrupted run wrote and a resumed run redoes."""
        if self.metrics.exists():
            lines = [line for line in self.metrics.read_text().splitlines() if json.loads(line)["iteration"] <= iteration]
            with atomic_path(self.metrics) as tmp:
                tmp.write_text("".join(line + "\n" for line in lines))


def checkpoint_due(iteration: int, every: int, total: int) -> bool:
    """Whether a run checkpoints after `iteration` (counted from 1): every `every`, and at its end."""
    return iteration % every == 0 or iteration == total


def _tensorboard(path: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # TensorBoard is optional; metrics.jsonl always has the numbers
        return None
    return SummaryWriter(str(path / "tensorboard"))
