"""Admins change the feed list from Telegram: ``/addfeed URL [name]`` and ``/removefeed NAME``.

The same path as ``newsbot feeds add|remove``: the URL is checked with the pipeline's fetcher and
parser (:func:`bot.config.feedlist.find_feed`), the config file is edited in place, validated like
``newsbot check`` and replaced atomically (:mod:`bot.config.edit`), then the running poller's
hot reload is asked to apply it at once (the same call as ``/reload``), so the answer says what
the bot runs now. Without a poller (``newsbot run`` always has one), the file's new mtime is
picked up at the next reload check. Edits are made one at a time.
"""

from __future__ import annotations

import asyncio
import difflib
import logging

from telegram.ext import ContextTypes

from bot.config import load_config
from bot.config.edit import add_feeds, configured_as, remove_feed
from bot.config.feedlist import find_feed, new_feed
from bot.errors import ConfigError, NewsbotError
from bot.pipeline.digest import truncate
from bot.pipeline.parse.normalize import Cleaner
from bot.pipeline.telegram.handlers.admin import call_reload, reload_callback
from bot.pipeline.telegram.handlers.command import Ask, command
from bot.pipeline.telegram.locks import KeyedLocks
from bot.pipeline.telegram.texts import Html, reload_summary, t

log = logging.getLogger(__name__)

_config_edits = KeyedLocks()          # one edit of the config file at a time


def _argument(ask: Ask) -> str:
    """The text after the command (a feed name may hold spaces)."""
    message = ask.update.effective_message
    text = (message.text or "") if message is not None else ""
    return " ".join(text.partition(" ")[2].split())


async def _apply(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> str:
    """Run the hot reload now; its one-line summary (or why it did not run) for the answer."""
    callback = reload_callback(ask, context)
    if callback is None:
        return t(ask.language, "feeds_apply_later")
    try:
        result = await call_reload(callback)
    except Exception as exc:  # noqa: BLE001 - reported to the admin, logged
        log.exception("reload after a feed change failed")
        return t(ask.language, "reload_failed", error=truncate(str(exc), 500))
    return reload_summary(truncate(str(result or "ok"), 1000), ask.language)


def _problems(exc: ConfigError) -> str:
    return truncate(" ".join(" ".join(exc.problems).split()), 800)


@command(admin=True)
async def addfeed_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    url, _, name = _argument(ask).partition(" ")
    if not url:
        await ask.say("addfeed_usage")
        return
    config = ask.config
    if (known := configured_as(config, url)) is not None:
        await ask.say("addfeed_known", name=known)
        return
    try:
        found = await find_feed(url, config.polling, Cleaner(config.cleaning.extra_boilerplate))
    except NewsbotError as exc:
        await ask.say("addfeed_failed", error=truncate(str(exc), 800))
        return
    feed = new_feed(found, name or None)
    async with _config_edits("config"):
        try:
            report = await asyncio.to_thread(add_feeds, config.path, [feed])
        except ConfigError as exc:
            await ask.say("config_not_written", error=_problems(exc))
            return
    if report.skipped:
        await ask.say("addfeed_skipped", name=feed.name, why=report.skipped[0][1])
        return
    where = Html(t(ask.language, "addfeed_found_on", page=found.page_url)) if found.page_url else ""
    await ask.say("addfeed_ok", name=feed.name, url=feed.url, format=found.format, entries=found.entries,
                  where=where, applied=Html(await _apply(ask, context)))


@command(admin=True)
async def removefeed_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    name = _argument(ask)
    if not name:
        await ask.say("removefeed_usage")
        return
    async with _config_edits("config"):
        try:
            # The file, not the running config: a feed added a moment ago may not be applied yet.
            names = [f.name for f in (await asyncio.to_thread(load_config, ask.config.path)).feeds]
            if name.casefold() not in {n.casefold() for n in names}:
                close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
                if close:
                    await ask.say("removefeed_suggest", name=name, suggestion=close[0])
                else:
                    await ask.say("removefeed_unknown", name=name)
                return
            removed = await asyncio.to_thread(remove_feed, ask.config.path, name)
        except ConfigError as exc:
            await ask.say("config_not_written", error=_problems(exc))
            return
    await ask.say("removefeed_ok", name=removed, applied=Html(await _apply(ask, context)))

