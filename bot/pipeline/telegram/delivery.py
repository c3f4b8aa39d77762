"""Send digests and priority alerts exactly as journaled, within Telegram's limits.

The order of work for one chat is always: finish what the journal says is still pending for
it, then plan a new digest (selection, ranking, rendering and journaling in one SQLite
transaction, see :mod:`bot.pipeline.store.deliveries`), then send its parts in order, marking each one
sent as soon as Telegram answered. So a crash or restart never loses parts (they stay pending
and :func:`resume_pending` sends them) and never re-sends one Telegram accepted. The one window
left is a part whose request was in flight when the process died: it is sent again (Telegram
has no idempotency key; losing a part silently would be worse).

Errors: 429 → wait ``retry_after`` and retry the same part; 403 → the chat is marked blocked
and skipped from then on; a group migrated to a supergroup → the chat moves to its new id and
the sending goes on there; timeouts, network errors and 5xx → bounded retries with exponential
backoff, then the rest stays pending (outcome 'failed' with a DeliveryError).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import telegram
from sqlite_utils import Database
from telegram import InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import BaseRateLimiter

from bot.config.models import Config
from bot.errors import DeliveryError
from bot.observe import instruments
from bot.pipeline.digest import Story, rank_stories, render_alert, render_digest, render_empty, render_text
from bot.pipeline.store import chats as chat_store
from bot.pipeline.store import deliveries as journal
from bot.pipeline.store.db import DbExecutor
from bot.pipeline.telegram.locks import KeyedLocks
from bot.pipeline.telegram.logs import redact
from bot.pipeline.telegram.texts import plain

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
MORE_PREFIX = "more:"              # callback data of a digest's "More" button: more:<page id>


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard to try. Defaults suit production; tests pass smaller delays."""

    max_attempts: int = 4          # per part, for timeouts / network errors / 5xx
    backoff_base: float = 1.0      # seconds before the 2nd attempt, doubled each time
    backoff_max: float = 30.0
    max_rate_limited: int = 10     # 429s tolerated for one part before giving up for now
    max_retry_after: float = 300.0  # never sleep longer than this on one 429


DEFAULT_POLICY = DeliveryPolicy()


@dataclass(frozen=True)
class DigestOutcome:
    chat_id: int                   # the chat's id at the end (a migrated group's new id)
    parts_sent: int
    stories: int
    status: str                    # 'sent' | 'empty' | 'blocked' | 'failed' | 'skipped'
    error: DeliveryError | None = None


# -- rate limiting -------------------------------------------------------------------------------


