"""Crash safety: SIGKILL the real newsbot process at random moments, restart it, check the damage.

Phase A (polling): a child process runs ``newsbot poll`` (the long-running poller) or, one time
in three, ``newsbot poll --once``, against a feed server in another process whose feeds gain
entries before every restart (ETags on, so a feed state recorded without its articles would
hide them behind 304s). The child is SIGKILLed at a random moment; after each kill
``PRAGMA integrity_check`` must say ok. At the end one clean ``newsbot poll --once``, then:
every entry the feed server ever served is in the database, none stored twice, every article
went through dedup (cluster assigned).

Phase B (multi-part digests): chats whose digests are several messages long; a child process
runs what ``newsbot run`` does at start-up and on schedule (``resume_pending``, then
``deliver_digest`` for every chat) with python-telegram-bot's real ExtBot and newsbot's rate
limiter, against the fake Bot API in another process that logs every message it accepts. New
stories are polled in before each restart. The child is SIGKILLed at random moments; at the end
one clean run, then: every journaled part reached its chat exactly once and in order.

The one window the journal cannot close: Telegram accepted a part, the process died before
``mark_part_sent`` committed. The part is sent again on resume (at-least-once; the alternative
is silently losing it). Its length is measured (time between the fake logging the message and
the journal's ``sent_at``) and every duplicate is reported.

Run: .venv/bin/python bench/crash_safety.py [--kills 30] [--phase a|b|both] [--seed N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import (  # noqa: E402
    PYTHON,
    ROOT,
    ask,
    compare_deliveries,
    integrity_ok,
    read_jsonl,
    start_server,
    stop_server,
)

NEWSBOT = [PYTHON, "-m", "bot"]
TOKEN = "123456:CRASH-safety"


# -- phase A: polling ----------------------------------------------------------------------------


def write_poll_config(path: Path, db: Path, port: int, feeds: int, extra: str = "") -> None:
    lines = [
        f'[storage]\npath = "{db}"\n',
        '[polling]\ninterval = "10s"\njitter = "0s"\ntimeout = "10s"\nconnect_timeout = "2s"\n'
        'concurrency = 20\n',
    ]
    for i in range(feeds):
        lines.append(f'[[feeds]]\nname = "feed{i}"\nurl = "http://127.0.0.1:{port}/feed/{i}.xml"\n')
    lines.append(extra)
    path.write_text("\n".join(lines), encoding="utf-8")


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def kill_child(proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL the child; False if it had already exited by itself."""
    if proc.poll() is not None:
        return False
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def phase_polling(work: Path, kills: int, rng: random.Random, feeds: int) -> dict[str, object]:
    feed_proc, port = start_server("feeds", work, "--feeds", str(feeds), "--grow", "5")
    db = work / "poll.db"
    config = work / "poll.toml"
    write_poll_config(config, db, port, feeds)
    log = open(work / "poll-child.log", "ab")  # noqa: SIM115
    done = integrity = exits = 0
    problems: list[str] = []
    lives: Counter[str] = Counter()
    active_kills = 0
    try:
        while done < kills:
            mode = "once" if rng.random() < 1 / 3 else "poll"
            lives[mode] += 1
            before = json.loads(ask(feed_proc, "stats"))["requests"]
            cmd = [*NEWSBOT, "--config", str(config), "poll"] + (["--once"] if mode == "once" else [])
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=log)
            if rng.random() < 0.2:                # anywhere, start-up and migrations included
                time.sleep(rng.uniform(0.05, 2.0))
            else:                                 # while feeds are being fetched and stored
                wait_for(lambda b=before: json.loads(ask(feed_proc, "stats"))["requests"] > b, 15)
                time.sleep(rng.uniform(0.0, 4.0 if mode == "poll" else 1.5))
            if kill_child(proc):
                done += 1
                if json.loads(ask(feed_proc, "stats"))["requests"] > before:
                    active_kills += 1
            else:
                exits += 1
                if proc.returncode != 0:
                    problems.append(f"poll --once exited with {proc.returncode}")
            if db.exists():
                verdict = integrity_ok(db)
                if verdict == "ok":
                    integrity += 1
                else:
                    problems.append(f"integrity_check after kill {done}: {verdict}")
            ask(feed_proc, "grow")
        final = subprocess.run([*NEWSBOT, "--config", str(config), "poll", "--once"], cwd=ROOT,
                               stdout=log, stderr=log)
        if final.returncode != 0:
            problems.append(f"final clean poll exited with {final.returncode}")
        served = {int(k): set(v) for k, v in json.loads(ask(feed_proc, "served")).items()}
    finally:
        stop_server(feed_proc)
        log.close()
    conn = sqlite3.connect(str(db))
    stored: dict[int, set[int]] = {i: set() for i in range(feeds)}
    for name, guid in conn.execute("SELECT f.name, a.guid FROM articles a JOIN feeds f ON f.id = a.feed_id"):
        feed, _, entry = guid.partition("-e")
        stored[int(name.removeprefix("feed"))].add(int(entry))
        assert guid.startswith("f") and int(feed[1:]) == int(name.removeprefix("feed"))
    twice = conn.execute(
        "SELECT COUNT(*) FROM (SELECT feed_id, guid FROM articles GROUP BY feed_id, guid HAVING COUNT(*) > 1)"
    ).fetchone()[0]
    unclustered = conn.execute("SELECT COUNT(*) FROM articles WHERE cluster_id IS NULL").fetchone()[0]
    feed_errors = conn.execute("SELECT COUNT(*) FROM feeds WHERE error_count > 0").fetchone()[0]
    conn.close()
    expected = sum(len(s) for s in served.values())
    missing = sum(len(served[i] - stored[i]) for i in served)
    found = sum(len(served[i] & stored[i]) for i in served)
    return {
        "kills": done, "kills_after_first_request": active_kills, "restarts": done + exits,
        "lives": dict(lives), "clean_exits": exits, "integrity_ok": integrity,
        "integrity_checks": done + exits, "articles_expected": expected, "articles_found": found,
        "articles_missing": missing, "stored_twice": twice, "without_cluster": unclustered,
        "feeds_with_errors": feed_errors, "problems": problems,
    }


