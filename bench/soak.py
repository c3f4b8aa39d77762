"""Soak: the whole bot (polling, dedup, tagging, digests, alerts, commands) for a long while,
with intervals shortened and faults injected, watching for leaks and stuck jobs.

In this process: the Application ``newsbot run`` builds (bot.pipeline.telegram.app.build_application,
post_init included: command menus, schedules, resume, priority alerts, the FeedScheduler), with
feed intervals shortened to ``--feed-interval`` seconds and every chat given a digest time
every minute, so 30 minutes of real time are ~150 hours of polling at the default 15 min
interval and ~15 days of twice-daily digests. In other processes (bench/_harness.py, so their
memory and threads are not counted): a feed server whose feeds keep gaining entries (a sliding
window of 30) and answer a share of requests with faults (500/503, 429 + Retry-After, 2-6 s
delays, resets, HTML, truncated XML), and the fake Bot API arming 429 bursts (retry_after
1-3 s), 500/502 and dropped connections on sendMessage, with chats typing commands.

Every ``--sample`` seconds: resident memory (VmRSS), open file descriptors (/proc/self/fd),
threads, APScheduler jobs (overdue = next_run_time further in the past than its grace), warnings
logged (max_instances skips, misfires), digest runs and messages so far. Verdict after warm-up
(the first 20 % of samples): RSS flat (median of the last third within 5 % or 3 MB of the first
third's), fds and threads not growing (last third's max ≤ first third's max + 2), no job
overdue, skip warnings not piling up; and every journaled digest part delivered exactly once.

Run: .venv/bin/python bench/soak.py [--minutes 30] [--sample 30] [--feeds 40] [--chats 6]
         [--grow-every 20] [--prefill 0] [--tracemalloc]
Long run: nohup .venv/bin/python bench/soak.py --minutes 30 --grow-every 5 > /tmp/soak.log 2>&1 &
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import linecache
import logging
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import (  # noqa: E402
    ask,
    compare_deliveries,
    entry_title,
    integrity_ok,
    proc_status,
    start_server,
    stop_server,
)
from bot.config import Config, load_config  # noqa: E402
from bot.models import Article  # noqa: E402
from bot.pipeline.dedup import decide_pending  # noqa: E402
from bot.pipeline.parse.prepare import worker_pids  # noqa: E402
from bot.pipeline.store import DbExecutor  # noqa: E402
from bot.pipeline.store import chats as chat_store  # noqa: E402
from bot.pipeline.store import feeds as feed_store  # noqa: E402
from bot.pipeline.store.articles import save_articles  # noqa: E402
from bot.pipeline.telegram.app import ALLOWED_UPDATES, build_application  # noqa: E402

TOKEN = "5151515151:SOAKtokenSOAKtokenSOAKtoken_0123456"
CHAT_BASE = 700_000


class LogCounter(logging.Handler):
    """Counts warnings and errors by kind (the first words of the message template)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        msg = str(record.msg)
        if "maximum number of running instances" in msg:
            kind = "max_instances skip"
        elif "was missed by" in msg:
            kind = "misfire"
        else:
            kind = f"{record.levelname} {record.name}: {' '.join(msg.split()[:4])}"
        self.counts[kind] += 1


def write_config(path: Path, work: Path, feed_port: int, bot_port: int, feeds: int, chats: int) -> None:
    lines = [
        f'[storage]\npath = "{work / "soak.db"}"\n',
        '[polling]\ninterval = "10s"\njitter = "0s"\ntimeout = "8s"\nconnect_timeout = "2s"\n'
        'max_backoff = "60s"\n',
        f'[telegram]\ntoken_env = "NEWSBOT_SOAK_TOKEN"\napi_base_url = "http://127.0.0.1:{bot_port}/bot"\n'
        f'admins = [{CHAT_BASE}]\nlanguage = "fr"\n',
        '[digest]\ntimes = ["08:00"]\ntimezone = "UTC"\nmax_stories = 25\nempty = "say"\n'
        'priority_min_sources = 1\n',
        '[tags.sanctions]\nlabel = { fr = "Sanctions", en = "Sanctions" }\nkeywords = ["sanctions"]\n'
        'priority = true\n',
        '[tags.energy]\nlabel = { fr = "Énergie", en = "Energy" }\nkeywords = ["pipeline", "uranium", '
        '"reactor"]\n',
    ]
    for i in range(feeds):
        lines.append(f'[[feeds]]\nname = "feed{i}"\nurl = "http://127.0.0.1:{feed_port}/feed/{i}.xml"\n')
    path.write_text("\n".join(lines), encoding="utf-8")


