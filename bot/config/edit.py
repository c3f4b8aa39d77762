"""Add feeds to and remove feeds from the config file, keeping the user's comments and layout.

Used by ``newsbot feeds import|add|remove`` and the admins' ``/addfeed`` and ``/removefeed``.
The file is edited with tomlkit (a round-trip TOML parser: comments, blank lines, key order and
quoting stay as written). The new text is validated by :func:`bot.config.parse_config`, the
same check as ``newsbot check``, before anything is written; then it replaces the old file
atomically (a temporary file in the same folder, fsync, ``os.replace``), with the old file's
permission bits. Any failure leaves the old file as it was. A running bot sees the new mtime and
reloads (bot/pipeline/schedule/scheduler.py).

tomlkit attaches the comments that introduce the next section (``# ===== TELEGRAM``) to the last
``[[feeds]]`` table; a feed appended naively would land after them. :func:`_append` moves those
comments below the new feed, and :func:`_delete` gives a removed table's trailing comments to
the table before it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomlkit
import tomlkit.exceptions
from tomlkit.items import AoT, Array, Comment, Table, Whitespace
from tomlkit.toml_document import TOMLDocument

from bot.config import Config, parse_config
from bot.errors import ConfigError

MAX_CONFIG_BYTES = 10 * 1024 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class NewFeed:
    """A feed to add: what an OPML outline, ``feeds add`` or ``/addfeed`` found."""

    name: str
    url: str
    tags: tuple[str, ...] = ()
    source: str = ""
    language: str = ""


@dataclass
class AddReport:
    """What an addition did: the feeds written, and the ones left out with the reason."""

    added: list[NewFeed] = field(default_factory=list)
    skipped: list[tuple[NewFeed, str]] = field(default_factory=list)


def feed_url_key(url: str) -> str:
    """A feed URL reduced to what identifies the feed, to spot one already configured.

    http and https, a ``www.`` prefix, the host's case, a default port, a trailing slash and a
    fragment do not make another feed; the path's case and the query do.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text.lower()
    host = (parts.hostname or "").lower().removeprefix("www.")
    scheme = parts.scheme.lower()
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    query = "&".join(sorted(p for p in parts.query.split("&") if p))
    return f"{netloc}{parts.path.rstrip('/')}" + (f"?{query}" if query else "")


def configured_as(config: Config, url: str) -> str | None:
    """The name of the configured feed with this URL (by :func:`feed_url_key`), or None."""
    key = feed_url_key(url)
    return next((f.name for f in config.feeds if feed_url_key(f.url) == key), None)


def plan_additions(config: Config, feeds: Iterable[NewFeed]) -> AddReport:
    """Which feeds are new: not configured (by URL key or name), not twice in ``feeds``."""
    report = AddReport()
    urls = {feed_url_key(f.url): f"already configured as {f.name!r}" for f in config.feeds}
    names = {f.name.casefold(): f"the name {f.name!r} is taken by another feed" for f in config.feeds}
    for feed in feeds:
        key, name = feed_url_key(feed.url), feed.name.casefold()
        why = urls.get(key) or names.get(name)
        if why:
            report.skipped.append((feed, why))
            continue
        report.added.append(feed)
        urls[key] = f"listed twice (first as {feed.name!r})"
        names[name] = f"the name {feed.name!r} is listed twice"
    return report


def add_feeds(path: Path, feeds: Iterable[NewFeed]) -> AddReport:
    """Append the new ``feeds`` to the config at ``path``; the report says what was skipped."""
    text, config, doc = _open(path)
    report = plan_additions(config, feeds)
    if report.added:
        for feed in report.added:
            _append(doc, _feed_table(feed))
        _write(path, text, tomlkit.dumps(doc))
    return report


def remove_feed(path: Path, name: str) -> str:
    """Remove the feed called ``name`` (case-insensitive); returns its exact name."""
    text, config, doc = _open(path)
    wanted = next((f.name for f in config.feeds if f.name == name), None) or next(
        (f.name for f in config.feeds if f.name.casefold() == name.casefold()), None)
    if wanted is None:
        raise ConfigError([f"{path}: no feed named {name!r}"])
    feeds = doc["feeds"]
    index = next(i for i, t in enumerate(feeds) if t.get("name") == wanted)
    _delete(doc, feeds, index)
    _write(path, text, tomlkit.dumps(doc))
    return wanted


# -- reading and writing ---------------------------------------------------------------------


