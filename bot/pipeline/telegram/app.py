"""Build and run the Telegram application (``newsbot run``): bot, digests and feed polling together.

``build_application`` wires python-telegram-bot to our parts: the configured Bot API base URL,
the delivery rate limiter, the handlers, and a ``post_init`` that registers the command menus
(French and English; a failure is logged and the bot runs on), makes the configured channels
subscribers, re-creates every digest job from SQLite, schedules priority alerts and the resume of
interrupted digests, and starts the feed poller on the same APScheduler as the job queue.

``post_init`` runs only under ``run_polling()``: code driving ``initialize()``/``start()`` by hand
(tests) must call ``await application.post_init(application)`` itself.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter, ContextTypes

from bot.config import Config, keep_start_settings, read_token
from bot.errors import NewsbotError
from bot.observe.health import Health
from bot.observe.server import start_metrics
from bot.pipeline.store.db import DbExecutor
from bot.pipeline.telegram import delivery, handlers, schedule
from bot.pipeline.telegram.health import ObservedRequest
from bot.pipeline.telegram.logs import install_redaction, redact
from bot.pipeline.telegram.state import SERVICES_KEY, Services, get_services
from bot.pipeline.telegram.texts import LANGUAGES, command_menu

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
POLL_TIMEOUT = 10                 # seconds of one getUpdates long poll (stop waits at most this)
WATCHDOG_INTERVAL = 2.0           # seconds between checks that polling is still alive
FATAL_KEY = "fatal"


def build_application(
    config: Config,
    token: str,
    executor: DbExecutor,
    *,
    rate_limiter: BaseRateLimiter | None = None,
    poll_feeds: bool = True,
    clock: Callable[[], float] = time.time,
) -> Application:
    """The configured Application (not started). ``rate_limiter``/``poll_feeds``/``clock`` are for tests."""
    install_redaction(token)
    services = Services(config=config, executor=executor, clock=clock)
    health = services.telegram_health
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(config.telegram.api_base_url)
        # PTB's own request objects (its default pool sizes), each outcome fed to ``health``.
        .request(ObservedRequest(health, connection_pool_size=256))
        .get_updates_request(ObservedRequest(health, connection_pool_size=1))
        .rate_limiter(rate_limiter if rate_limiter is not None else delivery.make_rate_limiter())
        .concurrent_updates(32)               # one slow /digest must not hold everybody's commands
        .post_init(post_init)
        .post_stop(post_stop)
        .build()
    )
    application.bot_data[SERVICES_KEY] = services
    application.bot_data["poll_feeds"] = poll_feeds
    handlers.register(application)
    return application


async def register_commands(application: Application) -> bool:
    """setMyCommands for French, English, the default language and the bot admins' chats.

    Failures are logged, never raised: the bot works without menus.
    """
    config = get_services(application.bot_data).config
    bot = application.bot
    ok = True
    menus: list[tuple[str | None, Any, list[tuple[str, str]]]] = [
        (language, None, command_menu(language)) for language in LANGUAGES
    ]
    menus.append((None, None, command_menu(config.telegram.language)))
    for admin in config.telegram.admins:
        menus.append((None, BotCommandScopeChat(admin), command_menu(config.telegram.language, admin=True)))
    for language, scope, menu in menus:
        try:
            await bot.set_my_commands([BotCommand(c, d) for c, d in menu], scope=scope,
                                      language_code=language)
        except TelegramError as exc:
            ok = False
            log.warning("could not register the command menu (%s%s): %s", language or "default",
                        " admin" if scope else "", exc)
    return ok


def start_feed_poller(application: Application, scheduler: AsyncIOScheduler | None = None) -> None:
    """Start the lead's FeedScheduler (on ``scheduler``, default the job queue's APScheduler);
    /reload calls its reload_now. Once: ``newsbot run`` starts it before Telegram answers."""
    services = get_services(application.bot_data)
    if services.feed_scheduler is not None:
        return
    try:
        from bot.pipeline.schedule.scheduler import FeedScheduler
    except ImportError as exc:                    # pragma: no cover - while the poller is being built
        log.warning("feed polling is not available: %s", exc)
        return
    if scheduler is None:
        assert application.job_queue is not None
        scheduler = application.job_queue.scheduler
    feeds = FeedScheduler(services.config, services.executor, scheduler)
    feeds.start()
    services.feed_scheduler = feeds
    reload_now = getattr(feeds, "reload_now", None)
    if reload_now is not None:
        services.reload = reload_now
        application.bot_data["reload"] = reload_now
    listeners = getattr(feeds, "listeners", None)
    if isinstance(listeners, list):
        listeners.append(lambda config: on_reload(application, config))


def on_reload(application: Application, config: Config) -> None:
    """The poller reloaded the config. Before Telegram answers, only remember it (post_init
    syncs channels and schedules from it); after, apply it at once."""
    services = get_services(application.bot_data)
    if application.running:
        application.create_task(apply_config(application, config))
    else:
        services.config, _ = keep_start_settings(services.config, config)


async def apply_config(application: Application, config: Config) -> None:
    """A reloaded config: new tags, channels, digest defaults and admins apply at once."""
    services = get_services(application.bot_data)
    old = services.config
    # The poller's reload already kept (and named) the settings that need a restart.
    services.config, _ = keep_start_settings(old, config)
    await schedule.sync_config_channels(application)
    await schedule.sync_schedules(application)
    if old.telegram.admins != config.telegram.admins or old.telegram.language != config.telegram.language:
        await register_commands(application)


def polling_failure(application: Application) -> BaseException | None:
    """The error that ended the updater's polling loop, or None while it runs.

    PTB's retry loop gives up for good on InvalidToken (a 401 to getUpdates: the token was
    revoked) and leaves ``updater.running`` True: the process would live on deaf, its digests
    all failing. There is no public hook for this, hence the look at the polling task.
    """
    task = getattr(application.updater, "_Updater__polling_task", None)
    if not isinstance(task, asyncio.Task) or not task.done() or task.cancelled():
        return None
    return task.exception()


async def watch_polling(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop ``newsbot run`` (exit 1, one line) when polling died, instead of running deaf."""
    error = polling_failure(context.application)
    if error is None or FATAL_KEY in context.application.bot_data:
        return
    context.application.bot_data[FATAL_KEY] = error
    log.critical("polling Telegram stopped for good (%s): stopping newsbot", error)
    context.application.stop_running()


