"""Typed reading of TOML tables, collecting every problem with its key path.

A :class:`Table` wraps one TOML table. Each getter records what it read, checks the type and
range, and appends a clear message to a shared list on failure, so ``newsbot check`` can print
every problem at once. :meth:`Table.finish` reports keys nobody read: a typo is an error, never
silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_DURATION = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w)\s*)+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_BARE_SECONDS = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DURATION_HINT = "write it like \"90s\", \"10m\", \"2h\", \"1h30m\", \"7d\" or \"3w\""

_MISSING = object()


def parse_duration(value: Any) -> float:
    """Seconds from ``"90s"``, ``"10m"``, ``"1h30m"``, ``"7d"``, ``"3w"`` or a bare number of
    seconds (the config itself requires a unit: see :meth:`Table.duration`)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration ({DURATION_HINT})")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if _BARE_SECONDS.match(value):
            return float(value)
        if _DURATION.match(value):
            return sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(value))
    raise ValueError(f"{value!r} is not a duration ({DURATION_HINT})")


def _type_name(value: Any) -> str:
    return {
        str: "a string", int: "an integer", float: "a number", bool: "true/false",
        list: "a list", dict: "a table",
    }.get(type(value), type(value).__name__)


class Table:
    """One TOML table being read; ``path`` is its key path for messages (``feeds[3]``)."""

    def __init__(self, raw: Any, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            self.error("", f"must be a table, got {_type_name(raw)}")
            raw = {}
        self.raw: dict[str, Any] = raw
        self._seen: set[str] = set()

    # -- reporting -------------------------------------------------------------------------
    def key_path(self, key: str) -> str:
        if not key:
            return self.path or "(top level)"
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str) -> None:
        self.problems.append(f"{self.key_path(key)}: {message}")

    def finish(self, allowed_extra: Iterable[str] = ()) -> None:
        """Report every key that was present but never read."""
        extra = set(allowed_extra)
        for key in self.raw:
            if key not in self._seen and key not in extra:
                known = ", ".join(sorted(self._seen | extra)) or "none"
                self.error(key, f"unknown key (known keys here: {known})")

    # -- getters ---------------------------------------------------------------------------
    def _get(self, key: str) -> Any:
        self._seen.add(key)
        return self.raw.get(key, _MISSING)

    def has(self, key: str) -> bool:
        return key in self.raw

    def str(self, key: str, default: Any = _MISSING, *, choices: Iterable[str] | None = None) -> Any:
        value = self._get(key)
        if value is _MISSING:
            if default is _MISSING:
                self.error(key, "is required")
                return ""
            return default
        if not isinstance(value, str):
            self.error(key, f"must be a string, got {_type_name(value)}")
            return default if default is not _MISSING else ""
        if choices is not None and value not in set(choices):
            self.error(key, f"must be one of {', '.join(map(repr, choices))}, got {value!r}")
            return default if default is not _MISSING else ""
        return value

    def bool(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.error(key, f"must be true or false, got {_type_name(value)}")
            return default
        return value

    def int(self, key: str, default: Any, *, low: int | None = None, high: int | None = None) -> Any:
        value = self._get(key)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(key, f"must be an integer, got {_type_name(value)}")
            return default
        if (low is not None and value < low) or (high is not None and value > high):
            self.error(key, f"must be between {low} and {high}, got {value}")
            return default
        return value

    def duration(
        self, key: str, default: Any, *, low: float | None = None, high: float | None = None
    ) -> Any:
        value = self._get(key)
        if value is _MISSING:
            return default
        bare = isinstance(value, int | float) or (isinstance(value, str) and _BARE_SECONDS.match(value))
        if bare and not isinstance(value, bool):
            # `interval = 15`: seconds or minutes? Say which, as in the rest of the file.
            number = str(value).strip()
            self.error(key, f"{value!r} has no unit: write \"{number}s\" for {number} seconds, or the unit "
                            f"you meant ({DURATION_HINT})")
            return default
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.error(key, str(exc))
            return default
        if (low is not None and seconds < low) or (high is not None and seconds > high):
            self.error(key, f"must be between {_fmt(low)} and {_fmt(high)}, got {value!r}")
            return default
        return seconds

    def str_list(self, key: str, default: list[str] | None = None) -> list[str]:
        value = self._get(key)
        if value is _MISSING:
            return list(default or [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(key, "must be a list of strings")
            return list(default or [])
        return list(value)

    def int_list(self, key: str, default: list[int] | None = None) -> list[int]:
        value = self._get(key)
        if value is _MISSING:
            return list(default or [])
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            self.error(key, "must be a list of integers")
            return list(default or [])
        return list(value)

    def table(self, key: str) -> Table:
        value = self._get(key)
        return Table(None if value is _MISSING else value, self.key_path(key), self.problems)

    def tables(self, key: str) -> list[Table]:
        """An array of tables (``[[feeds]]``), each with its index in the path."""
        value = self._get(key)
        if value is _MISSING:
            return []
        if not isinstance(value, list):
            self.error(key, f"must be an array of tables ([[{key}]]), got {_type_name(value)}")
            return []
        return [Table(item, f"{self.key_path(key)}[{i}]", self.problems) for i, item in enumerate(value)]

    def raw_value(self, key: str) -> Any:
        value = self._get(key)
        return None if value is _MISSING else value


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "∞"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def format_duration(seconds: float) -> str:
    """The inverse of :func:`parse_duration` for display: ``600`` → ``"10m"``."""
    return _fmt(seconds)