def shorten(config: Config, feed_interval: float) -> Config:
    """Feed intervals below the config's 10 s floor (the file stays valid)."""
    feeds = tuple(replace(f, interval=feed_interval) for f in config.feeds)
    return replace(config, feeds=feeds, polling=replace(config.polling, interval=feed_interval))


def prefill(executor: DbExecutor, config: Config, count: int) -> float:
    """History decided in this process before the measurement: ``count`` articles of the last
    hours, stored and put through dedup, as a bot that has run for a day has. Dedup keeps
    bounded caches of recent articles (4,096 documents, 4,096 titles per text function); without
    a history they fill during the first ~10,000 articles, so RSS climbs for the first part of
    any run and "flat after warm-up" could not be judged within 30 minutes. Returns seconds."""
    started = time.monotonic()

    def fill(db: Any) -> None:
        now = time.time()
        feed_id = feed_store.sync_feeds(db, config.feeds, now)[config.feeds[0].name]
        articles = []
        for i in range(count):
            title = entry_title(10_000 + i % 113, i, 10)
            articles.append(Article(
                guid=f"history-{i}", link=f"https://history.example/{i}",
                canonical_url=f"https://history.example/{i}", title=title, source="History",
                published_at=now - 6 * 3600 + i * (6 * 3600 / max(1, count)), fetched_at=now,
                summary=f"Story {i}: {entry_title(20_000 + i % 89, i + 7)}.", language="en",
            ))
        with db.atomic():
            save_articles(db, feed_id, articles, now)
        while decide_pending(db, now, 256):
            pass

    executor.call_sync(fill)
    return time.monotonic() - started


def seed_chats(executor: DbExecutor, chats: int, minutes: float) -> list[int]:
    """Chats with a digest time every minute of the run (UTC); two follow 'sanctions' only."""
    start = datetime.now(UTC) + timedelta(minutes=1)
    times = sorted({(start + timedelta(minutes=m)).strftime("%H:%M") for m in range(int(minutes) + 2)})
    ids = [CHAT_BASE + i for i in range(chats)]

    def write(db: Any) -> None:
        for i, chat_id in enumerate(ids):
            chat_store.upsert_chat(db, chat_id, type="private", title=f"soak {i}",
                                   language="fr" if i % 2 else "en", times=times, timezone="UTC",
                                   now=time.time())
            if i in (1, 2):
                chat_store.set_chat_tags(db, chat_id, ["sanctions"])

    executor.call_sync(write)
    return ids


def job_report(scheduler: Any, now: datetime) -> dict[str, Any]:
    """Job counts by kind and those overdue (not run although due longer ago than their grace)."""
    kinds: Counter[str] = Counter()
    overdue: list[str] = []
    for job in scheduler.get_jobs():
        kind = job.id.split(":", 1)[0] if ":" in job.id else job.id
        kinds[kind] += 1
        nxt = job.next_run_time
        if nxt is None:
            continue                                      # paused
        interval = getattr(getattr(job.trigger, "interval", None), "total_seconds", lambda: 60.0)()
        grace = max(60.0, 3 * interval)
        if (now - nxt).total_seconds() > grace:
            overdue.append(f"{job.id} due {nxt:%H:%M:%S}")
    return {"kinds": dict(kinds), "overdue": overdue}