def phase_fresh_start(work: Path, kills: int, rng: random.Random) -> dict[str, object]:
    """SIGKILL ``newsbot poll --once`` on a new database during start-up (schema creation,
    migrations, first writes), then start it again: it must come up and poll normally."""
    feed_proc, port = start_server("feeds", work, "--feeds", "5", "--grow", "5")
    log = open(work / "fresh-child.log", "ab")  # noqa: SIM115
    done = recovered = integrity = mid_migration = 0
    problems: list[str] = []
    final_migrations = _count_migrations()
    try:
        for i in range(kills):
            db = work / f"fresh{i}.db"
            config = work / "fresh.toml"
            write_poll_config(config, db, port, 5)
            cmd = [*NEWSBOT, "--config", str(config), "poll", "--once"]
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=log)
            deadline = time.monotonic() + 10          # the kill lands from the file's creation on,
            while not db.exists() and time.monotonic() < deadline:   # when migrations run (~3 ms)
                time.sleep(0.0002)
            time.sleep(rng.uniform(0.0, 0.008))
            if not kill_child(proc):
                continue
            done += 1
            applied = migrations_applied(db)
            if applied < final_migrations:
                mid_migration += 1
            if integrity_ok(db) == "ok":
                integrity += 1
            else:
                problems.append(f"integrity_check after start-up kill {i}: {integrity_ok(db)}")
            again = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=log)
            if again.returncode == 0:
                recovered += 1
            else:
                problems.append(f"restart after start-up kill {i} exited with {again.returncode}")
            for f in work.glob(f"fresh{i}.db*"):
                f.unlink()
    finally:
        stop_server(feed_proc)
        log.close()
    return {"kills": done, "kills_before_all_migrations_applied": mid_migration,
            "migrations": final_migrations, "integrity_ok": integrity, "restarts_ok": recovered,
            "problems": problems}


