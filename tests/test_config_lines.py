"""The line index of key paths (bot/config/lines.py) agrees with tomllib on real config texts."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from bot.config.lines import key_lines, line_of

REPO = Path(__file__).resolve().parent.parent


def leaf_paths(value: Any, path: str = "") -> list[str]:
    """Every key path tomllib gives, in the readers' spelling (feeds[2].url, tags.x.keywords[0])."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in leaf_paths(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [path] + [p for i, v in enumerate(value) for p in leaf_paths(v, f"{path}[{i}]")]
    return [path]


def test_every_key_of_the_shipped_config_has_its_line() -> None:
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    lines = key_lines(text)
    source = text.splitlines()
    paths = leaf_paths(tomllib.loads(text))
    assert len(paths) > 500
    for path in paths:
        assert path in lines, path
        key = path.rpartition(".")[2].split("[")[0]
        assert key in source[lines[path] - 1] or "[" in path, (path, source[lines[path] - 1])


TRICKY = '''\
title = """a "quoted" [not a table]
key = "inside a string" """
'literal key' = 'C:\\path'          # comment with = and [brackets]
[a."b.c"]
x = [ [1, 2],
      [3, { y = "}" }] ]
[[arr]]
v = 1
[[arr]]
v = 2
[arr.sub]
w = 1979-05-27 07:32:00Z
[[arr.items]]
z = true
'''


def test_strings_nesting_and_arrays_of_tables() -> None:
    lines = key_lines(TRICKY)
    assert lines["title"] == 1 and "key" not in lines
    assert lines["literal key"] == 3
    assert lines["a.b.c"] == 4 and lines["a.b.c.x"] == 5
    assert lines["a.b.c.x[1]"] == 6 and lines["a.b.c.x[1][1].y"] == 6
    assert lines["arr[0].v"] == 8 and lines["arr[1].v"] == 10
    assert lines["arr[1].sub.w"] == 12 and lines["arr[1].items[0].z"] == 14
    assert set(leaf_paths(tomllib.loads(TRICKY))) <= set(lines)


def test_line_of_falls_back_to_the_enclosing_table() -> None:
    lines = key_lines('[polling]\ninterval = "5m"\n[[feeds]]\nname = "a"\n[[feeds]]\nurl = "x"\n')
    assert line_of("feeds[1].name", lines) == 5                # missing key: its table's header
    assert line_of("polling.jitter", lines) == 1
    assert line_of("feeds[0].name", lines) == 4
    assert line_of("nowhere", lines) is None