def db_figures(executor: DbExecutor) -> dict[str, int]:
    def read(db: Any) -> dict[str, int]:
        one = lambda sql: int(db.execute(sql).fetchone()[0] or 0)  # noqa: E731
        return {
            "articles": one("SELECT COUNT(*) FROM articles"),
            "clusters": one("SELECT COUNT(*) FROM clusters"),
            "runs": one("SELECT COUNT(*) FROM digest_runs"),
            "pending_runs": one("SELECT COUNT(*) FROM digest_runs WHERE status = 'pending'"),
            "feed_errors": one("SELECT COUNT(*) FROM feeds WHERE error_count > 0"),
            "undecided": one("SELECT COUNT(*) FROM articles WHERE cluster_id IS NULL"),
        }

    return executor.call_sync(read)


async def soak(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    sent_log = work / "sent.jsonl"
    feed_proc, feed_port = start_server(
        "feeds", work, "--feeds", str(args.feeds), "--grow", "1", "--grow-every", str(args.grow_every),
        "--window", "30", "--faults", str(args.feed_faults), "--title-words", "10",
    )
    chat_ids = [CHAT_BASE + i for i in range(args.chats)]
    bot_proc, bot_port = start_server(
        "botapi", work, "--log", str(sent_log), "--faults", str(args.telegram_faults),
        "--commands", ",".join(map(str, chat_ids[:3])),
    )
    config_path = work / "soak.toml"
    write_config(config_path, work, feed_port, bot_port, args.feeds, args.chats)
    config = shorten(load_config(config_path), args.feed_interval)
    executor = DbExecutor(config.storage.path)
    if args.prefill:
        spent = prefill(executor, config, args.prefill)
        print(f"history: {args.prefill} articles stored and decided in {spent:.0f} s", flush=True)
    seed_chats(executor, args.chats, args.minutes)
    counter = LogCounter()
    logging.getLogger().addHandler(counter)
    app = build_application(config, TOKEN, executor)
    samples: list[dict[str, Any]] = []
    warm_snapshot: tracemalloc.Snapshot | None = None
    growth: list[str] = []
    started = time.monotonic()
    try:
        await app.initialize()
        await app.post_init(app)
        await app.start()
        assert app.updater is not None and app.job_queue is not None
        await app.updater.start_polling(timeout=10, allowed_updates=ALLOWED_UPDATES)
        scheduler = app.job_queue.scheduler
        end = started + args.minutes * 60
        print(f"{'min':>5} {'rss MB':>7} {'wrk MB':>7} {'fds':>4} {'thr':>4} {'jobs':>5} {'overdue':>7} "
              f"{'skips':>5} {'misfire':>7} {'articles':>8} {'undec':>5} {'runs':>5} {'sent':>6} {'lru':>6}",
              flush=True)
        while True:
            await asyncio.sleep(max(0.0, min(args.sample, end - time.monotonic())))
            sample = await asyncio.to_thread(take_sample, scheduler, executor, counter, sent_log, started)
            samples.append(sample)
            print(f"{sample['minute']:5.1f} {sample['rss_kb'] / 1024:7.1f} "
                  f"{sample['workers_rss_kb'] / 1024:7.1f} {sample['fds']:4d} "
                  f"{sample['threads']:4d} {sample['jobs']:5d} {len(sample['overdue']):7d} "
                  f"{sample['skips']:5d} {sample['misfires']:7d} {sample['articles']:8d} "
                  f"{sample['undecided']:5d} "
                  f"{sample['runs']:5d} {sample['sent']:6d} {sample['lru']:6d}", flush=True)
            warm = time.monotonic() - started >= 0.2 * (end - started)
            if args.tracemalloc and warm_snapshot is None and warm:
                warm_snapshot = tracemalloc.take_snapshot()
            if time.monotonic() >= end - 0.5:
                break
        if warm_snapshot is not None:
            growth = top_growth(warm_snapshot, tracemalloc.take_snapshot())
    finally:
        stop_started = time.monotonic()
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        if app.post_stop is not None:
            await app.post_stop(app)
        await app.shutdown()
        stop_seconds = time.monotonic() - stop_started
        feed_stats = json.loads(ask(feed_proc, "stats"))
        bot_stats = json.loads(ask(bot_proc, "stats"))
        final_db = db_figures(executor)
        executor.close()
        stop_server(feed_proc)
        stop_server(bot_proc)
        logging.getLogger().removeHandler(counter)
    return {
        "samples": samples, "stop_seconds": stop_seconds, "feed_server": feed_stats, "bot_api": bot_stats,
        "db": final_db, "deliveries": compare_deliveries(config.storage.path, sent_log),
        "integrity": integrity_ok(config.storage.path), "warnings": dict(counter.counts.most_common(12)),
        "growth": growth, "run_seconds": stop_started - started,
    }


def poll_rate(args: argparse.Namespace, result: dict[str, Any]) -> str:
    """Feed requests per feed per minute against the configured rate (60 / feed interval).
    Faulted requests back off (up to max_backoff), so with faults the measured rate is lower."""
    minutes = result["run_seconds"] / 60
    measured = result["feed_server"]["requests"] / args.feeds / minutes
    configured = 60 / args.feed_interval
    return (f"poll rate: {measured:.2f} fetches per feed per minute, configured {configured:.2f} "
            f"({100 * measured / configured:.0f} %; {result['feed_server']['faulted']} of "
            f"{result['feed_server']['requests']} requests faulted, those feeds back off)")


def top_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, n: int = 12) -> list[str]:
    """Where Python memory grew between two snapshots (by source line), largest first."""
    skip = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen *>"),
            tracemalloc.Filter(False, linecache.__file__)]   # source lines of logged tracebacks
    stats = after.filter_traces(skip).compare_to(before.filter_traces(skip), "lineno")
    return [f"{s.size_diff / 1024:+9.0f} KiB {s.count_diff:+7d} blocks  {s.traceback[0]}" for s in stats[:n]]


