"""Runs the real newsbot Telegram application against the fake Bot API, for the test_bot_* files.

The Application is the one ``newsbot run`` builds (:func:`bot.pipeline.telegram.app.build_application`),
long-polling the fake server over real HTTP, with a real SQLite file. Only the rate limiter's
pacing is shortened (1 s per chat would make every test slow); its logic is tested with delivery.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from telegram.ext import Application

from bot.config import Config, parse_config
from bot.pipeline.store import DbExecutor
from bot.pipeline.store import chats as chat_store
from bot.pipeline.telegram.app import ALLOWED_UPDATES, build_application
from bot.pipeline.telegram.delivery import PacedRateLimiter
from tests.fakebotapi import FakeBotAPI, Sent

TOKEN = "4242424242:AAHfakeTOKENforTESTS-abcdefghijk_0123"
ADMIN = 900

TAGS_TOML = """
[tags.north-korea]
label = { fr = "Corée du Nord", en = "North Korea" }
keywords = ["Pyongyang", "Corée du Nord"]
priority = true

[tags.ukraine]
label = { fr = "Ukraine", en = "Ukraine" }
keywords = ["Ukraine", "Kyiv"]

[tags.middle-east]
label = { fr = "Proche-Orient", en = "Middle East" }
keywords = ["Gaza", "Israël"]
"""


def example_tags() -> str:
    """The shipped taxonomy (every [tags.*] table of config.example.toml)."""
    text = (Path(__file__).resolve().parents[1] / "config.example.toml").read_text(encoding="utf-8")
    return text[text.index("\n[tags."):]


def make_config(tmp_path: Path, fake: FakeBotAPI, extra: str = "", telegram: str = "",
                tags: str = TAGS_TOML) -> Config:
    text = f"""
[storage]
path = "{tmp_path / 'bot.db'}"

[telegram]
token_env = "NEWSBOT_TEST_TOKEN"
api_base_url = "{fake.base_url}"
admins = [{ADMIN}]
language = "fr"
{telegram}

