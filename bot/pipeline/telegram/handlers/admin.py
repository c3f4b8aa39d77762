"""Admin commands: ``/stats``, ``/feeds``, ``/reload`` (``/addfeed`` and ``/removefeed`` are in
:mod:`bot.pipeline.telegram.handlers.admin_feeds`)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram.ext import ContextTypes

from bot.pipeline.digest import truncate
from bot.pipeline.store import chats as chat_store
from bot.pipeline.store import feeds as feed_store
from bot.pipeline.store.health import disk_full
from bot.pipeline.telegram.handlers.command import Ask, command, when_text
from bot.pipeline.telegram.texts import reload_summary, t

log = logging.getLogger(__name__)

MESSAGE_BUDGET = 3800            # characters per answer we split ourselves (/feeds)


@command(admin=True)
async def stats_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    now = ask.services.clock()
    figures = await ask.db(chat_store.stats, now)
    tz = ask.chat["timezone"] if ask.chat else ask.config.digest.timezone
    last_poll = figures.get("last_poll_at")
    scheduler = ask.services.feed_scheduler
    if scheduler is not None and getattr(scheduler, "last_poll_at", None):
        last_poll = max(float(last_poll or 0), float(scheduler.last_poll_at))
    text = t(
        ask.language, "stats", **{k: figures.get(k, 0) for k in (
            "feeds_ok", "feeds_failing", "feeds_dead", "articles_24h", "clusters_24h",
            "chats_active", "chats_paused", "chats_blocked")},
        last_poll=when_text(last_poll, tz, ask.language, now),
        last_digest=when_text(figures.get("last_digest_at"), tz, ask.language, now),
        pending=figures.get("pending_digests", 0),
    )
    problem = storage_problem(scheduler, ask.config.storage.path)
    if problem:
        text += "\n" + t(ask.language, "stats_storage", error=problem)
    await ask.reply(text)


def storage_problem(scheduler: object, db_path: str | Path) -> str:
    """The poller's storage failure ("disk full: …"), else a full disk seen on the file system."""
    status = getattr(scheduler, "health", None)
    if status is not None and status.last_error_kind:
        return str(status.last_error)
    return disk_full(db_path) or ""


def pack_lines(lines: list[str], budget: int = MESSAGE_BUDGET) -> list[str]:
    """Join lines into messages of at most ``budget`` characters (a longer line is cut)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = line[:budget]
        if current and len(current) + 1 + len(line) > budget:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


@command(admin=True)
async def feeds_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    rows = await ask.db(feed_store.all_feed_states)
    bad = [r for r in rows if r.get("dead") or (r.get("error_count") or 0) > 0]
    if not bad:
        await ask.say("feeds_none")
        return
    bad.sort(key=lambda r: (not r.get("dead"), -(r.get("error_count") or 0), r["name"]))
    tz = ask.chat["timezone"] if ask.chat else ask.config.digest.timezone
    now = ask.services.clock()
    lines = [t(ask.language, "feeds_header", n=len(bad))]
    for r in bad:
        lines.append(t(
            ask.language, "feed_line", mark="💀" if r.get("dead") else "⚠️", name=truncate(r["name"], 80),
            errors=r.get("error_count") or 0, since=when_text(r.get("first_error_at"), tz, ask.language, now),
            error=truncate(" ".join(str(r.get("last_error") or "?").split()), 300),
        ))
    for chunk in pack_lines(lines):
        await ask.reply(chunk)


def reload_callback(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> Callable[[], Any] | None:
    """The poller's config reload (``Services.reload``, else ``bot_data["reload"]``), or None when
    this process runs no poller."""
    return ask.services.reload or context.bot_data.get("reload")


async def call_reload(callback: Callable[[], Any]) -> Any:
    """Run a reload callback, plain or async; its summary of what now runs."""
    result = callback()
    if inspect.isawaitable(result):
        result = await result
    return result


@command(admin=True)
async def reload_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    callback = reload_callback(ask, context)
    if callback is None:
        await ask.say("reload_unavailable")
        return
    try:
        result = await call_reload(callback)
    except Exception as exc:  # noqa: BLE001 - reported to the admin, logged
        log.exception("reload failed")
        await ask.say("reload_failed", error=truncate(str(exc), 500))
        return
    await ask.reply(reload_summary(str(result or ""), ask.language))
