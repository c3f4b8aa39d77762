"""Digest delivery with the real python-telegram-bot over real HTTP to the fake Bot API server.

Test data is written straight into the core tables (feeds, articles, clusters, article_tags):
that is the store seam dedup and tagging fill in production.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import telegram
from sqlite_utils import Database
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.config.models import Config, DigestConfig, TagConfig
from bot.errors import DeliveryError
from bot.pipeline.store import DbExecutor
from bot.pipeline.store import chats as chat_store
from bot.pipeline.store import deliveries as journal
from bot.pipeline.telegram.delivery import (
    DeliveryPolicy,
    build_dry_run,
    deliver_digest,
    make_rate_limiter,
    preview_new_subscriber,
    resume_pending,
    send_priority_alerts,
)
from tests.fakebotapi import FakeBotAPI, fake_bot_api  # noqa: F401 - fixture

TOKEN = "123456:TEST-delivery-token"
NOW = 1_795_000_000.0          # 2026-11-18, a fixed "now" for every test
FAST = DeliveryPolicy(backoff_base=0.01, backoff_max=0.05, max_attempts=3)
TAGS = (
    TagConfig(id="ukraine", labels={"fr": "Ukraine", "en": "Ukraine"}, keywords=("ukraine",)),
    TagConfig(id="north-korea", labels={"fr": "Corée du Nord", "en": "North Korea"},
              keywords=("pyongyang",), priority=True),
)


def make_config(**digest: Any) -> Config:
    return Config(path=Path("test.toml"), tags=TAGS, digest=DigestConfig(**digest))


# -- test data at the store seam -----------------------------------------------------------------


class World:
    """Writes feeds, articles, clusters and tags as ingest + dedup + tagging would."""

    def __init__(self, executor: DbExecutor):
        self.ex = executor
        self.feeds: dict[str, int] = {}
        self.n = 0

    def _feed(self, db: Database, name: str) -> int:
        if name not in self.feeds:
            self.feeds[name] = int(db.execute(
                "INSERT INTO feeds (name, url, created_at) VALUES (?, ?, ?)",
                (name, f"https://{name}.example/rss", NOW),
            ).lastrowid)
        return self.feeds[name]

    def _article(self, db: Database, source: str, title: str, link: str, at: float, tags: list[str],
                 cluster_id: int | None) -> int:
        self.n += 1
        article_id = int(db.execute(
            "INSERT INTO articles (feed_id, guid, link, title, source, published_at, fetched_at, updated_at, "
            "cluster_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self._feed(db, source.replace(" ", "")), f"g{self.n}", link, title, source, at, at, at,
             cluster_id),
        ).lastrowid)
        for tag in tags:
            db.execute("INSERT INTO article_tags (article_id, tag, matched) VALUES (?, ?, ?)",
                       (article_id, tag, tag))
        return article_id

    def story(self, title: str, *, sources: tuple[str, ...] = ("Le Monde",), tags: tuple[str, ...] = (),
              at: float = NOW - 3600, link: str | None = None) -> int:
        def write(db: Database) -> int:
            with db.atomic():
                cluster_id = int(db.execute(
                    "INSERT INTO clusters (title, first_seen, last_seen, size, source_count, updated_at) "
                    "VALUES (?, ?, ?, 0, 0, ?)", (title, at, at, at),
                ).lastrowid)
                first = None
                for i, source in enumerate(sources):
                    url = link if (link is not None and i == 0) else f"https://news.example/{self.n + 1}"
                    aid = self._article(db, source, title, url, at, list(tags), cluster_id)
                    first = first or aid
                db.execute(
                    "UPDATE clusters SET representative_id = ?, size = ?, source_count = ? WHERE id = ?",
                    (first, len(sources), len(set(sources)), cluster_id),
                )
                return cluster_id

        return self.ex.call_sync(write)

    def grow(self, cluster_id: int, source: str, at: float) -> None:
        def write(db: Database) -> None:
            with db.atomic():
                title = db.execute("SELECT title FROM clusters WHERE id = ?", (cluster_id,)).fetchone()[0]
                self._article(db, source, title, f"https://news.example/grow{self.n}", at, [], cluster_id)
                db.execute(
                    "UPDATE clusters SET size = size + 1, source_count = source_count + 1, last_seen = ?, "
                    "updated_at = ? WHERE id = ?", (at, at, cluster_id),
                )

        self.ex.call_sync(write)

    def subscribe(self, chat_id: int, *, tags: tuple[str, ...] = (), chat_type: str = "private",
                  language: str = "fr") -> None:
        def write(db: Database) -> None:
            chat_store.upsert_chat(db, chat_id, type=chat_type, title="t", language=language,
                                   times=["08:00"], timezone="Europe/Paris", now=NOW - 86400)
            chat_store.set_chat_tags(db, chat_id, tags)

        self.ex.call_sync(write)

    def chat(self, chat_id: int) -> dict[str, Any] | None:
        return self.ex.call_sync(chat_store.get_chat, chat_id)


@pytest.fixture
def executor(tmp_path: Path) -> Iterator[DbExecutor]:
    ex = DbExecutor(tmp_path / "news.db")
    try:
        yield ex
    finally:
        ex.close()


@pytest.fixture
def world(executor: DbExecutor) -> World:
    return World(executor)


@pytest.fixture
async def bot(fake_bot_api: FakeBotAPI) -> AsyncIterator[telegram.Bot]:  # noqa: F811
    async with telegram.Bot(TOKEN, base_url=fake_bot_api.base_url) as b:
        yield b


def texts(fake: FakeBotAPI, chat_id: int) -> list[str]:
    return [s.plain for s in fake.sent_to(chat_id)]


# -- digests -------------------------------------------------------------------------------------


async def test_digest_sent_once_then_nothing_new(bot, fake_bot_api, executor, world) -> None:  # noqa: F811
    world.subscribe(42)
    world.story("Kyiv talks resume", sources=("Le Monde", "Reuters", "AFP", "AP"), tags=("ukraine",))
    world.story("Pyongyang fires missile", sources=("BBC",), tags=("north-korea",))
    config = make_config()

    first = await deliver_digest(bot, executor, config, 42, now=NOW, reason="command", policy=FAST)
    assert (first.status, first.stories, first.parts_sent) == ("sent", 2, 1)
    [message] = fake_bot_api.sent_to(42)
    assert message.parse_mode == "HTML" and message.preview_disabled
    assert "Kyiv talks resume" in message.plain and "Pyongyang fires missile" in message.plain
    assert "Le Monde, Reuters +2" in message.plain
    assert "#north_korea" in message.plain and "2 sujets" in message.plain
    assert message.plain.index("Kyiv") < message.plain.index("Pyongyang")     # 4 sources rank first

    second = await deliver_digest(bot, executor, config, 42, now=NOW + 60, reason="command", policy=FAST)
    assert (second.status, second.stories, second.parts_sent) == ("empty", 0, 1)
    assert texts(fake_bot_api, 42)[-1] == "Rien de nouveau depuis votre dernier résumé."

    third = await deliver_digest(bot, executor, config, 42, now=NOW + 120, policy=FAST)   # scheduled, skip
    assert (third.status, third.parts_sent) == ("empty", 0)
    assert len(fake_bot_api.sent_to(42)) == 2
    assert world.chat(42)["last_digest_at"] == NOW + 120


async def test_empty_say_sends_notice_on_schedule(bot, fake_bot_api, executor, world) -> None:  # noqa: F811
    world.subscribe(43, language="en")
    outcome = await deliver_digest(bot, executor, make_config(empty="say"), 43, now=NOW, policy=FAST)
    assert (outcome.status, outcome.parts_sent) == ("empty", 1)
    assert texts(fake_bot_api, 43) == ["Nothing new since your last digest."]


async def test_grown_cluster_not_resent_and_new_one_is(bot, fake_bot_api, executor, world) -> None:  # noqa: F811
    world.subscribe(42)
    grown = world.story("Summit in Geneva", sources=("Le Monde",))
    config = make_config()
    await deliver_digest(bot, executor, config, 42, now=NOW, policy=FAST)
    world.grow(grown, "Reuters", NOW + 100)
    world.story("Ceasefire announced", at=NOW + 200)
    outcome = await deliver_digest(bot, executor, config, 42, now=NOW + 300, policy=FAST)
    assert (outcome.status, outcome.stories) == ("sent", 1)
    last = texts(fake_bot_api, 42)[-1]
    assert "Ceasefire announced" in last and "Summit in Geneva" not in last


async def test_cluster_written_late_with_an_old_clock_is_not_missed(bot, fake_bot_api, executor, world) -> None:  # noqa: F811, E501
    """A cluster committed after a digest but stamped before it (slow pipeline) still goes out."""
    world.subscribe(42)
    world.story("First", at=NOW - 10)
    config = make_config()
    await deliver_digest(bot, executor, config, 42, now=NOW, policy=FAST)
    world.story("Late writer", at=NOW - 5)            # stamped before the digest, committed after
    outcome = await deliver_digest(bot, executor, config, 42, now=NOW + 600, policy=FAST)
    assert outcome.stories == 1 and "Late writer" in texts(fake_bot_api, 42)[-1]


async def test_tags_filter_first_window_and_max_stories(bot, fake_bot_api, executor, world) -> None:  # noqa: F811
    world.subscribe(42, tags=("ukraine",))
    world.story("Old Ukraine story", tags=("ukraine",), at=NOW - 30 * 3600)   # outside the first 24 h
    for i in range(5):
        world.story(f"Ukraine story {i}", tags=("ukraine", "north-korea"), sources=("A",) * (i + 1))
    world.story("Unrelated story")
    outcome = await deliver_digest(bot, executor, make_config(max_stories=3), 42, now=NOW, policy=FAST)
    assert outcome.stories == 3
    text = texts(fake_bot_api, 42)[0]
    assert "Old Ukraine" not in text and "Unrelated" not in text
    assert "… et 2 autres sujets" in text
    assert "#ukraine" in text and "#north_korea" not in text   # only the chat's matching tags


async def test_blocked_chat_is_marked_and_skipped(bot, fake_bot_api, executor, world) -> None:  # noqa: F811
    world.subscribe(42)
    world.story("Anything")
    fake_bot_api.block(42)
    outcome = await deliver_digest(bot, executor, make_config(), 42, now=NOW, policy=FAST)
    assert outcome.status == "blocked" and isinstance(outcome.error, DeliveryError)
    assert world.chat(42)["state"] == "blocked"
    calls = len(fake_bot_api.calls_of("sendMessage"))
    again = await deliver_digest(bot, executor, make_config(), 42, now=NOW + 60, policy=FAST)
    assert again.status == "skipped" and len(fake_bot_api.calls_of("sendMessage")) == calls
    assert await resume_pending(bot, executor, make_config(), policy=FAST) == 0


async def test_paused_chat_skipped_on_schedule_but_answers_a_command(bot, fake_bot_api, executor, world) -> None:  # noqa: F811, E501
    world.subscribe(42)
    world.story("Paused story")
    executor.call_sync(chat_store.set_state, 42, "paused")
    assert (await deliver_digest(bot, executor, make_config(), 42, now=NOW, policy=FAST)).status == "skipped"
    outcome = await deliver_digest(bot, executor, make_config(), 42, now=NOW, reason="command", policy=FAST)
    assert outcome.status == "sent"


def long_stories(world: World, n: int) -> None:
    for i in range(n):
        world.story(f"Story {i:02d} " + "long headline words " * 25, sources=("Le Monde", "Reuters"),
                    at=NOW - 60 * (i + 1))


async def test_split_past_4096_every_part_valid_and_in_order(bot, fake_bot_api, executor, world) -> None:  # noqa: F811
    world.subscribe(42)
    long_stories(world, 30)
    outcome = await deliver_digest(bot, executor, make_config(max_stories=30), 42, now=NOW, policy=FAST)
    sent = fake_bot_api.sent_to(42)
    assert outcome.status == "sent" and outcome.parts_sent == len(sent) >= 3
    assert not fake_bot_api.errors
    joined = "\n".join(s.plain for s in sent)
    numbers = [int(line.split(".")[0]) for line in joined.splitlines() if line[:1].isdigit() and ". " in line]
    assert numbers == list(range(1, 31))
    assert all(len(s.plain.encode("utf-16-le")) // 2 <= 4096 for s in sent)


async def test_hostile_titles_render_valid(bot, fake_bot_api, executor, world) -> None:  # noqa: F811
    world.subscribe(42)
    url = "https://example.com/" + "a" * 280 + "?q=1&r=\"2\""
    title = "<script>alert('x')</script> & </a> <b>bold?</b> &amp; <i"
    world.story(title, sources=("<Evil & Co>",), link=url)
    world.story("javascript link", link="javascript:alert(1)")
    outcome = await deliver_digest(bot, executor, make_config(), 42, now=NOW, policy=FAST)
    assert outcome.status == "sent" and not fake_bot_api.errors
    [message] = fake_bot_api.sent_to(42)
    assert title in message.plain and "<Evil & Co>" in message.plain
    links = [e["url"] for e in message.entities if e["type"] == "text_link"]
    assert links == [url]                                  # the javascript: one is plain text


async def test_429_in_the_middle_every_part_once_in_order(bot, fake_bot_api, executor, world) -> None:  # noqa: F811
    world.subscribe(42)
    long_stories(world, 20)
    fake_bot_api.rate_limit(per_second=None, per_chat=1)   # parts 2.. hit 429 with retry_after=1
    outcome = await deliver_digest(bot, executor, make_config(max_stories=20), 42, now=NOW, policy=FAST)
    assert outcome.status == "sent" and fake_bot_api.too_many >= 1
    expected = [p["text"] for r in executor.call_sync(journal.chat_runs, 42)
                for p in executor.call_sync(journal.run_parts, r["id"])]
    assert [s.text for s in fake_bot_api.sent_to(42)] == expected and len(expected) >= 3


async def test_crash_between_parts_then_restart_sends_only_the_rest(fake_bot_api, tmp_path, world, executor) -> None:  # noqa: F811, E501
    world.subscribe(42)
    long_stories(world, 20)
    config = make_config(max_stories=20)
    fake_bot_api.delay("sendMessage", 0.4)
    async with telegram.Bot(TOKEN, base_url=fake_bot_api.base_url) as bot1:
        task = asyncio.create_task(deliver_digest(bot1, executor, config, 42, now=NOW, policy=FAST))
        [run] = await _wait(lambda: executor.call_sync(journal.chat_runs, 42))
        await _wait(lambda: executor.call_sync(journal.run_parts, run["id"])[0]["status"] == "sent")
        task.cancel()                                      # "crash" while part 2 is in flight
        with pytest.raises(asyncio.CancelledError):
            await task
    executor.close()
    await asyncio.sleep(0.5)                               # the aborted request dies at the server
    fake_bot_api.delay("sendMessage", 0)
    assert len(fake_bot_api.sent_to(42)) == 1

    restarted = DbExecutor(tmp_path / "news.db")          # a new process: new connection, new bot
    try:
        async with telegram.Bot(TOKEN, base_url=fake_bot_api.base_url) as bot2:
            resumed = await resume_pending(bot2, restarted, config, policy=FAST)
            parts = restarted.call_sync(journal.run_parts, run["id"])
            assert resumed == len(parts) - 1 >= 2
            assert [s.text for s in fake_bot_api.sent_to(42)] == [p["text"] for p in parts]
            assert {p["status"] for p in parts} == {"sent"}
            again = await deliver_digest(bot2, restarted, config, 42, now=NOW + 10, policy=FAST)
            assert again.status == "empty" and again.parts_sent == 0
    finally:
        restarted.close()
        executor.__init__(tmp_path / "news.db")            # the fixture closes it again


async def _wait(predicate: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


async def test_5xx_retried_then_delivered_once(bot, fake_bot_api, executor, world) -> None:  # noqa: F811
    world.subscribe(42)
    world.story("Retry me")
    fake_bot_api.fail_next("sendMessage", 502, n=2)
    outcome = await deliver_digest(bot, executor, make_config(), 42, now=NOW, policy=FAST)
    assert outcome.status == "sent" and len(fake_bot_api.sent_to(42)) == 1
    assert len(fake_bot_api.calls_of("sendMessage")) == 3


async def test_5xx_exhausted_leaves_parts_pending_for_resume(bot, fake_bot_api, executor, world) -> None:  # noqa: F811
    world.subscribe(42)
    world.story("Later")
    fake_bot_api.fail_next("sendMessage", 500, n=FAST.max_attempts)
    outcome = await deliver_digest(bot, executor, make_config(), 42, now=NOW, policy=FAST)
    assert outcome.status == "failed" and isinstance(outcome.error, DeliveryError)
    assert "500" in str(outcome.error) or "Internal" in str(outcome.error)
    assert not fake_bot_api.sent_to(42)
    assert await resume_pending(bot, executor, make_config(), policy=FAST) == 1
    assert "Later" in texts(fake_bot_api, 42)[0]


async def test_dropped_connection_and_timeout_are_retried(fake_bot_api, executor, world) -> None:  # noqa: F811
    world.subscribe(42)
    world.story("Flaky network")
    fake_bot_api.reset_connections(1, method="sendMessage")
    request = HTTPXRequest(read_timeout=0.3, write_timeout=0.3, connect_timeout=0.3)
    async with telegram.Bot(TOKEN, base_url=fake_bot_api.base_url, request=request) as slow_bot:
        outcome = await deliver_digest(slow_bot, executor, make_config(), 42, now=NOW, policy=FAST)
        assert outcome.status == "sent" and len(fake_bot_api.sent_to(42)) == 1

        world.story("Timed out once", at=NOW + 10)
        fake_bot_api.delay("sendMessage", 1.0)
        task = asyncio.create_task(
            deliver_digest(slow_bot, executor, make_config(), 42, now=NOW + 20, policy=FAST)
        )
        await fake_bot_api.wait_calls("sendMessage", 3)    # reset + ok + the slow one
        fake_bot_api.delay("sendMessage", 0)
        outcome = await task
    assert outcome.status == "sent"
    assert [("Timed out once" in t) for t in texts(fake_bot_api, 42)] == [False, True]


async def test_group_migration_keeps_subscription(bot, fake_bot_api, executor, world) -> None:  # noqa: F811
    world.subscribe(-100, tags=("ukraine",), chat_type="group")
    world.story("Migrated story", tags=("ukraine",))
    fake_bot_api.migrate(-100, -1001234567890)
    outcome = await deliver_digest(bot, executor, make_config(), -100, now=NOW, policy=FAST)
    assert (outcome.status, outcome.chat_id) == ("sent", -1001234567890)
    assert world.chat(-100) is None
    moved = world.chat(-1001234567890)
    assert moved["type"] == "supergroup" and moved["state"] == "active"
    assert executor.call_sync(chat_store.chat_tags, -1001234567890) == {"ukraine"}
    assert executor.call_sync(chat_store.chat_times, -1001234567890) == ["08:00"]
    assert "Migrated story" in texts(fake_bot_api, -1001234567890)[0]
    again = await deliver_digest(bot, executor, make_config(), -1001234567890, now=NOW + 60, policy=FAST)
    assert again.status == "empty"                         # the journal moved along with the chat


async def test_priority_alert_once_per_story_per_chat(bot, fake_bot_api, executor, world) -> None:  # noqa: F811
    world.subscribe(42, tags=("north-korea",))
    world.subscribe(43, tags=("ukraine",))
    world.subscribe(44)                                     # no tag chosen = everything: alerted too
    cluster = world.story("Pyongyang test", sources=("A", "B", "C"), tags=("north-korea",))
    world.story("Pyongyang minor", sources=("A",), tags=("north-korea",))
    config = make_config(priority_min_sources=3)
    assert await send_priority_alerts(bot, executor, config, now=NOW) == 2
    assert "Pyongyang test" in texts(fake_bot_api, 42)[0] and "🚨" in texts(fake_bot_api, 42)[0]
    assert "Pyongyang test" in texts(fake_bot_api, 44)[0]
    world.grow(cluster, "D", NOW + 10)
    assert await send_priority_alerts(bot, executor, config, now=NOW + 20) == 0
    outcome = await deliver_digest(bot, executor, config, 42, now=NOW + 30, policy=FAST)
    assert outcome.stories == 1 and "Pyongyang minor" in texts(fake_bot_api, 42)[-1]
    assert not fake_bot_api.sent_to(43) and len(fake_bot_api.sent_to(44)) == 1


async def test_rate_limiter_paces_one_chat_without_429(fake_bot_api, executor, world) -> None:  # noqa: F811
    world.subscribe(42)
    long_stories(world, 20)
    fake_bot_api.rate_limit(per_second=30, per_chat=1)
    async with ExtBot(TOKEN, base_url=fake_bot_api.base_url, rate_limiter=make_rate_limiter()) as paced:
        outcome = await deliver_digest(paced, executor, make_config(max_stories=20), 42, now=NOW, policy=FAST)
    assert outcome.status == "sent" and outcome.parts_sent >= 3
    assert fake_bot_api.too_many == 0


def test_dry_run_records_nothing(executor, world) -> None:
    world.subscribe(42, language="en")
    world.story("Dry story", sources=("Le Monde", "Reuters"), link="https://example.com/dry")
    text = executor.call_sync(build_dry_run, make_config(), 42, NOW)
    assert "Dry story" in text and "https://example.com/dry" in text and "1 story" in text
    assert executor.call_sync(journal.chat_runs, 42) == []
    assert world.chat(42)["first_digest_done"] == 0
    with pytest.raises(DeliveryError, match="not a subscriber"):
        executor.call_sync(build_dry_run, make_config(), 99, NOW)
    assert "Dry story" in executor.call_sync(preview_new_subscriber, make_config(), NOW)


async def test_configured_channel_by_name_gets_its_digest(bot, fake_bot_api, executor, world) -> None:  # noqa: F811
    from bot.config.models import ChannelConfig

    channels = (ChannelConfig(chat="@world_news", tags=("ukraine",), times=("07:30",)),)
    executor.call_sync(chat_store.sync_config_channels, channels, DigestConfig(), NOW)
    [row] = executor.call_sync(chat_store.list_chats)
    assert row["address"] == "@world_news" and row["from_config"] == 1
    world.story("Channel story", tags=("ukraine",))
    world.story("Not for the channel")
    outcome = await deliver_digest(bot, executor, make_config(), row["chat_id"], now=NOW, policy=FAST)
    assert outcome.status == "sent" and outcome.stories == 1
    [message] = fake_bot_api.sent_to("@world_news")
    assert "Channel story" in message.plain and "Not for the channel" not in message.plain
    executor.call_sync(chat_store.sync_config_channels, (), DigestConfig(), NOW)   # removed from config
    assert executor.call_sync(chat_store.list_chats)[0]["state"] == "paused"


async def test_prune_journal_keeps_pending_and_live_marks(bot, fake_bot_api, executor, world) -> None:  # noqa: F811
    world.subscribe(42)
    world.subscribe(43)
    kept = world.story("Kept")
    gone = world.story("Gone")
    await deliver_digest(bot, executor, make_config(), 42, now=NOW, policy=FAST)
    fake_bot_api.fail_next("sendMessage", 500, n=FAST.max_attempts)
    assert (await deliver_digest(bot, executor, make_config(), 43, now=NOW, policy=FAST)).status == "failed"
    executor.call_sync(lambda db: db.execute("DELETE FROM clusters WHERE id = ?", (gone,)))
    assert executor.call_sync(journal.prune_journal, NOW + 1) == 1          # 42's finished run
    assert executor.call_sync(journal.chat_runs, 42) == []
    marks = executor.call_sync(lambda db: db.execute(
        "SELECT chat_id, cluster_id FROM sent_clusters ORDER BY chat_id").fetchall())
    assert marks == [(42, kept), (43, kept)]
    assert [r["status"] for r in executor.call_sync(journal.chat_runs, 43)] == ["pending"]
    assert await resume_pending(bot, executor, make_config(), policy=FAST) == 1
    again = await deliver_digest(bot, executor, make_config(), 42, now=NOW + 5, policy=FAST)
    assert again.status == "empty"                          # "Kept" is still known as sent to 42


def test_limiter_reservations_respect_chat_and_group_limits() -> None:
    from bot.pipeline.telegram.delivery import PacedRateLimiter

    limiter = PacedRateLimiter(per_chat_interval=1.0, group_per_minute=20, margin=0.0)
    private = [limiter._reserve_chat(42, 100.0) for _ in range(3)]
    assert private == [100.0, 101.0, 102.0]
    group = [limiter._reserve_chat(-7, 100.0) for _ in range(25)]
    assert group[:20] == [100.0 + i for i in range(20)]
    assert all(later - earlier >= 60.0 for earlier, later in zip(group, group[20:], strict=False))


async def test_error_texts_never_carry_the_token(fake_bot_api, executor, world, caplog) -> None:  # noqa: F811
    token = "987654321:AAHk3v9QxZlT2mPq8rS7uVwX1yZ0aBcDeFg"
    world.subscribe(42)
    world.story("Secret")
    fake_bot_api.fail_next("sendMessage", 500, n=FAST.max_attempts,
                           description=f"Internal error at /bot{token}/sendMessage")
    caplog.set_level("DEBUG", logger="bot")
    async with telegram.Bot(token, base_url=fake_bot_api.base_url) as b:
        outcome = await deliver_digest(b, executor, make_config(), 42, now=NOW, policy=FAST)
    assert outcome.status == "failed" and "Internal error" in str(outcome.error)
    [run] = executor.call_sync(journal.chat_runs, 42)
    for text in (str(outcome.error), run["error"], caplog.text):
        assert token not in text and token.split(":")[1] not in text


async def test_limiter_paces_messages_only(fake_bot_api) -> None:  # noqa: F811
    fake_bot_api.add_chat(-300, "supergroup")
    fake_bot_api.set_admins(-300, [7])
    async with ExtBot(TOKEN, base_url=fake_bot_api.base_url, rate_limiter=make_rate_limiter()) as paced:
        start = time.monotonic()
        await paced.send_message(-300, "one")
        for _ in range(3):                                   # an admin check before each answer
            await paced.get_chat_member(-300, 7)
        await paced.edit_message_text("one, edited", chat_id=-300, message_id=1)
        assert time.monotonic() - start < 0.5
        await paced.send_message(-300, "two")                # the second message waits its turn
        assert time.monotonic() - start >= 1.0


async def test_server_fails_hard_after_part_one_then_resume_sends_the_rest(bot, fake_bot_api, executor, world) -> None:  # noqa: F811, E501
    world.subscribe(42)
    long_stories(world, 20)
    config = make_config(max_stories=20)
    fake_bot_api.delay("sendMessage", 0.2)
    task = asyncio.create_task(deliver_digest(bot, executor, config, 42, now=NOW, policy=FAST))
    [run] = await _wait(lambda: executor.call_sync(journal.chat_runs, 42))
    await _wait(lambda: executor.call_sync(journal.run_parts, run["id"])[0]["status"] == "sent")
    fake_bot_api.fail_next("sendMessage", 500, n=FAST.max_attempts)   # part 2 and its retries
    outcome = await task
    assert (outcome.status, outcome.parts_sent) == ("failed", 1)
    fake_bot_api.delay("sendMessage", 0)
    assert await resume_pending(bot, executor, config, policy=FAST) >= 2
    parts = executor.call_sync(journal.run_parts, run["id"])
    assert [s.text for s in fake_bot_api.sent_to(42)] == [p["text"] for p in parts]


async def test_cluster_shrunk_by_retention_repair_does_not_come_back(bot, fake_bot_api, executor, world) -> None:  # noqa: F811, E501
    world.subscribe(42, tags=("ukraine",))
    world.story("Old big story", sources=("A", "B", "C"), at=NOW - 3600)     # no tag: not for 42
    config = make_config()
    await deliver_digest(bot, executor, config, 42, now=NOW, policy=FAST)
    executor.call_sync(chat_store.set_chat_tags, 42, [])                    # now 42 follows everything
    executor.call_sync(lambda db: db.execute("UPDATE clusters SET size = 1, source_count = 1"))
    outcome = await deliver_digest(bot, executor, config, 42, now=NOW + 60, policy=FAST)
    assert outcome.status == "empty" and not fake_bot_api.sent_to(42)
