"""Telegram fan-out: N subscribers each due a digest, the fake Bot API enforcing 30 messages/s.

Every chat gets one digest (one message) through the real path: deliver_digest plans, renders
and journals it in SQLite, python-telegram-bot sends it over real HTTP to the fake Bot API
server (tests/fakebotapi.py) in rate_limit mode, which answers 429 past 30 messages in any one
second (and past 1/s for one chat).

Reported, for newsbot's limiter (bot.pipeline.telegram.delivery.make_rate_limiter) and, as a baseline in
the same run, for python-telegram-bot's stock AIORateLimiter():
  messages/s   messages accepted by the server / wall time of the fan-out   (target ≥ 28)
  429s         Too Many Requests answered by the server                      (target 0)
  digests      chats that received exactly one digest / chats                (target all)

Run: .venv/bin/python bench/fanout.py [--chats 5000] [--baseline-chats 1000] [--concurrency 200]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlite_utils import Database  # noqa: E402
from telegram.ext import AIORateLimiter, BaseRateLimiter, ExtBot  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bot.config.models import Config, DigestConfig  # noqa: E402
from bot.pipeline.store import DbExecutor  # noqa: E402
from bot.pipeline.store import chats as chat_store  # noqa: E402
from bot.pipeline.telegram.delivery import DeliveryPolicy, deliver_digest, make_rate_limiter  # noqa: E402
from tests.fakebotapi import FakeBotAPI  # noqa: E402

TOKEN = "123456:BENCH-fanout"
CHAT_BASE = 10_000_000


def seed(db: Database, chats: int, stories: int, now: float) -> None:
    """``chats`` private subscribers (all tags) and ``stories`` fresh clusters of 3 sources."""
    with db.atomic():
        feed = int(db.execute(
            "INSERT INTO feeds (name, url, created_at) VALUES ('bench', 'https://bench.example/rss', ?)",
            (now,),
        ).lastrowid)
        for s in range(stories):
            at = now - 60 * (s + 1)
            cluster = int(db.execute(
                "INSERT INTO clusters (title, first_seen, last_seen, size, source_count, updated_at) "
                "VALUES (?, ?, ?, 3, 3, ?)", (f"Bench story {s}: talks & <sanctions>", at, at, at),
            ).lastrowid)
            first = None
            for i, source in enumerate(("Le Monde", "Reuters", "AFP")):
                aid = int(db.execute(
                    "INSERT INTO articles (feed_id, guid, link, title, source, published_at, fetched_at, "
                    "updated_at, cluster_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (feed, f"s{s}-{i}", f"https://news.example/{s}/{i}", f"Bench story {s}", source,
                     at, at, at, cluster),
                ).lastrowid)
                first = first or aid
            db.execute("UPDATE clusters SET representative_id = ? WHERE id = ?", (first, cluster))
        for c in range(chats):
            chat_store.upsert_chat(db, CHAT_BASE + c, type="private", title="", language="fr",
                                   times=["08:00"], timezone="Europe/Paris", now=now)


async def fan_out(base_url: str, executor: DbExecutor, chat_ids: list[int], limiter: BaseRateLimiter,
                  concurrency: int, now: float) -> tuple[float, Counter[str]]:
    request = HTTPXRequest(connection_pool_size=concurrency, pool_timeout=30.0)
    config = Config(path=Path("bench.toml"), digest=DigestConfig(max_stories=5))
    policy = DeliveryPolicy(max_rate_limited=1000)
    gate = asyncio.Semaphore(concurrency)
    statuses: Counter[str] = Counter()

    async with ExtBot(TOKEN, base_url=base_url, rate_limiter=limiter, request=request) as bot:
        async def one(chat_id: int) -> None:
            async with gate:
                outcome = await deliver_digest(bot, executor, config, chat_id, now=now, policy=policy)
                statuses[outcome.status] += 1

        start = time.perf_counter()
        await asyncio.gather(*(one(c) for c in chat_ids))
        elapsed = time.perf_counter() - start
    return elapsed, statuses


def run_one(
    label: str, chats: int, limiter: BaseRateLimiter, concurrency: int, stories: int
) -> dict[str, float]:
    now = time.time()
    with tempfile.TemporaryDirectory() as tmp, FakeBotAPI() as fake:
        executor = DbExecutor(Path(tmp) / "bench.db")
        try:
            executor.call_sync(seed, chats, stories, now)
            fake.rate_limit(per_second=30, per_chat=1)
            ids = [CHAT_BASE + c for c in range(chats)]
            elapsed, statuses = asyncio.run(fan_out(fake.base_url, executor, ids, limiter, concurrency, now))
        finally:
            executor.close()
        per_chat = Counter(s.chat_id for s in fake.sent)
        exactly_once = sum(1 for c in ids if per_chat.get(c) == 1)
        sent = len(fake.sent)
        row = {"chats": chats, "sent": sent, "seconds": elapsed, "rate": sent / elapsed,
               "429": fake.too_many, "once": exactly_once}
        print(f"{label:<22} chats={chats:>5}  sent={sent:>5}  {elapsed:7.1f} s  "
              f"{row['rate']:6.2f} msg/s  429s={fake.too_many:>4}  exactly-once={exactly_once}/{chats}  "
              f"outcomes={dict(statuses)}", flush=True)
        return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chats", type=int, default=5000, help="subscribers due a digest (default 5000)")
    parser.add_argument("--baseline-chats", type=int, default=1000,
                        help="chats for the AIORateLimiter baseline (0 skips it; default 1000)")
    parser.add_argument("--concurrency", type=int, default=200, help="deliveries in flight (default 200)")
    parser.add_argument("--stories", type=int, default=3, help="stories in each digest (default 3)")
    args = parser.parse_args()
    # The stock limiter logs every 429 it re-raises with a traceback; the server counts them anyway.
    logging.getLogger("telegram").setLevel(logging.CRITICAL)

    ours = run_one("newsbot PacedRateLimiter", args.chats, make_rate_limiter(), args.concurrency,
                   args.stories)
    if args.baseline_chats > 0:
        base = run_one("PTB AIORateLimiter()", args.baseline_chats, AIORateLimiter(), args.concurrency,
                       args.stories)
        print(f"ratio newsbot/baseline msg/s: {ours['rate'] / base['rate']:.2f}; "
              f"429s {ours['429']} vs {base['429']}")
    ok = ours["rate"] >= 28 and ours["429"] == 0 and ours["once"] == ours["chats"]
    print("targets (≥ 28 msg/s, 0 × 429, one digest per chat):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