def migrations_applied(db: Path) -> int:
    conn = sqlite3.connect(str(db))
    try:
        return int(conn.execute("SELECT COUNT(*) FROM _sqlite_migrations").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def _count_migrations() -> int:
    from bot.pipeline.store.db import open_database

    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "m.db")
        db.conn.close()
        return migrations_applied(Path(tmp) / "m.db")


# -- phase B: multi-part digests -----------------------------------------------------------------


def delivery_child(config_path: str, chat_ids: list[int]) -> int:
    """What newsbot run does for digests: resume interrupted runs, then each chat's digest."""
    from telegram.ext import ExtBot

    from bot.config import load_config
    from bot.pipeline.store import DbExecutor
    from bot.pipeline.telegram.delivery import (
        DeliveryPolicy,
        deliver_digest,
        make_rate_limiter,
        resume_pending,
    )

    config = load_config(Path(config_path))
    policy = DeliveryPolicy(backoff_base=0.2)

    async def main() -> None:
        executor = DbExecutor(config.storage.path)
        bot = ExtBot(TOKEN, base_url=config.telegram.api_base_url, rate_limiter=make_rate_limiter())
        async with bot:
            resumed = await resume_pending(bot, executor, config, policy=policy)
            print(f"resumed {resumed}", flush=True)
            outcomes = await asyncio.gather(
                *(deliver_digest(bot, executor, config, c, policy=policy) for c in chat_ids)
            )
            for o in outcomes:
                print(f"chat {o.chat_id}: {o.status} parts={o.parts_sent} stories={o.stories}", flush=True)
        executor.close()

    asyncio.run(main())
    return 0


def poll_stories(config_path: Path) -> None:
    from bot.config import load_config
    from bot.pipeline.poll import poll_once
    from bot.pipeline.store import DbExecutor

    config = load_config(config_path)
    executor = DbExecutor(config.storage.path)
    try:
        outcomes = asyncio.run(poll_once(config, executor))
        bad = [o for o in outcomes if o.status == "error"]
        if bad:
            raise RuntimeError(f"poll failed: {bad[0].error}")
    finally:
        executor.close()


def seed_chats(db_path: Path, chat_ids: list[int]) -> None:
    from bot.pipeline.store import chats as chat_store
    from bot.pipeline.store.db import open_database

    db = open_database(db_path)
    now = time.time()
    for i, chat_id in enumerate(chat_ids):
        chat_store.upsert_chat(db, chat_id, type="private", title=f"chat {chat_id}",
                               language="fr" if i % 2 else "en", times=[], timezone="UTC", now=now)
    db.conn.close()


