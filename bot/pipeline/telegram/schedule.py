"""Digest jobs: one daily job per active chat and time, at that local time in the chat's timezone.

Schedules live in SQLite (``chat_times``, ``chats.timezone``); the jobs in PTB's JobQueue
(APScheduler) are only a projection of them, rebuilt at start-up (:func:`sync_schedules`) and
for one chat whenever its times, timezone or state change (:func:`reschedule_chat`). Each job
is ``run_daily`` with a ``datetime.time`` carrying the chat's ``ZoneInfo``: APScheduler's cron
trigger then fires at 08:00 local time on both sides of a daylight-saving change.

Also here: the priority-alert job (every minute) and the one-off resume of interrupted
deliveries at start-up.
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database
from telegram.ext import Application, ContextTypes, Job, JobQueue

from bot.pipeline.store import chats as chat_store
from bot.pipeline.telegram import delivery
from bot.pipeline.telegram.state import get_services

log = logging.getLogger(__name__)

DIGEST_PREFIX = "digest:"
PRIORITY_JOB = "priority-alerts"
RESUME_JOB = "resume-pending"
PRIORITY_INTERVAL = 60.0
# A digest job may start late (busy loop, thousands of chats due on the same minute): it still
# runs if it is less than this late, once (coalesced).
DIGEST_JOB_KWARGS: dict[str, Any] = {"misfire_grace_time": 900, "coalesce": True, "max_instances": 1}

ScheduleRow = tuple[int, str, list[str]]      # (chat_id, timezone, ["HH:MM", ...])


def job_name(chat_id: int, hhmm: str) -> str:
    return f"{DIGEST_PREFIX}{chat_id}:{hhmm}"


def local_time(hhmm: str, timezone: str) -> time:
    """"08:00" in "Europe/Paris" → a tz-aware time for ``run_daily``."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    return time(hour, minute, tzinfo=ZoneInfo(timezone))


def next_fire_times(job: Job, start: datetime, n: int) -> list[datetime]:
    """The next ``n`` times ``job`` fires after ``start`` (tz-aware), from its APScheduler trigger."""
    trigger = job.job.trigger
    out: list[datetime] = []
    previous = None
    now = start
    for _ in range(n):
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None:
            break
        out.append(fire)
        previous, now = fire, fire
    return out


# -- reading schedules (DB thread) ---------------------------------------------------------------


def load_schedules(db: Database, chat_id: int | None = None) -> list[ScheduleRow]:
    """Active chats (or just ``chat_id`` if active) with their timezone and times."""
    if chat_id is None:
        chats = chat_store.list_chats(db, "active")
    else:
        row = chat_store.get_chat(db, chat_id)
        chats = [row] if row is not None and row["state"] == "active" else []
    return [(int(c["chat_id"]), c["timezone"], chat_store.chat_times(db, int(c["chat_id"]))) for c in chats]


# -- jobs ----------------------------------------------------------------------------------------


def _valid_zone(timezone: str) -> str:
    try:
        ZoneInfo(timezone)
    except (ValueError, KeyError, OSError):
        log.warning("unknown time zone %r in the database: using UTC", timezone)
        return "UTC"
    return timezone


def _digest_aps_jobs(job_queue: JobQueue) -> list[Any]:
    """Our digest jobs, read from APScheduler itself.

    ``JobQueue.jobs()`` cannot be used: the feed poller adds plain APScheduler jobs to the same
    scheduler and PTB fails to wrap those.
    """
    return [job for job in job_queue.scheduler.get_jobs() if (job.id or "").startswith(DIGEST_PREFIX)]


def _chat_of(job_id: str) -> int:
    return int(job_id[len(DIGEST_PREFIX):].rsplit(":", 2)[0])


def digest_job_ids(job_queue: JobQueue, chat_id: int | None = None) -> list[str]:
    """Ids (``digest:<chat>:<HH:MM>``) of the scheduled digest jobs, of one chat or all."""
    ids = [job.id for job in _digest_aps_jobs(job_queue)]
    return sorted(i for i in ids if chat_id is None or _chat_of(i) == chat_id)


def unschedule_chat(job_queue: JobQueue, chat_id: int) -> int:
    removed = 0
    for job in _digest_aps_jobs(job_queue):
        if _chat_of(job.id) == chat_id:
            job.remove()
            removed += 1
    return removed


def _add_jobs(job_queue: JobQueue, chat_id: int, timezone: str, times: list[str]) -> list[Job]:
    zone = _valid_zone(timezone)
    return [
        job_queue.run_daily(
            digest_job, local_time(hhmm, zone), name=job_name(chat_id, hhmm), chat_id=chat_id,
            job_kwargs={**DIGEST_JOB_KWARGS, "id": job_name(chat_id, hhmm), "replace_existing": True},
        )
        for hhmm in sorted(set(times))
    ]