def lru_entries() -> int:
    """Entries held by newsbot's functools.lru_cache functions (they fill up before RSS can be flat)."""
    total = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith("bot.") or module is None:
            continue
        for value in list(vars(module).values()):
            info = getattr(value, "cache_info", None)
            if callable(info) and getattr(value, "__module__", "") == name:
                total += info().currsize
    return total


def take_sample(scheduler: Any, executor: DbExecutor, counter: LogCounter, sent_log: Path,
                started: float) -> dict[str, Any]:
    status = proc_status()
    workers = []
    for pid in worker_pids():
        with contextlib.suppress(OSError):          # exited between listing and reading
            workers.append(proc_status(pid)["rss_kb"])
    status["workers_rss_kb"] = sum(workers)
    status["workers"] = len(workers)
    jobs = job_report(scheduler, datetime.now(UTC))
    figures = db_figures(executor)
    sent = sum(1 for _ in sent_log.open()) if sent_log.exists() else 0
    return {
        "minute": (time.monotonic() - started) / 60, **status, "jobs": sum(jobs["kinds"].values()),
        "job_kinds": jobs["kinds"], "overdue": jobs["overdue"],
        "skips": counter.counts["max_instances skip"], "misfires": counter.counts["misfire"],
        "sent": sent, "lru": lru_entries(), **figures,
    }