async def post_init(application: Application) -> None:
    await register_commands(application)
    await schedule.sync_config_channels(application)
    await schedule.sync_schedules(application)
    assert application.job_queue is not None
    schedule.start_background_jobs(application.job_queue)
    if application.bot_data.get("watch_polling"):
        application.job_queue.run_repeating(watch_polling, WATCHDOG_INTERVAL, name="polling-watchdog")
    if application.bot_data.get("poll_feeds", True):
        start_feed_poller(application)
    log.warning("newsbot is running as @%s; Ctrl-C to stop", application.bot.username)


async def post_stop(application: Application) -> None:
    services = get_services(application.bot_data)
    feeds = services.feed_scheduler
    if feeds is not None:
        await feeds.shutdown()
        services.feed_scheduler = None


def health_checks(application: Application, health: Health) -> None:
    """/healthz of ``newsbot run``: the Telegram side polls, and the feed poller is healthy."""

    def telegram_problem(now: float) -> str | None:
        error = application.bot_data.get(FATAL_KEY) or polling_failure(application)
        if error is not None:
            return redact(f"polling Telegram stopped: {error}")
        telegram = get_services(application.bot_data).telegram_health
        if not telegram.reachable:
            return redact(f"the Telegram Bot API is unreachable ({telegram.last_error})")
        if not application.running:
            return "the bot is not running (starting or stopping)"
        return None

    def poller_problem(now: float) -> str | None:
        feeds = get_services(application.bot_data).feed_scheduler
        return "the feed poller has not started" if feeds is None else feeds.health_problem(now)

    health.add("telegram", telegram_problem)
    health.add("poller", poller_problem)


def _stderr(line: str) -> None:
    print(redact(line), file=sys.stderr)


def run_bot(config: Config) -> int:
    """``newsbot run``: poll feeds, send digests and answer commands until SIGINT/SIGTERM.

    Feeds are polled from the start, on their own scheduler: an unreachable Bot API is one log
    line (see :mod:`bot.pipeline.telegram.health`) and retried with backoff, never the end of the run.
    """
    token = read_token(config.telegram, config.path.resolve().parent)   # a one-line error if absent
    where = config.telegram.token_file or config.telegram.token_env
    root = logging.getLogger()
    if root.level > logging.INFO:
        logging.getLogger("bot").setLevel(logging.INFO)
    executor = DbExecutor(config.storage.path)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)               # run_polling runs on this loop, feeds too
    poller = AsyncIOScheduler(event_loop=loop, timezone=UTC)
    application: Application | None = None
    metrics = None
    try:
        application = build_application(config, token, executor)
        application.bot_data["watch_polling"] = True
        health = Health()
        health_checks(application, health)
        metrics = start_metrics(config, health)
        loop.run_until_complete(_start_feeds(application, poller))
        application.run_polling(
            timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES, bootstrap_retries=-1,
            stop_signals=(signal.SIGINT, signal.SIGTERM), close_loop=False,
        )
        fatal = application.bot_data.get(FATAL_KEY)
        if fatal is not None:
            raise fatal
    except InvalidToken:
        _stderr(f"newsbot: Telegram refused the bot token in {where} (check it with @BotFather)")
        return 1
    except NetworkError as exc:
        _stderr(f"newsbot: cannot reach the Telegram Bot API at {config.telegram.api_base_url}: {exc}")
        return 1
    except NewsbotError:
        raise                                     # the CLI prints these as one line
    except Exception:
        # Through logging, so the traceback is redacted like every other record.
        log.critical("newsbot stopped on an unexpected error", exc_info=True)
        return 1
    finally:
        if application is not None:            # stopped before Telegram ever answered
            loop.run_until_complete(post_stop(application))
        if poller.running:
            poller.shutdown(wait=False)
        loop.close()
        if metrics is not None:
            metrics.stop()
        executor.close()
    return 0


async def _start_feeds(application: Application, poller: AsyncIOScheduler) -> None:
    poller.start()
    if application.bot_data.get("poll_feeds", True):
        start_feed_poller(application, poller)
