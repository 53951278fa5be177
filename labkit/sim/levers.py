"""A lever: one knob of the simulation, declared once beside the code that reads it.

Each module of :mod:`labkit.sim` declares the levers it reads in a tuple ``LEVERS`` (its
name, kind, type, range or choices, default, meaning and figure label);
:mod:`labkit.sim.config` gathers them into the one registry that validates configs,
lists them (``labkit levers``), builds the ``Static`` and ``Params`` pytrees and labels
the figures. A choice lever's ``choices`` is the module's registry itself (for example
``policies.POLICIES``), so a new policy is a new entry there and nothing else.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Collection

STATIC, PARAM = "static", "param"


class ConfigError(ValueError):
    """A configuration value was refused; the message names the key and what is allowed."""


@dataclass(frozen=True)
class Lever:
    """One registered knob: what it is called, what it may be and what it means."""

    name: str
    kind: str  # "static" or "param"
    type: type
    default: Any
    doc: str
    low: int | float | None = None
    high: int | float | None = None
    low_open: bool = False  # True: the lower bound itself is not allowed
    choices: Collection[str] | None = None  # a registry (its keys) or a tuple of names
    label: str | None = None  # axis label of figures (units or meaning); None: the name
    # False for a lever added after results were stored by config hash: at its default it stays
    # out of the hash, so every configuration written before it keeps its address
    hashed_at_default: bool = True

    def allowed(self) -> str:
        """Say in words which values this lever accepts."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        bracket = "(" if self.low_open else "["
        return f"{self.type.__name__} in {bracket}{lo}, {hi}]"

    def validate(self, value: Any, where: str = "config") -> Any:
        """Return ``value`` coerced to the lever's type, or raise a :class:`ConfigError`."""
        given = value
        fail = lambda why: ConfigError(  # noqa: E731
            f"{where}: {self.name} = {given!r} {why}; allowed: {self.allowed()}")
        if self.choices is not None:
            if not isinstance(value, str) or value not in self.choices:
                near = difflib.get_close_matches(value, list(self.choices), n=2) if isinstance(value, str) else []
                hint = f"; did you mean {' or '.join(map(repr, near))}?" if near else ""
                raise ConfigError(f"{where}: {self.name} = {given!r} is not a known choice; "
                                  f"allowed: {self.allowed()}{hint}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(f"has type {type(value).__name__}")
        if self.type is int:
            if isinstance(value, float) and not value.is_integer():
                raise fail("is not a whole number")
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise fail("is not finite")
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            raise fail("is below the range")
        if self.high is not None and value > self.high:
            raise fail("is above the range")
        return value