def verdict(samples: list[dict[str, Any]], result: dict[str, Any]) -> tuple[bool, list[str]]:
    lines: list[str] = []
    ok = True
    steady = samples[max(1, len(samples) // 5):]
    if len(steady) < 3:
        return False, ["too few samples after warm-up (run longer or sample more often)"]
    third = max(1, len(steady) // 3)
    first, last = steady[:third], steady[-third:]
    rss_first = statistics.median(s["rss_kb"] for s in first) / 1024
    rss_last = statistics.median(s["rss_kb"] for s in last) / 1024
    growth = rss_last - rss_first
    flat = growth <= max(0.05 * rss_first, 3.0)
    ok &= flat
    lines.append(f"RSS median first third {rss_first:.1f} MB, last third {rss_last:.1f} MB "
                 f"({growth:+.1f} MB, {100 * growth / rss_first:+.1f} %): {'flat' if flat else 'GROWING'}")
    wrk_first = statistics.median(s["workers_rss_kb"] for s in first) / 1024
    wrk_last = statistics.median(s["workers_rss_kb"] for s in last) / 1024
    wrk_flat = wrk_last - wrk_first <= max(0.05 * wrk_first, 3.0)
    ok &= wrk_flat
    lines.append(f"parse workers' RSS (sum) median first third {wrk_first:.1f} MB, last third "
                 f"{wrk_last:.1f} MB: {'flat' if wrk_flat else 'GROWING'}")
    backlog = max(s["undecided"] for s in last)
    lines.append(f"dedup backlog (articles stored, not yet decided) at samples, last third: max {backlog}")
    for key in ("fds", "threads"):
        a, b = max(s[key] for s in first), max(s[key] for s in last)
        good = b <= a + 2
        ok &= good
        lines.append(f"{key}: max first third {a}, last third {b}: {'no growth' if good else 'GROWING'}")
    overdue = [o for s in steady for o in s["overdue"]]
    ok &= not overdue
    lines.append(f"jobs overdue after warm-up: {len(overdue)}" + (f" ({overdue[:3]})" if overdue else ""))
    skips_first = first[-1]["skips"] - steady[0]["skips"]
    skips_last = last[-1]["skips"] - last[0]["skips"]
    piling = skips_last > 2 * skips_first + 5
    ok &= not piling
    lines.append(f"max_instances skips: {samples[-1]['skips']} in all ({skips_first} in the first third, "
                 f"{skips_last} in the last): {'PILING UP' if piling else 'not piling up'}")
    d = result["deliveries"]
    good = d["duplicates"] == 0 and d["missing"] == 0 and d["chats_out_of_order"] == 0
    ok &= good
    lines.append(f"digest parts: {d['parts_expected']} journaled, {d['duplicates']} duplicates, "
                 f"{d['missing']} missing, states {d['part_states']}; {d['parts_received']} messages "
                 f"accepted in all, {d['unexpected']} of them command replies (not journaled)")
    ok &= result["integrity"] == "ok"
    lines.append(f"integrity_check: {result['integrity']}; clean stop in {result['stop_seconds']:.1f} s")
    return ok, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--sample", type=float, default=None, help="seconds between samples "
                        "(default: 30, or minutes*60/12 for short runs)")
    parser.add_argument("--feeds", type=int, default=40)
    parser.add_argument("--chats", type=int, default=6)
    parser.add_argument("--feed-interval", type=float, default=3.0, help="seconds between polls of a feed")
    parser.add_argument("--grow-every", type=float, default=20.0, help="seconds between new entries per feed")
    parser.add_argument("--feed-faults", type=float, default=0.1, help="share of feed requests faulted")
    parser.add_argument("--telegram-faults", type=float, default=0.1,
                        help="chance per second of arming a Bot API fault")
    parser.add_argument("--prefill", type=int, default=0,
                        help="articles of history decided before the measurement (0: start empty)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also report where Python memory grew after warm-up (slower)")
    args = parser.parse_args(argv)
    if args.tracemalloc:
        tracemalloc.start()
    if args.sample is None:
        args.sample = min(30.0, args.minutes * 60 / 12)
    work = Path(tempfile.mkdtemp(prefix="newsbot-soak-"))
    logging.basicConfig(
        filename=work / "newsbot.log", level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    os.environ["NEWSBOT_SOAK_TOKEN"] = TOKEN
    print(f"soak {args.minutes:g} min, work directory {work} (log: newsbot.log)", flush=True)
    result = asyncio.run(soak(args, work))
    samples = result["samples"]
    ok, lines = verdict(samples, result)
    print("\nfeed server:", result["feed_server"])
    print(poll_rate(args, result))
    print("fake Bot API:", result["bot_api"])
    print("database:", result["db"])
    print("delivery window (journal sent_at − server accept), ms:", result["deliveries"]["window_ms"])
    print("warnings logged:", result["warnings"])
    print("jobs at the end:", samples[-1]["job_kinds"] if samples else {})
    if result["growth"]:
        print("Python memory growth after warm-up (tracemalloc, by line):")
        for line in result["growth"]:
            print("  " + line)
    print()
    for line in lines:
        print(line)
    print("verdict:", "PASS" if ok else "FAIL")
    (work / "samples.json").write_text(json.dumps(samples, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
