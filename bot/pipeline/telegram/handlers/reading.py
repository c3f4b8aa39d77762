"""Digests and search: ``/digest``, the digest's "More" button, ``/search``."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.pipeline.digest import format_time, safe_url, truncate
from bot.pipeline.store import chats as chat_store
from bot.pipeline.telegram import delivery
from bot.pipeline.telegram.handlers.command import Ask, command, is_allowed, need_chat, tapped_chat
from bot.pipeline.telegram.schedule import reschedule_chat
from bot.pipeline.telegram.state import get_services
from bot.pipeline.telegram.texts import esc, plain, t

log = logging.getLogger(__name__)

SEARCH_LIMIT = 10


@command(coalesce="digest")
async def digest(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await need_chat(ask) is None:
        return
    outcome = await delivery.deliver_digest(
        context.bot, ask.services.executor, ask.config, ask.chat_id, reason="command",
    )
    log.info("/digest for chat %s: %s, %d part(s)", ask.chat_id, outcome.status, outcome.parts_sent)
    if outcome.status == "failed":
        await ask.say("digest_failed")
    elif outcome.status == "skipped":
        await ask.say("not_subscribed_group" if ask.in_group else "not_subscribed")
    if outcome.chat_id != ask.chat_id:
        await reschedule_chat(context.application, ask.chat_id, outcome.chat_id)


async def more_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on a digest's "More" button: the next stories of that digest (anyone may read)."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    services = get_services(context.bot_data)
    chat_id = query.message.chat.id
    _row, language = await tapped_chat(query, services)
    if not is_allowed(services.config, update):
        await query.answer(plain(language, "not_allowed"), show_alert=True)
        return
    try:
        page_id = int((query.data or "")[len(delivery.MORE_PREFIX):])
    except ValueError:
        page_id = 0
    await query.answer()                  # the stories follow as messages; stop the spinner now
    outcome = await delivery.deliver_more(context.bot, services.executor, services.config, chat_id, page_id)
    log.info("more (page %s) for chat %s: %s, %d part(s)", page_id, chat_id, outcome.status,
             outcome.parts_sent)
    if outcome.status in ("gone", "empty", "skipped"):
        key = "more_gone" if outcome.status == "gone" else "more_none"
        await query.message.reply_text(t(language, key), parse_mode=ParseMode.HTML)
    elif outcome.status == "failed":
        await query.message.reply_text(t(language, "digest_failed"), parse_mode=ParseMode.HTML)
    with contextlib.suppress(BadRequest):       # one tap per button: it has done its work
        await query.edit_message_reply_markup(None)


def search_line(row: dict[str, Any], *, tz: str, now: float, language: str) -> str:
    title = esc(truncate(" ".join(str(row.get("title") or "—").split()), 150))
    url = safe_url(str(row.get("link") or ""))
    head = f'<a href="{esc(url, attribute=True)}">{title}</a>' if url else title
    source = esc(truncate(str(row.get("source") or ""), 40))
    count = int(row.get("source_count") or 1)
    sources = f"{source} +{count - 1}" if count > 1 and source else source
    when = format_time(float(row.get("published_at") or now), tz=tz, now=now, language=language)
    return f"• {head} — {sources + ', ' if sources else ''}{when}"


@command()
async def search(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    words = " ".join(context.args or []).strip()
    if not words:
        await ask.say("search_usage")
        return
    rows = await ask.db(chat_store.search_stories, words, SEARCH_LIMIT)
    if not rows:
        await ask.say("search_none", words=truncate(words, 60))
        return
    tz = ask.chat["timezone"] if ask.chat else ask.config.digest.timezone
    now = ask.services.clock()
    lines = [t(ask.language, "search_header", words=truncate(words, 60), n=len(rows))]
    lines += [search_line(row, tz=tz, now=now, language=ask.language) for row in rows]
    await ask.reply("\n".join(lines))