class PacedRateLimiter(BaseRateLimiter[int]):
    """Telegram's limits, enforced before sending rather than discovered through 429s.

    Only messages are paced: sends (one per second per chat, 20 per minute per group, 30 per
    second overall) and edits (overall only); reads such as getChatMember go straight through.

    PTB's AIORateLimiter uses leaky buckets (aiolimiter), which let a burst of a full bucket
    through and then keep draining: in any one-second window up to twice the rate can pass, and
    a server counting strictly answers 429. This limiter spaces messages instead: global sends
    at least ``1 / overall_per_second`` apart, each chat's at least ``per_chat_interval`` apart,
    each group at most ``group_per_minute`` in any 60 s, all with ``margin`` (5 %) to spare. The
    global spacing follows a steady clock (wake-up overshoot does not add up) but restarts from
    the actual send time after a late wake-up, so an event-loop stall never releases a burst;
    the margin absorbs ~50 ms of jitter between here and the server at full rate. A 429 still
    pauses every request for ``retry_after`` and is retried up to ``max_retries`` times.
    """

    def __init__(
        self,
        overall_per_second: float = 30.0,
        per_chat_interval: float = 1.0,
        group_per_minute: int = 20,
        max_retries: int = 2,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._global_interval = (1.0 / overall_per_second) * (1 + margin) if overall_per_second else 0.0
        self._chat_interval = per_chat_interval * (1 + margin)
        self._group_max = group_per_minute
        self._group_period = 60.0 * (1 + margin)
        self._max_retries = max_retries
        self._clock = clock
        self._last_due = float("-inf")
        self._global_gate = asyncio.Lock()
        self._next_chat: dict[int | str, float] = {}
        self._group_sends: dict[int | str, deque[float]] = {}
        self._resume = asyncio.Event()
        self._resume.set()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def _prune(self, now: float) -> None:
        if len(self._next_chat) > 10_000:
            self._next_chat = {k: v for k, v in self._next_chat.items() if v > now}
        if len(self._group_sends) > 10_000:
            self._group_sends = {
                k: q for k, q in self._group_sends.items() if q and q[-1] > now - self._group_period
            }

    def _reserve_chat(self, chat: int | str, now: float) -> float:
        """The earliest time this chat may send (per-chat spacing, group window); reserved."""
        at = max(now, self._next_chat.get(chat, 0.0))
        is_group = isinstance(chat, str) or chat < 0
        if is_group and self._group_max:
            sends = self._group_sends.setdefault(chat, deque())
            while sends and sends[0] <= now - self._group_period:
                sends.popleft()
            if len(sends) >= self._group_max:
                at = max(at, sends[-self._group_max] + self._group_period)
            sends.append(at)
        self._next_chat[chat] = at + self._chat_interval
        return at

    async def _wait_until(self, at: float) -> None:
        delay = at - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _pace(self, chat: int | str | None, endpoint: str) -> None:
        await self._resume.wait()
        kind = message_kind(endpoint)
        if chat is None or kind is None:
            return                      # getChatMember, answerCallbackQuery...: not flood-limited
        now = self._clock()
        self._prune(now)
        if kind == "send":              # edits are not held to one per second per chat
            await self._wait_until(self._reserve_chat(chat, now))
            await self._resume.wait()
        if self._global_interval:
            # The global spacing is taken last, right before the request, and counted from when
            # the previous request actually left (not from when it was due): after a stall of
            # the event loop, late requests go out spaced, not in a burst.
            async with self._global_gate:
                due = max(self._clock(), self._last_due + self._global_interval)
                await self._wait_until(due)
                late = self._clock() - due
                self._last_due = due if late < self._global_interval / 4 else due + late

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat: int | str | None = data.get("chat_id")
        if isinstance(chat, str):
            with contextlib.suppress(ValueError):
                chat = int(chat)
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        for attempt in range(retries + 1):
            await self._pace(chat, endpoint)
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                instruments.RATE_LIMITED.inc()
                if attempt == retries:
                    raise
                instruments.RETRIES.labels("rate_limited").inc()
                wait = retry_after_seconds(exc) + 0.1
                log.info("Telegram asked to slow down (%s): pausing all requests %.1f s", endpoint, wait)
                self._resume.clear()
                try:
                    await asyncio.sleep(wait)
                finally:
                    self._resume.set()
            else:
                if message_kind(endpoint) == "send":
                    instruments.MESSAGES_SENT.inc()
                return result
        raise AssertionError("unreachable")


def message_kind(endpoint: str) -> str | None:
    """'send' for methods that post a message, 'edit' for edits, None for the rest."""
    name = endpoint.lower()
    if name.startswith("editmessage"):
        return "edit"
    if (name.startswith("send") and name != "sendchataction") or name in ("copymessage", "forwardmessage"):
        return "send"
    return None


def make_rate_limiter() -> BaseRateLimiter:
    """The limiter for the Application: 30 msg/s overall, 1/s per chat, 20/min per group."""
    return PacedRateLimiter()


_TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


def scrub(text: str) -> str:
    """An error text fit for logs, the journal and outcomes: no bot token in it."""
    return _TOKEN_SHAPE.sub("<redacted>", redact(text))


def retry_after_seconds(exc: RetryAfter) -> float:
    value = getattr(exc, "_retry_after", None)
    if value is None:
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# -- planning (runs on the DB thread) ------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    run_id: int | None
    stories: int
    more: int


def _light_story(row: dict[str, Any]) -> Story:
    return Story(cluster_id=int(row["id"]), title=row["title"] or "", url="", time=float(row["story_time"]),
                 source_count=int(row["source_count"] or 0), size=int(row["size"] or 0))


def select_stories(
    db: Database, config: Config, chat: dict[str, Any], now: float, upto_seq: int, *,
    backlog: bool = False, only: list[int] | None = None,
) -> tuple[list[Story], list[int]]:
    """The stories of the chat's next digest (ranked, cut to max_stories) and the ids of the
    ranked stories cut. ``backlog``/``only``: see :func:`journal.candidate_clusters`; ``only``
    keeps that order (a "More" page was ranked when its digest was)."""
    tags = chat_store.chat_tags(db, chat["chat_id"])
    rows = journal.candidate_clusters(
        db, chat, tags, now=now, first_window=config.digest.first_window, upto_seq=upto_seq,
        backlog=backlog, only=only,
    )
    by_id = {int(r["id"]): r for r in rows}
    if only is not None:
        ranked_ids = [i for i in only if i in by_id]
    else:
        ranked_ids = [s.cluster_id for s in rank_stories([_light_story(r) for r in rows], now)]
    chosen = ranked_ids[: config.digest.max_stories]
    stories = [journal.cluster_story(db, by_id[i], tags or None) for i in chosen]
    return stories, ranked_ids[len(chosen):]


def more_markup(language: str, page_id: int, left: int) -> str:
    """The "More" button as stored with a digest's last part (inline keyboard JSON)."""
    button = {"text": plain(language, "more_button", n=left), "callback_data": f"{MORE_PREFIX}{page_id}"}
    return json.dumps({"inline_keyboard": [[button]]}, ensure_ascii=False)


def _journal_stories(
    db: Database, chat: dict[str, Any], stories: list[Story], cut: list[int], now: float, *,
    reason: str, first_number: int = 1, cursor_seq: int | None = None,
) -> int | None:
    """Render and journal ``stories``; the ``cut`` ones go to a page behind a "More" button."""
    chat_id, language, tz = int(chat["chat_id"]), chat["language"], chat["timezone"]
    parts = render_digest(stories, language=language, tz=tz, now=now, more=len(cut),
                          first_number=first_number)
    markup = ""
    if cut:
        page_id = journal.save_page(db, chat_id, cut, now, shown=first_number - 1 + len(stories))
        markup = more_markup(language, page_id, len(cut))
    return journal.journal_run(
        db, chat_id, kind="digest", reason=reason, parts=parts,
        cluster_ids=[s.cluster_id for s in stories], now=now, stories=len(stories), more=len(cut),
        cursor_seq=cursor_seq, last_markup=markup,
    )


def plan_digest(db: Database, config: Config, chat_id: int, now: float, reason: str) -> Plan:
    """Select, render and journal the chat's next digest in one transaction.

    ``/digest`` (reason "command") also offers the stories earlier digests cut that the chat
    has not seen, so it never answers "nothing new" while some are waiting.
    """
    with db.atomic():
        chat = chat_store.get_chat(db, chat_id)
        if chat is None:
            return Plan(None, 0, 0)
        upto = journal.current_seq(db)
        stories, cut = select_stories(db, config, chat, now, upto, backlog=reason == "command")
        if stories:
            run_id = _journal_stories(db, chat, stories, cut, now, reason=reason, cursor_seq=upto)
            return Plan(run_id, len(stories), len(cut))
        say = config.digest.empty == "say" or reason == "command"
        parts = [render_empty(chat["language"])] if say else []
        run_id = journal.journal_run(
            db, chat_id, kind="notice", reason=reason, parts=parts, cluster_ids=[], now=now,
            cursor_seq=upto,
        )
    return Plan(run_id, 0, 0)


def plan_more(db: Database, config: Config, chat_id: int, page_id: int, now: float) -> Plan | None:
    """Journal the next page of a cut digest; None when the page is unknown (pruned, another
    chat's). Stories sent since (or now filtered out) are skipped; Plan.run_id None = nothing left."""
    with db.atomic():
        chat = chat_store.get_chat(db, chat_id)
        page = journal.get_page(db, chat_id, page_id)
        if chat is None or page is None:
            return None
        stories, cut = select_stories(db, config, chat, now, 0, only=page["cluster_ids"])
        if not stories:
            journal.update_page(db, page_id, [], page["shown"])
            return Plan(None, 0, 0)
        journal.update_page(db, page_id, [], page["shown"] + len(stories))
        run_id = _journal_stories(db, chat, stories, cut, now, reason="more",
                                  first_number=page["shown"] + 1)
    return Plan(run_id, len(stories), len(cut))


def build_dry_run(db: Database, config: Config, chat_id: int, now: float) -> str:
    """The digest ``chat_id`` would receive now, as text. Sends nothing, records nothing."""
    chat = chat_store.get_chat(db, chat_id)
    if chat is None:
        raise DeliveryError(f"chat {chat_id} is not a subscriber (see `newsbot subscribers`)")
    return _preview(db, config, chat, now)


def preview_new_subscriber(db: Database, config: Config, now: float, language: str | None = None) -> str:
    """What a new subscriber (default settings, all tags) would receive now, as text."""
    chat = {
        "chat_id": 0, "language": language or config.telegram.language,
        "timezone": config.digest.timezone, "first_digest_done": 0, "cursor_seq": 0,
    }
    return _preview(db, config, chat, now)


def _preview(db: Database, config: Config, chat: dict[str, Any], now: float) -> str:
    stories, cut = select_stories(db, config, chat, now, journal.current_seq(db))
    language, tz = chat["language"], chat["timezone"]
    if not stories:
        return render_text([render_empty(language)])
    return render_text(render_digest(stories, language=language, tz=tz, now=now, more=len(cut)))


# -- sending -------------------------------------------------------------------------------------


# One delivery at a time per chat (a scheduled digest and /digest must not interleave).
_lock_for = KeyedLocks()


@dataclass
class _Flush:
    chat_id: int
    sent: int = 0
    status: str = "ok"             # 'ok' | 'blocked' | 'failed'
    error: DeliveryError | None = None


async def _send_once(bot: telegram.Bot, target: int | str, text: str, markup: str = "") -> telegram.Message:
    keyboard = InlineKeyboardMarkup.de_json(json.loads(markup), bot) if markup else None
    return await bot.send_message(
        chat_id=target, text=text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW,
        reply_markup=keyboard,
    )


async def _flush_chat(
    bot: telegram.Bot, executor: DbExecutor, chat_id: int, policy: DeliveryPolicy
) -> _Flush:
    """Send the chat's pending parts in journal order until done, blocked or failing."""
    result = _Flush(chat_id)
    parts = await executor.call(journal.pending_parts, chat_id)
    for part in parts:
        chat = await executor.call(chat_store.get_chat, result.chat_id)
        if chat is None or chat["state"] == "blocked":
            result.status = "blocked"
            return result
        outcome = await _send_part(bot, executor, chat, part, policy)
        if outcome.chat_id != result.chat_id:
            result.chat_id = outcome.chat_id
        if outcome.status == "sent":
            result.sent += 1
        elif outcome.status in ("blocked", "failed"):
            result.status, result.error = outcome.status, outcome.error
            return result
    return result


@dataclass
class _PartResult:
    chat_id: int
    status: str                    # 'sent' | 'rejected' | 'blocked' | 'failed'
    error: DeliveryError | None = None


def _is_gone(exc: BadRequest) -> bool:
    text = str(exc).lower()
    return "chat not found" in text or "bot was kicked" in text or "chat was deleted" in text


async def _send_part(
    bot: telegram.Bot,
    executor: DbExecutor,
    chat: dict[str, Any],
    part: journal.PendingPart,
    policy: DeliveryPolicy,
) -> _PartResult:
    chat_id = int(chat["chat_id"])
    target: int | str = chat["address"] or chat_id
    attempts = rate_limited = migrations = 0
    while True:
        try:
            message = await _send_once(bot, target, part.text, part.reply_markup)
        except RetryAfter as exc:
            rate_limited += 1
            if rate_limited > policy.max_rate_limited:
                return await _give_up(executor, chat_id, part, f"still rate limited: {exc}")
            instruments.RETRIES.labels("rate_limited").inc()
            await asyncio.sleep(min(retry_after_seconds(exc), policy.max_retry_after))
            continue
        except ChatMigrated as exc:
            migrations += 1
            if migrations > 3:
                return await _give_up(executor, chat_id, part, f"chat keeps migrating: {exc}")
            new_id = int(exc.new_chat_id)
            log.info("chat %s became supergroup %s: moving its subscription", chat_id, new_id)
            await executor.call(chat_store.migrate_chat, chat_id, new_id)
            chat_id, target = new_id, new_id
            continue
        except Forbidden as exc:
            return await _blocked(executor, chat_id, str(exc))
        except BadRequest as exc:
            if _is_gone(exc):
                return await _blocked(executor, chat_id, str(exc))
            why = scrub(str(exc))
            log.error("Telegram refused part %s of run %s for chat %s: %s",
                      part.seq, part.run_id, chat_id, why)
            await executor.call(journal.mark_part_failed, part.run_id, part.seq, why, time.time())
            return _PartResult(chat_id, "rejected", DeliveryError(f"chat {chat_id}: {why}"))
        except InvalidToken as exc:
            return await _give_up(executor, chat_id, part, f"the bot token was refused: {exc}")
        except (TimedOut, NetworkError) as exc:  # 5xx, timeouts, dropped connections
            attempts += 1
            if attempts >= policy.max_attempts:
                return await _give_up(executor, chat_id, part, f"{type(exc).__name__}: {exc}")
            delay = min(policy.backoff_base * 2 ** (attempts - 1), policy.backoff_max)
            instruments.RETRIES.labels("network").inc()
            log.warning("sending to chat %s failed (%s), retry %d in %.1f s",
                        chat_id, scrub(str(exc)), attempts, delay)
            await asyncio.sleep(delay)
            continue
        except TelegramError as exc:
            return await _give_up(executor, chat_id, part, f"{type(exc).__name__}: {exc}")
        await executor.call(journal.mark_part_sent, part.run_id, part.seq, message.message_id, time.time())
        real_id = message.chat_id
        if chat["address"] and isinstance(real_id, int) and real_id != chat_id:
            # An "@name" channel from the config: now we know its numeric id.
            await executor.call(chat_store.migrate_chat, chat_id, real_id)
            chat_id = real_id
        return _PartResult(chat_id, "sent")


async def _blocked(executor: DbExecutor, chat_id: int, reason: str) -> _PartResult:
    reason = scrub(reason)
    log.info("chat %s blocked or removed the bot: marked blocked (%s)", chat_id, reason)

    def mark(db: Database) -> None:
        with db.atomic():
            chat_store.set_state(db, chat_id, "blocked", reason)
            journal.abandon_chat_runs(db, chat_id, "blocked", reason, time.time())

    await executor.call(mark)
    return _PartResult(chat_id, "blocked", DeliveryError(f"chat {chat_id} blocked the bot: {reason}"))


async def _give_up(
    executor: DbExecutor, chat_id: int, part: journal.PendingPart, reason: str
) -> _PartResult:
    reason = scrub(reason)
    log.warning("leaving the rest of run %s for chat %s pending: %s", part.run_id, chat_id, reason)
    await executor.call(journal.note_run_error, part.run_id, reason)
    return _PartResult(chat_id, "failed", DeliveryError(f"chat {chat_id}: {reason}"))


async def deliver_digest(
    bot: telegram.Bot,
    executor: DbExecutor,
    config: Config,
    chat_id: int,
    *,
    now: float | None = None,
    reason: str = "scheduled",
    policy: DeliveryPolicy = DEFAULT_POLICY,
) -> DigestOutcome:
    """Send ``chat_id`` what is new for it (see the module docstring).

    ``reason="command"`` (someone typed /digest) delivers to paused chats too and always answers:
    with nothing new, it sends the "nothing new" message itself (status 'empty', parts_sent 1);
    a scheduled run with nothing new sends it only with ``digest.empty = "say"``.
    """
    now = time.time() if now is None else now
    async with _lock_for(chat_id):
        chat = await executor.call(chat_store.get_chat, chat_id)
        if chat is None or chat["state"] == "blocked" or (chat["state"] == "paused" and reason != "command"):
            return DigestOutcome(chat_id, 0, 0, "skipped")
        earlier = await _flush_chat(bot, executor, chat_id, policy)
        if earlier.status != "ok":
            return DigestOutcome(earlier.chat_id, earlier.sent, 0, earlier.status, earlier.error)
        chat_id = earlier.chat_id
        plan = await executor.call(plan_digest, config, chat_id, now, reason)
        if plan.run_id is None:
            return DigestOutcome(chat_id, earlier.sent, 0, "empty")
        flush = await _flush_chat(bot, executor, chat_id, policy)
        sent = earlier.sent + flush.sent
        if flush.status != "ok":
            return DigestOutcome(flush.chat_id, sent, plan.stories, flush.status, flush.error)
        if plan.stories:
            instruments.DIGESTS_SENT.inc()
        return DigestOutcome(flush.chat_id, sent, plan.stories, "sent" if plan.stories else "empty")


async def deliver_more(
    bot: telegram.Bot, executor: DbExecutor, config: Config, chat_id: int, page_id: int, *,
    now: float | None = None, policy: DeliveryPolicy = DEFAULT_POLICY,
) -> DigestOutcome:
    """A tap on "More": send the next page of that digest. Status 'gone' for an unknown page,
    'empty' when everything on it was sent meanwhile."""
    now = time.time() if now is None else now
    async with _lock_for(chat_id):
        earlier = await _flush_chat(bot, executor, chat_id, policy)
        if earlier.status != "ok":
            return DigestOutcome(earlier.chat_id, earlier.sent, 0, earlier.status, earlier.error)
        plan = await executor.call(plan_more, config, earlier.chat_id, page_id, now)
        if plan is None or plan.run_id is None:
            return DigestOutcome(earlier.chat_id, earlier.sent, 0, "gone" if plan is None else "empty")
        flush = await _flush_chat(bot, executor, earlier.chat_id, policy)
        status = "sent" if flush.status == "ok" else flush.status
        return DigestOutcome(flush.chat_id, earlier.sent + flush.sent, plan.stories, status, flush.error)


async def _flush_each(
    bot: telegram.Bot, executor: DbExecutor, chat_ids: list[int], policy: DeliveryPolicy
) -> int:
    """Send the pending parts of these chats, concurrently, each under its chat's delivery lock;
    how many parts went out."""

    async def one(chat_id: int) -> int:
        async with _lock_for(chat_id):
            return (await _flush_chat(bot, executor, chat_id, policy)).sent

    return sum(await asyncio.gather(*(one(c) for c in chat_ids)))


async def resume_pending(
    bot: telegram.Bot, executor: DbExecutor, config: Config, *, policy: DeliveryPolicy = DEFAULT_POLICY
) -> int:
    """At start-up: send the parts of interrupted runs. Returns how many parts went out."""
    chat_ids = await executor.call(journal.pending_chats)
    if chat_ids:
        log.info("resuming interrupted deliveries for %d chat(s)", len(chat_ids))
    return await _flush_each(bot, executor, chat_ids, policy)


# -- priority alerts -----------------------------------------------------------------------------


def plan_alerts(db: Database, config: Config, now: float) -> list[int]:
    """Journal one alert run per (chat, priority story) not sent yet; returns the chat ids."""
    priority = [t.id for t in config.tags if t.priority]
    with db.atomic():
        rows = journal.priority_candidates(
            db, priority, min_sources=config.digest.priority_min_sources,
            since=now - config.digest.first_window,
        )
        chats: list[int] = []
        for row in rows:
            chat = chat_store.get_chat(db, row["chat_id"])
            if chat is None:
                continue
            tags = chat_store.chat_tags(db, chat["chat_id"])
            story = journal.cluster_story(db, row, tags or None)
            parts = render_alert(story, language=chat["language"], tz=chat["timezone"], now=now)
            journal.journal_run(
                db, chat["chat_id"], kind="alert", reason="priority", parts=parts,
                cluster_ids=[story.cluster_id], now=now, stories=1,
            )
            chats.append(int(chat["chat_id"]))
    return sorted(set(chats))


async def send_priority_alerts(
    bot: telegram.Bot, executor: DbExecutor, config: Config, now: float | None = None, *,
    policy: DeliveryPolicy = DEFAULT_POLICY,
) -> int:
    """Alert chats following a priority tag about stories that reached
    ``digest.priority_min_sources`` sources: at once, once per story per chat. Returns the
    number of messages sent."""
    now = time.time() if now is None else now
    chat_ids = await executor.call(plan_alerts, config, now)
    return await _flush_each(bot, executor, chat_ids, policy)


__all__ = [
    "DEFAULT_POLICY", "MORE_PREFIX", "DeliveryPolicy", "DigestOutcome", "PacedRateLimiter",
    "build_dry_run", "deliver_digest", "deliver_more", "make_rate_limiter", "plan_digest",
    "preview_new_subscriber", "render_text", "resume_pending", "retry_after_seconds", "send_priority_alerts",
]
