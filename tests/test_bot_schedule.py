"""Digest schedules: per chat, in the chat's time zone, rebuilt from SQLite, DST-correct."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlite_utils import Database

from bot.config.models import ChannelConfig, DigestConfig
from bot.pipeline.store import DbExecutor
from bot.pipeline.store import chats as chat_store
from bot.pipeline.store import deliveries as journal
from bot.pipeline.telegram import schedule
from bot.pipeline.telegram.app import build_application
from bot.pipeline.telegram.schedule import digest_job_ids, next_fire_times, schedule_chat
from tests.bot_harness import TOKEN, fast_limiter, make_config, running_bot
from tests.fakebotapi import FakeBotAPI, fake_bot_api

__all__ = ["fake_bot_api"]
PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(("start", "utc_hours"), [
    # Last Sunday of March 2026 is the 29th: 08:00 in Paris is 07:00 UTC before, 06:00 UTC after.
    (datetime(2026, 3, 26, 12, 0, tzinfo=UTC), [7, 7, 6, 6]),
    # Last Sunday of October 2026 is the 25th: back from 06:00 to 07:00 UTC.
    (datetime(2026, 10, 22, 12, 0, tzinfo=UTC), [6, 6, 7, 7]),
])
def test_daily_digest_stays_at_local_time_across_dst(tmp_path: Path, start: datetime,
                                                     utc_hours: list[int]) -> None:
    with FakeBotAPI() as fake:
        config = make_config(tmp_path, fake)
        executor = DbExecutor(config.storage.path)
        try:
            app = build_application(config, TOKEN, executor, rate_limiter=fast_limiter(), poll_feeds=False)
            assert app.job_queue is not None
            (job,) = schedule_chat(app.job_queue, 42, "Europe/Paris", ["08:00"])
            fires = next_fire_times(job, start, 4)
        finally:
            executor.close()
    assert [f.astimezone(PARIS).strftime("%H:%M") for f in fires] == ["08:00"] * 4
    assert [f.astimezone(UTC).hour for f in fires] == utc_hours
    days = [f.astimezone(PARIS).date() for f in fires]
    assert len(set(days)) == 4 and (days[-1] - days[0]).days == 3       # one per day, no day skipped
    assert days[2].weekday() == 6                                       # the switch Sunday itself


def _seed(db: Database) -> None:
    now = 1_790_000_000.0
    for chat_id, tz, times in ((1, "Europe/Paris", ["08:00", "19:00"]), (2, "Asia/Tokyo", ["07:15"]),
                               (3, "Europe/Paris", ["09:00"])):
        chat_store.upsert_chat(db, chat_id, type="private", title="t", language="fr", times=times,
                               timezone=tz, now=now)
    chat_store.set_state(db, 3, "paused")
    chat_store.upsert_chat(db, 4, type="private", title="t", language="fr", times=["10:00"],
                           timezone="Europe/Paris", now=now)
    chat_store.set_state(db, 4, "blocked", "403")


async def test_schedules_are_rebuilt_from_sqlite_at_start_up(tmp_path: Path,
                                                              fake_bot_api: FakeBotAPI) -> None:
    channel = 'chat = "@world_news"\ntags = ["ukraine"]\ntimes = ["07:30"]'
    config = make_config(tmp_path, fake_bot_api, telegram=f"\n[[telegram.channels]]\n{channel}\n")
    executor = DbExecutor(config.storage.path)
    executor.call_sync(_seed)
    executor.close()
    async with running_bot(tmp_path, fake_bot_api,
                           telegram=f"\n[[telegram.channels]]\n{channel}\n") as h:
        jq = h.app.job_queue
        assert jq is not None
        ids = digest_job_ids(jq)
        channel_row = h.db(chat_store.get_chat_by_address, "@world_news")
        assert channel_row is not None and channel_row["from_config"] == 1
        cid = channel_row["chat_id"]
        assert ids == sorted(["digest:1:08:00", "digest:1:19:00", "digest:2:07:15", f"digest:{cid}:07:30"])
        tokyo = jq.scheduler.get_job("digest:2:07:15")
        assert str(tokyo.trigger.timezone) == "Asia/Tokyo"
        assert tokyo.next_run_time.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M") == "07:15"
        assert h.db(chat_store.chat_tags, cid) == {"ukraine"}
        assert jq.scheduler.get_job(schedule.PRIORITY_JOB) is not None
        # A change from the chat re-creates its jobs only.
        await h.command(2, "/time 06:00 21:30")
        assert digest_job_ids(jq, 2) == ["digest:2:06:00", "digest:2:21:30"]
        assert digest_job_ids(jq, 1) == ["digest:1:08:00", "digest:1:19:00"]
        # A full resync (config reload) is idempotent.
        before = digest_job_ids(jq)
        await schedule.sync_schedules(h.app)
        assert digest_job_ids(jq) == before


async def test_scheduled_job_sends_the_digest(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        await h.command(42, "/start")
        h.world.story("Pyongyang : sommet annoncé", tags=("north-korea",), sources=("Le Monde", "AFP"))
        jq = h.app.job_queue
        assert jq is not None
        # Fire the chat's 08:00 job now, as APScheduler would at 08:00.
        aps = jq.scheduler.get_job("digest:42:08:00")
        aps.modify(next_run_time=datetime.now(UTC))
        (digest,) = (await fake_bot_api.wait_sent(2, chat_id=42))[-1:]
        assert "Pyongyang : sommet annoncé" in digest.plain
        assert aps.next_run_time.astimezone(PARIS).strftime("%H:%M") == "08:00"
        # A blocked chat loses its jobs after its next run.
        fake_bot_api.block(42)
        h.world.story("Kyiv : accord", tags=("ukraine",))
        jq.scheduler.get_job("digest:42:19:00").modify(next_run_time=datetime.now(UTC))
        await fake_bot_api.wait_for(lambda: h.chat(42)["state"] == "blocked", what="chat blocked")
        await fake_bot_api.wait_for(lambda: digest_job_ids(jq, 42) == [], what="jobs removed")


def _sync(executor: DbExecutor, channels: tuple[ChannelConfig, ...], now: float) -> None:
    digest = DigestConfig(times=("08:00",), timezone="Europe/Paris")
    executor.call_sync(lambda db: chat_store.sync_config_channels(db, channels, digest, now))


def test_channel_schedules_follow_the_config(tmp_path: Path) -> None:
    executor = DbExecutor(tmp_path / "c.db")
    try:
        a = ChannelConfig(chat=-100123, tags=("ukraine",), times=("07:30", "18:00"))
        b = ChannelConfig(chat=-100456)
        _sync(executor, (a, b), 1.0)
        assert executor.call_sync(schedule.load_schedules) == [
            (-100456, "Europe/Paris", ["08:00"]), (-100123, "Europe/Paris", ["07:30", "18:00"])]
        _sync(executor, (b,), 2.0)                       # a removed from the config: paused
        assert executor.call_sync(schedule.load_schedules) == [(-100456, "Europe/Paris", ["08:00"])]
    finally:
        executor.close()


def test_removing_the_last_channel_pauses_it(tmp_path: Path) -> None:
    executor = DbExecutor(tmp_path / "c.db")
    try:
        _sync(executor, (ChannelConfig(chat=-100123),), 1.0)
        _sync(executor, (), 2.0)
        assert executor.call_sync(schedule.load_schedules) == []
    finally:
        executor.close()


async def test_interrupted_digest_is_finished_at_start_up(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    config = make_config(tmp_path, fake_bot_api)
    executor = DbExecutor(config.storage.path)

    def crashed_mid_digest(db: Database) -> None:
        chat_store.upsert_chat(db, 42, type="private", title="t", language="fr", times=["08:00"],
                               timezone="Europe/Paris", now=1.0)
        run_id = journal.journal_run(db, 42, kind="digest", reason="scheduled", now=2.0,
                                     parts=["<b>part 1</b>", "<b>part 2</b>", "<b>part 3</b>"],
                                     cluster_ids=[], cursor_seq=0)
        journal.mark_part_sent(db, run_id, 0, 1, 3.0)          # the process died after part 1

    executor.call_sync(crashed_mid_digest)
    executor.close()
    async with running_bot(tmp_path, fake_bot_api):
        sent = await fake_bot_api.wait_sent(2, chat_id=42)
        assert [s.plain for s in sent] == ["part 2", "part 3"]             # no repeat, in order
        await asyncio.sleep(0.1)
        assert len(fake_bot_api.sent_to(42)) == 2


async def test_priority_alert_job_alerts_followers_once(tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api) as h:
        await h.command(42, "/start")                                # follows every tag
        await h.command(43, "/start")
        await h.command(43, "/mute north-korea")
        h.world.story("Pyongyang : essai nucléaire", tags=("north-korea",),     # after they subscribed
                      sources=("Le Monde", "Reuters", "AFP"), age=0)
        jq = h.app.job_queue
        assert jq is not None
        job = jq.scheduler.get_job(schedule.PRIORITY_JOB)
        job.modify(next_run_time=datetime.now(UTC))
        (alert,) = (await fake_bot_api.wait_sent(2, chat_id=42))[-1:]
        assert "Pyongyang : essai nucléaire" in alert.plain
        rerun = datetime.now(UTC)
        job.modify(next_run_time=rerun)
        await fake_bot_api.wait_for(lambda: (jq.scheduler.get_job(schedule.PRIORITY_JOB).next_run_time
                                             - rerun).total_seconds() > 30, what="second run")
        await asyncio.sleep(0.2)
        assert len(fake_bot_api.sent_to(42)) == 2                    # once per story per chat
        assert len(fake_bot_api.sent_to(43)) == 2                    # welcome + mute answer only
