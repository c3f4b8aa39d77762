"""House rules, checked by walking the imports with ``ast`` (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
IO_MODULES = {"httpx", "sqlite3", "sqlite_utils", "telegram", "aiohttp", "feedparser", "bot.pipeline.store",
              "bot.pipeline.fetch.fetcher", "socket", "urllib.request"}
PURE = ["backoff.py", "digest.py", "normalize.py", "tagging", "dedup/keys.py", "dedup/text.py",
        "dedup/similarity.py", "dedup/minhash.py", "dedup/story.py", "dedup/weights.py", "dedup/explain.py",
        "dedup/representative.py", "parse_json.py", "opml.py", "discover.py", "telegram/topics.py"]


def modules() -> dict[str, ast.Module]:
    return {str(p.relative_to(BOT)): ast.parse(p.read_text(encoding="utf-8")) for p in BOT.rglob("*.py")}


def imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def uses(names: set[str], module: str) -> bool:
    return any(n == module or n.startswith(module + ".") for n in names)


def test_nothing_imports_the_cli() -> None:
    for path, tree in modules().items():
        if path != "__main__.py":
            assert not uses(imports(tree), "bot.cli"), path


def test_pure_stages_import_no_io() -> None:
    for path, tree in modules().items():
        if any(path == p or path.startswith(p + "/") for p in PURE):
            bad = {m for m in IO_MODULES if uses(imports(tree), m)}
            assert not bad, f"{path} imports {bad}"


def test_feedparser_only_in_parse_and_httpx_only_at_edges() -> None:
    for path, tree in modules().items():
        names = imports(tree)
        if uses(names, "feedparser"):
            assert path == "parse.py", path
        if uses(names, "httpx"):
            assert path == "fetch.py" or path.startswith("telegram/"), path


def test_only_config_reads_the_environment() -> None:
    for path, tree in modules().items():
        if path.startswith("config/"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                raise AssertionError(f"{path} reads os.{node.attr}: go through bot.config.read_env")
