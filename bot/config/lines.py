"""Line numbers of key paths in a TOML text, so every config problem says where it is.

tomllib gives values without positions. This scanner reads a text that tomllib has already
accepted and records the line where each key path first appears, in the spelling the readers use
in their messages: ``polling.interval``, ``feeds[2].url``, ``feeds[2].google_news.query``,
``cleaning.extra_boilerplate[1]``, ``telegram.channels[0].tags``. A problem is placed on the line
of its key path, else of its nearest enclosing one (a missing key: its table's header).
"""

from __future__ import annotations

import contextlib
import re

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}\n#]")
_INDEX = re.compile(r"\[\d+\]$")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.lines: dict[str, int] = {}
        self.arrays: dict[str, int] = {}      # [[array]] path → index of its latest table

    # -- characters ------------------------------------------------------------------------
    def line(self) -> int:
        return self.text.count("\n", 0, self.pos) + 1

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos:self.pos + n]

    def skip(self, newlines: bool) -> None:
        """Spaces, comments and (when ``newlines``) line ends."""
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c in " \t\r" or (newlines and c == "\n"):
                self.pos += 1
            elif c == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def record(self, path: str) -> None:
        self.lines.setdefault(path, self.line())

    # -- keys and values -------------------------------------------------------------------
    def string(self) -> str:
        quote = self.peek()
        if self.peek(3) == quote * 3:
            end = self.text.find(quote * 3, self.pos + 3)
            while quote == '"' and end > 0 and _escaped(self.text, end):
                end = self.text.find(quote * 3, end + 1)
            end = len(self.text) if end < 0 else end + 3
            while self.text[end:end + 1] == quote:       # """ab"""" ends with a quote inside
                end += 1
            value, self.pos = self.text[self.pos + 3:end - 3], end
            return value
        end = self.pos + 1
        while end < len(self.text) and self.text[end] != quote:
            end += 2 if quote == '"' and self.text[end] == "\\" else 1
        value, self.pos = self.text[self.pos + 1:end], end + 1
        return value

    def key(self) -> list[str]:
        parts = []
        while True:
            self.skip(newlines=False)
            if self.peek() in ('"', "'"):
                parts.append(self.string())
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if not match:
                    raise ValueError(f"no key at offset {self.pos}")
                parts.append(match.group())
                self.pos = match.end()
            self.skip(newlines=False)
            if self.peek() != ".":
                return parts
            self.pos += 1

    def value(self, path: str) -> None:
        self.skip(newlines=False)
        c = self.peek()
        if c == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip(newlines=True)
                if self.peek() in ("]", ""):
                    self.pos += 1
                    return
                self.record(f"{path}[{index}]")
                self.value(f"{path}[{index}]")
                self.skip(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
                index += 1
        elif c == "{":
            self.pos += 1
            while True:
                self.skip(newlines=True)
                if self.peek() in ("}", ""):
                    self.pos += 1
                    return
                self.key_value(path)
                self.skip(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
        elif c in ('"', "'"):
            self.string()
        else:
            match = _SCALAR_END.search(self.text, self.pos)
            self.pos = match.start() if match else len(self.text)

    def key_value(self, table: str) -> None:
        path = table
        for part in self.key():
            path = _join(path, part)
        self.record(path)
        self.skip(newlines=False)
        if self.peek() != "=":
            raise ValueError(f"no '=' after {path}")
        self.pos += 1
        self.value(path)

    # -- tables ----------------------------------------------------------------------------
    def resolve(self, parts: list[str]) -> str:
        """A header's path: each array of tables in it means its latest table (feeds[2])."""
        path = ""
        for part in parts:
            path = _join(path, part)
            if path in self.arrays:
                path = f"{path}[{self.arrays[path]}]"
        return path

    def header(self) -> str:
        array = self.peek(2) == "[["
        self.pos += 2 if array else 1
        parts = self.key()
        self.pos += 2 if array else 1
        if not array:
            path = self.resolve(parts)
        else:
            base = _join(self.resolve(parts[:-1]), parts[-1])
            self.record(base)
            self.arrays[base] = self.arrays.get(base, -1) + 1
            path = f"{base}[{self.arrays[base]}]"
        self.record(path)
        return path

    def document(self) -> None:
        table = ""
        while True:
            self.skip(newlines=True)
            if self.pos >= len(self.text):
                return
            if self.peek() == "[":
                table = self.header()
            else:
                self.key_value(table)


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index > 0 and text[index - 1] == "\\":
        backslashes += 1
        index -= 1
    return backslashes % 2 == 1


def key_lines(text: str) -> dict[str, int]:
    """Key path → line (1-based) of its first appearance in ``text`` (valid TOML). A text this
    scanner misreads gives the paths read until then: a missing line, never an error."""
    scanner = _Scanner(text)
    with contextlib.suppress(ValueError, IndexError):
        scanner.document()
    return scanner.lines


def line_of(key_path: str, lines: dict[str, int]) -> int | None:
    """The line of ``key_path``, else of the nearest enclosing path that has one."""
    path = key_path
    while path:
        if path in lines:
            return lines[path]
        path = _INDEX.sub("", path) if _INDEX.search(path) else path.rpartition(".")[0]
    return None
