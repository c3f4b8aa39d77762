"""House rules, checked by walking the imports with ``ast`` (see docs/ARCHITECTURE.md).

The tree reads as the pipeline: ``bot/pipeline/`` holds one package per stage. The rules:
the stages import no I/O module outside their named edges, ``telegram/`` holds no SQL, nothing
imports the command line, and there are no import cycles. Imports inside functions count, so
a lazy import cannot hide a dependency.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"

# Third-party and standard modules that do I/O (files aside): a pure module imports none of them.
IO_MODULES = ("sqlite3", "sqlite_utils", "httpx", "httpcore", "telegram", "aiohttp", "feedparser", "socket",
              "urllib.request", "http.client", "http.server", "wsgiref", "apscheduler", "prometheus_client",
              "multiprocessing", "concurrent.futures", "subprocess")
# Every module of these is pure, except the edges below: a new stage module is pure by default.
STAGES = ("bot.pipeline.schedule", "bot.pipeline.fetch", "bot.pipeline.parse", "bot.pipeline.tagging",
          "bot.pipeline.dedup", "bot.pipeline.digest")
EDGES = {
    "bot.pipeline.schedule", "bot.pipeline.fetch", "bot.pipeline.parse", "bot.pipeline.dedup",
    "bot.pipeline.schedule.scheduler", "bot.pipeline.schedule.service",     # the poll loop and process
    "bot.pipeline.fetch.fetcher", "bot.pipeline.fetch.addresses",           # httpx; getaddrinfo
    "bot.pipeline.parse.feed", "bot.pipeline.parse.prepare",                # feedparser; worker processes
    "bot.pipeline.tagging.retag",                                           # tagging's store side
    "bot.pipeline.dedup.engine", "bot.pipeline.dedup.view", "bot.pipeline.dedup.worker",  # dedup's store side
}
ALSO_PURE = {"bot.models", "bot.errors", "bot.config.models", "bot.config.opml", "bot.config.discover",
             "bot.pipeline.telegram.topics", "bot.pipeline.telegram.texts"}
SQL = re.compile(r"\b(SELECT\b[\s\S]*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
                 r"|CREATE\s+(TABLE|INDEX|TRIGGER|VIEW)|PRAGMA\s+\w+|WITH\s+\w+\s+AS\s*\()", re.IGNORECASE)
SQL_CALLS = {"execute", "executemany", "executescript", "query", "conn"}


def _name(path: Path) -> str:
    parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, ast.Module]:
    """Every module of bot/ by dotted name (``pkg/__init__.py`` is ``pkg``)."""
    return {_name(p): ast.parse(p.read_text(encoding="utf-8")) for p in BOT.rglob("*.py")}


MODULES = modules()
PURE = {m for m in MODULES if m.startswith(STAGES) and m not in EDGES} | ALSO_PURE


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _walk(node: ast.AST, type_checking: bool) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if type_checking or not _type_checking(child):
            yield child
            yield from _walk(child, type_checking)


def imports(tree: ast.Module, type_checking: bool = True) -> set[str]:
    """Every imported module, anywhere in the file; ``from X import a`` names ``X.a`` when that is
    a module of bot/, else ``X``. Without ``type_checking``, imports under ``if TYPE_CHECKING:``
    (which never run) are left out."""
    names: set[str] = set()
    for node in _walk(tree, type_checking):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                names.add(full if full in MODULES else node.module)
    return names


def internal(names: set[str]) -> set[str]:
    """The modules of bot/ that ``names`` resolve to (the longest existing prefix)."""
    found = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name:
            found.add(name)
    return found


def uses(names: set[str], module: str) -> bool:
    return any(n == module or n.startswith(module + ".") for n in names)


def test_nothing_imports_the_cli() -> None:
    for name, tree in MODULES.items():
        if name != "bot.__main__" and not uses({name}, "bot.cli"):
            assert not uses(imports(tree), "bot.cli"), name


def test_pure_stages_import_no_io() -> None:
    assert {"bot.pipeline.dedup.story", "bot.pipeline.parse.normalize", "bot.pipeline.digest"} <= PURE
    for name in sorted(PURE):
        names = imports(MODULES[name])
        bad = {m for m in IO_MODULES if uses(names, m)}
        bad |= {m for m in internal({n for n in names if uses({n}, "bot")}) if m not in PURE and m != name}
        assert not bad, f"{name} is pure but imports {sorted(bad)}"


def test_feedparser_only_in_parse_and_httpx_only_at_edges() -> None:
    for name, tree in MODULES.items():
        names = imports(tree)
        if uses(names, "feedparser"):
            assert name == "bot.pipeline.parse.feed", name
        if uses(names, "httpx"):
            assert name == "bot.pipeline.fetch.fetcher" or uses({name}, "bot.pipeline.telegram"), name


def test_only_config_reads_the_environment() -> None:
    for name, tree in MODULES.items():
        if uses({name}, "bot.config"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                raise AssertionError(f"{name} reads os.{node.attr}: go through bot.config.read_env")


def test_telegram_holds_no_sql() -> None:
    """SQL lives in bot/pipeline/store/; telegram/ calls it (``db.atomic()`` is the store's API)."""
    telegram = {n: t for n, t in MODULES.items() if uses({n}, "bot.pipeline.telegram")}
    assert "bot.pipeline.telegram.delivery" in telegram
    for name, tree in telegram.items():
        assert not uses(imports(tree), "sqlite3"), name
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not SQL.search(node.value), f"{name}:{node.lineno} holds SQL: {node.value[:60]!r}"
            if isinstance(node, ast.Attribute):
                assert node.attr not in SQL_CALLS, f"{name}:{node.lineno} calls .{node.attr}"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]   # the finder works
    graph = {
        name: internal({n for n in imports(tree, type_checking=False) if uses({n}, "bot")}) - {name}
        for name, tree in MODULES.items()
    }
    assert not cycles(graph), cycles(graph)
