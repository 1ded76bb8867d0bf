"""Command-line options made from the settings dataclasses, so that a setting is added in one place.

A field becomes `--field-name`, typed by its default (bools become --x/--no-x), with the help and
choices from its metadata (`setting(...)`). Options default to None: only what the user gives
replaces the base settings (which may depend on the device), and the dataclass checks the result.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import Field, field, fields, replace
from typing import Any

from .errors import MetastyleError

LOSS_NUMBERS = ("content_weight", "style_weight", "tv_weight", "content_balance")  # the nested LossConfig's numbers
LOSS_HELP = {"content_balance": "the content weight x (the painting's loudness / the training paintings' median) to this power; "}
LOSS_OPTIONS = (*LOSS_NUMBERS, "style_layer_weights")  # the nested LossConfig's, given flat


def comma_separated(kind: Callable[[str], Any], noun: str) -> Callable[[str], tuple]:
    """An argparse type for options that take one number per item: '1,0.5' -> (kind('1'), kind('0.5')),
    blanks skipped (so '' gives none)."""
    def parse(text: str) -> tuple:
        try:
            return tuple(kind(x) for x in text.split(",") if x.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {noun}, got {text!r}") from None
    return parse


def setting(default: Any, help: str = "", choices: tuple[str, ...] | None = None, type: type | None = None) -> Any:
    """A dataclass field that knows its command-line help and choices."""
    return field(default=default, metadata={"help": help, "choices": choices, "type": type})


def check_settings(config: Any) -> None:
    """Every field that has choices holds one of them (for settings made in Python, the check that
    argparse makes from the same choices on the command line), and every number is finite: argparse
    reads "nan" and "inf" as floats, and a NaN rate or weight would train a network to NaN."""
    for f in fields(config):
        choices, value = f.metadata.get("choices"), getattr(config, f.name)
        name = f.name.replace("_", " ")
        if choices and value not in choices:
            raise MetastyleError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
        if not all(math.isfinite(x) for x in _numbers(value)):
            raise MetastyleError(f"{name} must be a finite number, got {value!r}")


def check_positive(config: Any, *names: str, zero: bool = False) -> None:
    """The named fields (None where they default to another) are above zero (rates, sizes), or with
    `zero` at least zero (weights: a negative one would maximise its term)."""
    for name in names:
        value = getattr(config, name)
        if value is not None and not (value >= 0 if zero else value > 0):
            raise MetastyleError(f"{name.replace('_', ' ')} must be {'at least' if zero else 'above'} 0, got {value:g}")


def check_share(config: Any, *names: str) -> None:
    """The named fields are shares, from 0 to 1."""
    for name in names:
        value = getattr(config, name)
        if not 0 <= value <= 1:
            raise MetastyleError(f"{name.replace('_', ' ')} is a share between 0 and 1, got {value:g}")


def _numbers(value: Any) -> list[float]:
    items = value if isinstance(value, (tuple, list)) else (value,)
    return [x for x in items if isinstance(x, float)]


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _help(f: Field, default: Any, other: Any) -> str:
    if default is None:  # the help says what stands in for it
        return f.metadata.get("help", "").replace("%", "%%")
    shown = f"default {default:g}" if isinstance(default, float) else f"default {default}"
    if other is not None and other != default:
        shown += f"; {other:g} on CUDA" if isinstance(other, float) else f"; {other} on CUDA"
    text = f.metadata.get("help", "")
    return (f"{text} ({shown})" if text else shown).replace("%", "%%")


def add_options(parser: argparse.ArgumentParser, config: Any, names: tuple[str, ...] | None = None, cuda: Any = None) -> None:
    """Options for `config`'s fields (all, or `names`; "loss" adds the loss weights). `cuda`: the
    settings used on CUDA where they differ, for the help."""
    for f in fields(config):
        if names is not None and f.name not in names:
            continue
        if f.name == "loss":
            for name in LOSS_NUMBERS:
                parser.add_argument(_flag(name), type=float, help=f"{LOSS_HELP.get(name, '')}default {getattr(config.loss, name):g}")
            given = config.loss.style_layer_weights
            parser.add_argument("--style-layer-weights", type=comma_separated(float, "numbers"), metavar="W1,W2,...",
                                help=f"multiples of the equal share of --style-weight for {', '.join(config.loss.style_layers)} "
                                     f"(default {','.join(f'{w:g}' for w in given) if given else 'all 1'})")
            continue
        default, other = getattr(config, f.name), getattr(cuda, f.name) if cuda is not None else None
        if isinstance(default, bool):
            parser.add_argument(_flag(f.name), action=argparse.BooleanOptionalAction, default=None, help=_help(f, default, other))
        else:
            kind = f.metadata.get("type") or type(default)
            parser.add_argument(_flag(f.name), type=kind, choices=f.metadata.get("choices"), help=_help(f, default, other))


def config_from(args: argparse.Namespace, base: Any) -> Any:
    """`base` with the options given on the command line."""
    given = {f.name: getattr(args, f.name) for f in fields(base) if f.name != "loss" and getattr(args, f.name, None) is not None}
    loss = loss_from(args, base.loss) if hasattr(base, "loss") else None
    return replace(base, **given, **({"loss": loss} if loss is not None else {}))


def loss_from(args: argparse.Namespace, base: Any) -> Any | None:
    """The LossConfig `base` with the loss options given on the command line (flat: --content-weight),
    or None when none was given."""
    given = {k: getattr(args, k) for k in LOSS_OPTIONS if getattr(args, k, None) is not None}
    return replace(base, **given) if given else None