[digest]
times = ["08:00", "19:00"]
timezone = "Europe/Paris"
max_stories = 5
{extra}
{tags}
"""
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return parse_config(text, path)


class World:
    """Stories written at the store seam (what ingest + dedup + tagging produce)."""

    def __init__(self, executor: DbExecutor):
        self.executor = executor
        self.n = 0

    def story(self, title: str, *, sources: tuple[str, ...] = ("Le Monde",), tags: tuple[str, ...] = (),
              age: float = 3600, summary: str = "", link: str | None = None,
              links: tuple[str, ...] = ()) -> int:
        """A cluster with one article per source (``links``: their links, in order)."""
        at = time.time() - age

        def write(db: Database) -> int:
            with db.atomic():
                cluster_id = int(db.execute(
                    "INSERT INTO clusters (title, first_seen, last_seen, size, source_count, updated_at) "
                    "VALUES (?, ?, ?, 0, 0, ?)", (title, at, at, at)).lastrowid)
                first = None
                for i, source in enumerate(sources):
                    self.n += 1
                    feed = db.execute("SELECT id FROM feeds WHERE name = ?", (source,)).fetchone()
                    feed_id = feed[0] if feed else db.execute(
                        "INSERT INTO feeds (name, url, created_at) VALUES (?, ?, ?)",
                        (source, f"https://feeds.example/{self.n}", at)).lastrowid
                    url = link if link is not None and first is None else f"https://news.example/{self.n}"
                    url = links[i] if i < len(links) else url
                    article_id = int(db.execute(
                        "INSERT INTO articles (feed_id, guid, link, title, source, published_at, fetched_at, "
                        "updated_at, summary, cluster_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (feed_id, f"g{self.n}", url, title, source, at, at, at, summary, cluster_id),
                    ).lastrowid)
                    for tag in tags:
                        db.execute("INSERT INTO article_tags (article_id, tag, matched) VALUES (?, ?, ?)",
                                   (article_id, tag, tag))
                    first = first or article_id
                db.execute(
                    "UPDATE clusters SET representative_id = ?, size = ?, source_count = ? WHERE id = ?",
                    (first, len(sources), len(set(sources)), cluster_id))
                return cluster_id

        return self.executor.call_sync(write)

    def grow(self, cluster_id: int, source: str) -> None:
        """One more article from a new source joins the cluster now (what dedup does)."""
        at = time.time()

        def write(db: Database) -> None:
            with db.atomic():
                self.n += 1
                title = db.execute("SELECT title FROM clusters WHERE id = ?", (cluster_id,)).fetchone()[0]
                feed_id = db.execute("INSERT INTO feeds (name, url, created_at) VALUES (?, ?, ?)",
                                     (f"{source} {self.n}", f"https://feeds.example/{self.n}", at)).lastrowid
                db.execute(
                    "INSERT INTO articles (feed_id, guid, link, title, source, published_at, fetched_at, "
                    "updated_at, cluster_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (feed_id, f"g{self.n}", f"https://news.example/{self.n}", title, source, at, at, at,
                     cluster_id))
                db.execute("UPDATE clusters SET size = size + 1, source_count = source_count + 1, "
                           "last_seen = ?, updated_at = ? WHERE id = ?", (at, at, cluster_id))

        self.executor.call_sync(write)


class Harness:
    def __init__(self, fake: FakeBotAPI, config: Config, executor: DbExecutor, app: Application):
        self.fake = fake
        self.config = config
        self.executor = executor
        self.app = app
        self.world = World(executor)

    async def command(self, chat_id: int, text: str, n: int = 1, timeout: float = 5.0,
                      **kwargs: Any) -> list[Sent]:
        """Push a command and wait for ``n`` new messages to that chat; returns them."""
        before = len(self.fake.sent_to(chat_id))
        self.fake.push_command(chat_id, text, **kwargs)
        sent = await self.fake.wait_sent(before + n, chat_id=chat_id, timeout=timeout)
        return sent[before:]

    async def quiet(self, chat_id: int, text: str, wait: float = 0.15, **kwargs: Any) -> list[Sent]:
        """Push a command that may get no answer; wait until the update is consumed, then a little."""
        before = len(self.fake.sent_to(chat_id))
        update_id = self.fake.push_command(chat_id, text, **kwargs)
        await self.fake.wait_for(lambda: self.fake.confirmed_offset > update_id or
                                 len(self.fake.sent_to(chat_id)) > before, what="update consumed")
        await _sleep(wait)
        return self.fake.sent_to(chat_id)[before:]

    async def tap(self, chat_id: int, data: str, message_id: int, **kwargs: Any) -> dict[str, Any]:
        """Tap an inline button; returns the answerCallbackQuery parameters."""
        query_id = self.fake.push_callback(chat_id, data, message_id, **kwargs)

        def answered() -> dict[str, Any] | None:
            return next((a for a in self.fake.callback_answers
                         if str(a.get("callback_query_id")) == query_id), None)

        await self.fake.wait_for(lambda: answered() is not None, what="callback answer")
        answer = answered()
        assert answer is not None
        await _sleep(0.05)                       # the keyboard edit follows the answer
        return answer

    def db(self, fn: Any, *args: Any) -> Any:
        return self.executor.call_sync(fn, *args)

    def chat(self, chat_id: int) -> dict[str, Any] | None:
        return self.db(chat_store.get_chat, chat_id)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def fast_limiter() -> PacedRateLimiter:
    return PacedRateLimiter(overall_per_second=0, per_chat_interval=0.0, group_per_minute=0)


@asynccontextmanager
async def running_bot(tmp_path: Path, fake: FakeBotAPI, *, extra: str = "", telegram: str = "",
                      poll_feeds: bool = False, post_init: bool = True,
                      tags: str = TAGS_TOML,
                      rate_limiter: PacedRateLimiter | None = None) -> AsyncIterator[Harness]:
    """The application started as ``newsbot run`` would (post_init included), polling ``fake``.
    ``rate_limiter``: the pacing (default: none, see the module docstring)."""
    config = make_config(tmp_path, fake, extra, telegram, tags)
    executor = DbExecutor(config.storage.path)
    app = build_application(config, TOKEN, executor, rate_limiter=rate_limiter or fast_limiter(),
                            poll_feeds=poll_feeds)
    try:
        await app.initialize()
        if post_init:
            assert app.post_init is not None
            await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1, poll_interval=0, allowed_updates=ALLOWED_UPDATES)
        try:
            yield Harness(fake, config, executor, app)
        finally:
            await app.updater.stop()
            await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
            await app.shutdown()
    finally:
        executor.close()