def _open(path: Path) -> tuple[str, Config, TOMLDocument]:
    """The file's text, its validated config and its tomlkit document."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the config file: {exc}"]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([f"{path}: config file larger than {MAX_CONFIG_BYTES} bytes"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: cannot read the config file: {exc}"]) from None
    try:
        config = parse_config(text, path)
    except ConfigError as exc:
        raise ConfigError(["the config must pass `newsbot check` before feeds are changed:",
                           *exc.problems]) from None
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.TOMLKitError as exc:      # tomllib accepted it: should not happen
        raise ConfigError([f"{path}: cannot edit this file: {exc}"]) from None
    return text, config, doc


def _write(path: Path, old_text: str, new_text: str) -> None:
    """Validate ``new_text`` like ``newsbot check``, then replace the file atomically."""
    parse_config(new_text, path)                 # raises ConfigError: nothing written
    target = path.resolve()                      # a symlinked config: replace the file it points to
    if target.read_bytes().decode("utf-8", errors="replace") != old_text:
        raise ConfigError([f"{path}: the file changed while it was being edited; nothing written, "
                           "try again"])
    try:
        _replace(target, new_text.encode("utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot write the config file ({exc.strerror or exc}); "
                           "it was left as it was"]) from None


def _replace(target: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``target`` (same mode), then rename it over."""
    mode = target.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- tomlkit surgery -------------------------------------------------------------------------


def _feed_table(feed: NewFeed) -> Table:
    table = tomlkit.table()
    table.add("name", feed.name)
    table.add("url", feed.url)
    for key, value in (("language", feed.language), ("source", feed.source)):
        if value:
            table.add(key, value)
    if feed.tags:
        table.add("tags", list(feed.tags))
    return table


def _split_trailing(table: Table) -> list[tuple[None, Any]]:
    """Remove and return the comments ending ``table`` (they introduce what follows it), with
    the blank lines between them; blank lines right after the table's last key stay."""
    body = table.value.body
    trivia: list[tuple[None, Any]] = []
    while body and body[-1][0] is None and isinstance(body[-1][1], Comment | Whitespace):
        trivia.insert(0, body.pop())
    while trivia and isinstance(trivia[0][1], Whitespace):
        body.append(trivia.pop(0))
    return trivia


def _ends_with_blank_line(table: Table) -> bool:
    body = table.value.body
    return bool(body) and body[-1][0] is None and isinstance(body[-1][1], Whitespace)


def _append(doc: TOMLDocument, table: Table) -> None:
    feeds = doc.get("feeds")
    if feeds is None:
        doc.add(tomlkit.nl())
        doc.append("feeds", tomlkit.aot())
        feeds = doc["feeds"]
    if isinstance(feeds, Array):                  # feeds = [{ name = …, url = … }, …]
        inline = tomlkit.inline_table()
        inline.update(table.value)
        feeds.append(inline)
        return
    if not isinstance(feeds, AoT):
        raise ConfigError(["feeds: must be a list of [[feeds]] tables"])
    trivia: list[tuple[None, Any]] = []
    if len(feeds):
        last = feeds[-1]
        trivia = _split_trailing(last)
        if not _ends_with_blank_line(last):
            last.value.body.append((None, Whitespace("\n")))
    feeds.append(table)
    if trivia:
        table.value.body.append((None, Whitespace("\n")))
        table.value.body.extend(trivia)


def _delete(doc: TOMLDocument, feeds: AoT | Array, index: int) -> None:
    if isinstance(feeds, Array):
        del feeds[index]
        return
    trivia = _split_trailing(feeds[index])
    if trivia and index > 0:
        feeds[index - 1].value.body.extend(trivia)
    elif trivia and index + 1 < len(feeds):
        nxt = feeds[index + 1].value.body
        nxt[0:0] = trivia                           # comments above the next feed: keep them there
        trivia = []
    del feeds[index]
    if not len(feeds):
        before, after = _neighbours(doc, "feeds")
        doc.remove("feeds")
        if trivia and isinstance(before, Table):
            before.value.body.extend(trivia)
        elif trivia and isinstance(after, Table | AoT):    # rendered just above the next header
            first = after if isinstance(after, Table) else after[0]
            first.trivia.indent = "".join(item.as_string() for _, item in trivia) + first.trivia.indent


def _neighbours(doc: TOMLDocument, key: str) -> tuple[Any, Any]:
    """The items written just before and just after ``key`` in the file (None at either end)."""
    keyed = [item for name, item in doc.body if name is not None]
    names = [name.key for name, _ in doc.body if name is not None]
    i = names.index(key)
    return (keyed[i - 1] if i > 0 else None), (keyed[i + 1] if i + 1 < len(keyed) else None)