def schedule_chat(job_queue: JobQueue, chat_id: int, timezone: str, times: list[str]) -> list[Job]:
    """Replace the chat's digest jobs with one daily job per time (local to ``timezone``)."""
    unschedule_chat(job_queue, chat_id)
    return _add_jobs(job_queue, chat_id, timezone, times)


def _apply(job_queue: JobQueue, rows: list[ScheduleRow], *, only: set[int] | None = None) -> int:
    """Make the digest jobs of the chats in scope (all, or ``only``) match ``rows``.

    Only differences are applied: a resync of thousands of unchanged chats (config reload)
    touches no job and does not stall the event loop.
    """
    wanted = {job_name(chat_id, hhmm): (chat_id, hhmm, _valid_zone(tz))
              for chat_id, tz, times in rows for hhmm in set(times)}
    existing = {job.id: job for job in _digest_aps_jobs(job_queue)
                if only is None or _chat_of(job.id) in only}
    for job_id, job in existing.items():
        if job_id not in wanted or str(getattr(job.trigger, "timezone", "")) != wanted[job_id][2]:
            job.remove()
    for job_id, (chat_id, hhmm, tz) in wanted.items():
        job = existing.get(job_id)
        if job is None or str(getattr(job.trigger, "timezone", "")) != tz:
            _add_jobs(job_queue, chat_id, tz, [hhmm])
    return len(wanted)


async def sync_schedules(application: Application) -> int:
    """Rebuild every digest job from SQLite (start-up, config reload). Returns the job count."""
    services = get_services(application.bot_data)
    rows = await services.executor.call(load_schedules)
    count = _apply(application.job_queue, rows)
    log.info("scheduled %d digest job(s) for %d chat(s)", count, len(rows))
    return count


async def reschedule_chat(application: Application, *chat_ids: int) -> None:
    """Re-read the schedules of ``chat_ids`` (times, timezone or state changed; chat migrated)."""
    services = get_services(application.bot_data)
    for chat_id in chat_ids:
        rows = await services.executor.call(load_schedules, chat_id)
        _apply(application.job_queue, rows, only={chat_id})


async def sync_config_channels(application: Application) -> None:
    """Make the [[telegram.channels]] of the config subscribers (their settings follow the config)."""
    services = get_services(application.bot_data)
    config = services.config
    await services.executor.call(
        lambda db: chat_store.sync_config_channels(
            db, config.telegram.channels, config.digest, services.clock(), language=config.telegram.language,
        )
    )


async def digest_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """A chat's scheduled digest."""
    job = context.job
    assert job is not None and job.chat_id is not None
    services = get_services(context.application.bot_data)
    chat_id = int(job.chat_id)
    async with services.digest_slots:
        outcome = await delivery.deliver_digest(
            context.bot, services.executor, services.config, chat_id, reason="scheduled",
        )
    log.info("scheduled digest for chat %s: %s, %d part(s), %d stor%s", chat_id, outcome.status,
             outcome.parts_sent, outcome.stories, "y" if outcome.stories == 1 else "ies")
    if outcome.chat_id != chat_id or outcome.status in ("blocked", "skipped"):
        # Migrated to a new id, blocked, or gone: the jobs follow the database.
        await reschedule_chat(context.application, chat_id, outcome.chat_id)


async def priority_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    services = get_services(context.application.bot_data)
    sent = await delivery.send_priority_alerts(context.bot, services.executor, services.config)
    if sent:
        log.info("sent %d priority alert message(s)", sent)


async def resume_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    services = get_services(context.application.bot_data)
    sent = await delivery.resume_pending(context.bot, services.executor, services.config)
    if sent:
        log.info("resumed interrupted deliveries: %d part(s) sent", sent)
        await sync_schedules(context.application)     # some chats may have migrated meanwhile


def start_background_jobs(job_queue: JobQueue, *, priority_interval: float = PRIORITY_INTERVAL) -> None:
    """The priority-alert job (every minute) and the one-off resume of interrupted digests."""
    job_queue.run_once(resume_job, 0.0, name=RESUME_JOB,
                       job_kwargs={"id": RESUME_JOB, "replace_existing": True, "misfire_grace_time": 3600})
    job_queue.run_repeating(
        priority_job, priority_interval, first=min(10.0, priority_interval), name=PRIORITY_JOB,
        job_kwargs={"id": PRIORITY_JOB, "replace_existing": True, "misfire_grace_time": 120,
                    "coalesce": True, "max_instances": 1},
    )