def kill_on_first_message(proc: subprocess.Popen[bytes], log_path: Path, size: int, timeout: float) -> None:
    """SIGKILL the child the moment the fake's log grows: aims at the window between Telegram
    accepting a part and the journal recording it (this parent reacts within ~1 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if log_path.exists() and log_path.stat().st_size > size:
            break
        time.sleep(0.0002)


def phase_digests(
    work: Path, kills: int, rng: random.Random, chats: int, targeted: bool = False
) -> dict[str, object]:
    log_path = work / "sent.jsonl"
    bot_proc, bot_port = start_server("botapi", work, "--log", str(log_path))
    feed_proc, feed_port = start_server("feeds", work, "--feeds", "12", "--grow", "3", "--title-words", "16")
    db = work / "digest.db"
    config = work / "digest.toml"
    write_poll_config(config, db, feed_port, 12, extra=(
        f'[telegram]\napi_base_url = "http://127.0.0.1:{bot_port}/bot"\n'
        '[digest]\nmax_stories = 100\nempty = "skip"\ntimezone = "UTC"\n'
    ))
    chat_ids = [900_000 + i for i in range(chats)]
    seed_chats(db, chat_ids)
    child_log = open(work / "digest-child.log", "ab")  # noqa: SIM115
    done = integrity = exits = sending_kills = 0
    problems: list[str] = []
    cmd = [PYTHON, str(Path(__file__).resolve()), "_deliver", str(config), ",".join(map(str, chat_ids))]
    try:
        while done < kills:
            ask(feed_proc, "grow")
            poll_stories(config)
            before = len(read_jsonl(log_path))
            size = log_path.stat().st_size if log_path.exists() else 0
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=child_log, stderr=child_log)
            if targeted:
                kill_on_first_message(proc, log_path, size, 20)
            elif rng.random() < 0.2:                # anywhere: start-up, planning, resuming
                time.sleep(rng.uniform(0.3, 3.0))
            else:                                 # while parts are going out
                wait_for(lambda b=before: len(read_jsonl(log_path)) > b, 20)
                time.sleep(rng.uniform(0.0, 3.0))
            if kill_child(proc):
                done += 1
                if len(read_jsonl(log_path)) > before:
                    sending_kills += 1
            else:
                exits += 1
                if proc.returncode != 0:
                    problems.append(f"delivery child exited with {proc.returncode}")
            verdict = integrity_ok(db)
            if verdict == "ok":
                integrity += 1
            else:
                problems.append(f"integrity_check after kill {done}: {verdict}")
        final = subprocess.run(cmd, cwd=ROOT, stdout=child_log, stderr=child_log, timeout=600)
        if final.returncode != 0:
            problems.append(f"final clean delivery exited with {final.returncode}")
        stats = json.loads(ask(bot_proc, "stats"))
    finally:
        stop_server(bot_proc)
        stop_server(feed_proc)
        child_log.close()
    result = compare_deliveries(db, log_path)
    return {"targeted_at_window": targeted, "kills": done, "kills_after_a_part_went_out": sending_kills,
            "restarts": done + exits, "clean_exits": exits, "integrity_ok": integrity,
            "integrity_checks": done + exits, **result, "fake_errors": stats["errors"], "problems": problems}


# -- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_deliver":
        return delivery_child(argv[1], [int(c) for c in argv[2].split(",")])
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=30, help="SIGKILLs per phase (default 30)")
    parser.add_argument("--phase", choices=("a", "b", "both", "start"), default="both",
                        help="a: polling, b: digests, start: kills during first start-up (not in both)")
    parser.add_argument("--feeds", type=int, default=40, help="feeds in phase A")
    parser.add_argument("--chats", type=int, default=8, help="chats in phase B")
    parser.add_argument("--target-window", action="store_true",
                        help="phase B: kill the instant a part is accepted (aims at the journal's window)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="newsbot-crash-"))
    print(f"seed {seed}, work directory {work}")
    ok = True
    if args.phase == "start":
        started = time.monotonic()
        m = phase_fresh_start(work, args.kills, rng)
        print(f"\n== start-up on a new database ({time.monotonic() - started:.0f} s)")
        _print(m)
        ok &= m["restarts_ok"] == m["kills"] == m["integrity_ok"] and not m["problems"]
    if args.phase in ("a", "both"):
        started = time.monotonic()
        a = phase_polling(work, args.kills, rng, args.feeds)
        print(f"\n== phase A: polling ({time.monotonic() - started:.0f} s)")
        _print(a)
        ok &= (a["articles_missing"] == 0 and a["stored_twice"] == 0 and a["without_cluster"] == 0
               and a["integrity_ok"] == a["integrity_checks"] and not a["problems"])
    if args.phase in ("b", "both"):
        started = time.monotonic()
        b = phase_digests(work, args.kills, rng, args.chats, args.target_window)
        print(f"\n== phase B: multi-part digests ({time.monotonic() - started:.0f} s)")
        _print(b)
        # Aimed at the window, duplicates are the expected (at-least-once) price: reported, not failed.
        ok &= ((args.target_window or b["duplicates"] == 0) and b["missing"] == 0
               and b["chats_out_of_order"] == 0 and b["unexpected"] == 0
               and b["integrity_ok"] == b["integrity_checks"] and not b["problems"])
    print("\nverdict:", "PASS" if ok else "FAIL")
    if not args.keep and ok:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


def _print(figures: dict[str, object]) -> None:
    for key, value in figures.items():
        print(f"  {key:28} {value}")


if __name__ == "__main__":
    sys.exit(main())
