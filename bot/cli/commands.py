"""The ``newsbot`` command line. Each command is a short call into the modules it names.

Every command exits non-zero with a one-line reason on bad input (a ``NewsbotError``), never
with a traceback for a user error.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Config, config_path, load_config, parse_duration
from bot.errors import ConfigError, NewsbotError
from bot.models import FeedPollOutcome

if TYPE_CHECKING:
    from bot.pipeline.store.lock import InstanceLock

Handler = Callable[[argparse.Namespace], int]


def _load(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    args.db_path = config.storage.path          # for main's one-line database errors
    return config


ONE_SHOT_WAIT = 600.0      # seconds a command waits for a one-shot writer (poll --once, retag) to finish


def _lock(config: Config, command: str) -> InstanceLock:
    """Before a command that writes: one newsbot per database (bot/pipeline/store/lock.py); a long-running
    one also refuses a damaged database (``PRAGMA quick_check``: seconds on a large file, so not
    for one-shot commands, which stop at the first damaged page they meet). Use as ``with``."""
    from bot.pipeline.store.db import check_database
    from bot.pipeline.store.lock import LONG_RUNNING, InstanceLock

    lock = InstanceLock(config.storage.path, command).acquire(
        ONE_SHOT_WAIT, notify=lambda line: print(f"newsbot: {line}", file=sys.stderr))
    try:
        if command in LONG_RUNNING:
            check_database(config.storage.path)
    except BaseException:
        lock.release()
        raise
    return lock


# -- commands ------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the config: print every problem (exit 1) or a short summary (exit 0)."""
    from bot.cli.reports import config_summary

    config = _load(args)
    print(config_summary(config))
    return 0




def _count(value: str) -> int:
    """An argparse type for --limit / --min-sources: a count, so never negative (SQLite reads
    ``LIMIT -1`` as "no limit", which is not what a typo of 1 should mean)."""
    number = _sqlite_int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative: give a count of 0 or more")
    return number


def _since(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return time.time() - parse_duration(value)
    except ValueError as exc:
        raise NewsbotError(f"--since: {exc}") from None


def _sqlite_int(value: str) -> int:
    """An argparse type: an integer SQLite can store (64-bit), so a mistyped id or count is a
    usage error rather than an OverflowError from the driver."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {value!r}") from None
    if not -(2**63) <= number < 2**63:
        raise argparse.ArgumentTypeError(f"{value} is out of range (too large for a 64-bit integer)")
    return number


def cmd_poll(args: argparse.Namespace) -> int:
    """Poll feeds: once now with --once (a per-feed table), else keep polling on schedule."""
    from bot.cli.progress import PollProgress, logs_above_bars
    from bot.cli.reports import poll_table
    from bot.pipeline.poll import poll_once
    from bot.pipeline.store import DbExecutor

    config = _load(args)
    if args.feed and not all(config.feed(name) for name in args.feed):
        unknown = [n for n in args.feed if not config.feed(n)]
        raise NewsbotError(f"no feed named {', '.join(map(repr, unknown))} in {config.path}")
    if not args.once:
        from bot.pipeline.schedule.service import run_poller

        with _lock(config, "poll"):
            return run_poller(config)
    with _lock(config, "poll --once"):
        executor = DbExecutor(config.storage.path)
        progress = PollProgress(len(args.feed) if args.feed else sum(f.enabled for f in config.feeds))
        try:
            with logs_above_bars(progress.tty):
                outcomes = asyncio.run(poll_once(
                    config, executor, feed_names=args.feed, progress=progress,
                    dedup_progress=progress.deciding,
                ))
        finally:
            executor.close()
            progress.done()
    print(poll_table(outcomes))
    storage = next((o.error for o in outcomes if o.storage), "")
    if storage:                                     # the feeds are fine, the database is not
        print(f"newsbot: {storage}", file=sys.stderr)
        return EXIT_STORAGE_FAILED
    return poll_status(outcomes)


# `newsbot poll --once` exit statuses, for cron and monitoring (README, `poll --help`).
EXIT_STORAGE_FAILED = 1      # the database failed (disk full, damaged, locked), not the feeds
EXIT_SOME_FEEDS_FAILED = 3
EXIT_ALL_FEEDS_FAILED = 4
POLL_EPILOG = (
    f"exit status of --once: 0 no feed failed, {EXIT_SOME_FEEDS_FAILED} some feeds failed, "
    f"{EXIT_ALL_FEEDS_FAILED} every feed failed, {EXIT_STORAGE_FAILED} bad config or arguments, "
    "or the database could not be written (disk full, damaged, locked)"
)


def poll_status(outcomes: list[FeedPollOutcome]) -> int:
    """0 when no feed failed, else which share did (see POLL_EPILOG)."""
    failed = sum(o.status == "error" for o in outcomes)
    if not failed:
        return 0
    return EXIT_ALL_FEEDS_FAILED if failed == len(outcomes) else EXIT_SOME_FEEDS_FAILED


def cmd_feeds(args: argparse.Namespace) -> int:
    """Per-feed polling state."""
    from bot.cli.reports import feeds_table
    from bot.pipeline.store import open_database
    from bot.pipeline.store.db import open_snapshot
    from bot.pipeline.store.feeds import all_feed_states
    from bot.pipeline.store.health import disk_full

    config = _load(args)
    full = disk_full(config.storage.path) or ""
    db = open_snapshot(config.storage.path) if full else open_database(config.storage.path)
    states = all_feed_states(db)
    if not states:
        print("no feed polled yet (run: newsbot poll --once)")
        return 0
    print(feeds_table(states, time.time(), full))
    return 0


def cmd_feeds_import(args: argparse.Namespace) -> int:
    """Add the feeds of an OPML file to the config (validated, written atomically)."""
    from bot.config.edit import add_feeds, plan_additions
    from bot.config.feedlist import opml_new_feeds, report_lines
    from bot.config.opml import read_opml

    config = _load(args)
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise NewsbotError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    opml = read_opml(data)
    feeds, unmatched = opml_new_feeds(opml, config)
    report = plan_additions(config, feeds) if args.dry_run else add_feeds(config.path, feeds)
    print("\n".join(report_lines(report, opml, unmatched, written=not args.dry_run)))
    return 0


def cmd_feeds_export(args: argparse.Namespace) -> int:
    """Print (or write) the configured feeds as OPML 2.0."""
    from bot.config.opml import write_opml

    text = write_opml(_load(args).feeds, now=time.time())
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise NewsbotError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
    return 0


def cmd_feeds_add(args: argparse.Namespace) -> int:
    """Check that a URL is (or its page advertises) a feed, then add it to the config."""
    from bot.config.edit import add_feeds, configured_as
    from bot.config.feedlist import find_feed, new_feed, parse_tags
    from bot.pipeline.parse.normalize import Cleaner

    config = _load(args)
    tags = parse_tags(args.tags)
    if (known := configured_as(config, args.url)) is not None:
        raise NewsbotError(f"not added: already configured as {known!r}")
    found = asyncio.run(find_feed(args.url, config.polling, Cleaner(config.cleaning.extra_boilerplate)))
    feed = new_feed(found, args.name, tags)
    report = add_feeds(config.path, [feed])
    if report.skipped:
        raise NewsbotError(f"not added: {report.skipped[0][1]}")
    where = f" (found on {found.page_url})" if found.page_url else ""
    print(f"added: {feed.name} <{feed.url}>{where}: {found.format}, {found.entries} entries now"
          + (f", tags: {', '.join(tags)}" if tags else ""))
    return 0


def cmd_feeds_remove(args: argparse.Namespace) -> int:
    """Remove a feed from the config; its stored articles stay until retention."""
    from bot.config.edit import remove_feed

    config = _load(args)
    print(f"removed: {remove_feed(config.path, args.name)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """One record per stored article, as JSON lines or CSV."""
    from bot.cli.reports import EXPORT_FIELDS, csv_row, export_records
    from bot.pipeline.store import open_database

    config = _load(args)
    db = open_database(config.storage.path)
    records = export_records(db, _since(args.since))
    if args.format == "jsonl":
        for record in records:
            print(json.dumps(record, ensure_ascii=False))
    else:
        writer = csv.DictWriter(sys.stdout, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        for record in records:
            writer.writerow(csv_row(record))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The whole pipeline, offline, on the bundled sample feeds, into a throw-away database."""
    from bot.cli.demo import run_demo

    return run_demo(keep=args.keep)


def cmd_init(args: argparse.Namespace) -> int:
    """Write the documented example config as a starting point; never over an existing file."""
    from bot.cli.packaged import write_example_config

    path = config_path(args.path or args.config)
    write_example_config(path)
    option = "" if path == config_path(None) else f" --config {path}"
    print(f"wrote {path}: the documented example config. Edit its feeds, tags and [telegram], then:\n"
          f"  newsbot{option} check")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """A consistent copy of the database, safe to take while newsbot runs."""
    from pathlib import Path

    from bot.pipeline.store.backup import backup_database

    config = _load(args)
    result = backup_database(config.storage.path, Path(args.path), force=args.force)
    print(f"backup of {config.storage.path} written to {result.path}: {result.size / 1e6:.1f} MB, "
          f"{result.articles} articles, integrity ok ({result.seconds:.1f} s)")
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    """Ask the running newsbot's /healthz (``[metrics] listen``): print its line, exit 0 if healthy."""
    from bot.observe.server import ask_health

    healthy, line = ask_health(_load(args).metrics)
    print(line)
    return 0 if healthy else 1


def cmd_tags(args: argparse.Namespace) -> int:
    """Configured tags with the articles stored (fetched) over the last 24 h and 7 days."""
    from bot.pipeline.store import open_database
    from bot.pipeline.tagging.report import tags_table
    from bot.pipeline.tagging.retag import tag_counts

    config = _load(args)
    db = open_database(config.storage.path)
    print(tags_table(config.tags, tag_counts(db, time.time()), config.telegram.language))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """Each stored tag of one article with the text that matched (and what the config says now)."""
    from bot.pipeline.store import open_database
    from bot.pipeline.tagging import Tagger
    from bot.pipeline.tagging.report import explanation_text
    from bot.pipeline.tagging.retag import explain_article

    config = _load(args)
    db = open_database(config.storage.path)
    feed_tags = {f.name: f.tags for f in config.feeds}
    explanation = explain_article(db, args.article_id, Tagger.from_config(config.tags), feed_tags)
    if explanation is None:
        raise NewsbotError(f"no article with id {args.article_id} in {config.storage.path}")
    print(explanation_text(explanation))
    return 0


def cmd_retag(args: argparse.Namespace) -> int:
    """Re-tag stored articles of a recent window with the tags in the current config."""
    from bot.cli.progress import CountProgress, logs_above_bars
    from bot.pipeline.store import open_database
    from bot.pipeline.tagging import Tagger
    from bot.pipeline.tagging.retag import retag_articles

    config = _load(args)
    since = _since(args.since or "30d") or 0.0
    with _lock(config, "retag"):
        db = open_database(config.storage.path)
        feed_tags = {f.name: f.tags for f in config.feeds}
        progress = CountProgress("re-tagging", "articles")
        try:
            with logs_above_bars(progress.tty):
                changed = retag_articles(db, Tagger.from_config(config.tags), since, time.time(),
                                         feed_tags, progress=progress)
        finally:
            progress.done()
    print(f"re-tagged articles of the last {args.since}: {changed} changed")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run everything: feed polling, digests and the Telegram bot, until Ctrl-C / SIGTERM."""
    from bot.pipeline.telegram.app import run_bot

    config = _load(args)
    with _lock(config, "run"):
        return run_bot(config)


def cmd_digest(args: argparse.Namespace) -> int:
    """Print the digest a chat would receive now (--dry-run: nothing is sent or recorded)."""
    from bot.pipeline.store import open_database
    from bot.pipeline.telegram.delivery import build_dry_run

    if not args.dry_run:
        raise NewsbotError("only --dry-run is supported here; digests are sent by `newsbot run` or /digest")
    config = _load(args)
    print(build_dry_run(open_database(config.storage.path), config, args.chat, time.time()), end="")
    return 0


def cmd_clusters(args: argparse.Namespace) -> int:
    """Story clusters that appeared or grew in the window, largest first."""
    from bot.pipeline.dedup.report import format_clusters
    from bot.pipeline.store import open_database
    from bot.pipeline.store.clusters import list_clusters

    if args.explain is not None:
        return _explain_cluster(args)
    if args.min_sources < 1:
        raise NewsbotError("--min-sources must be at least 1")
    config = _load(args)
    db = open_database(config.storage.path)
    print(format_clusters(list_clusters(db, _since(args.since) or 0.0, args.min_sources, args.limit)))
    return 0


def _explain_cluster(args: argparse.Namespace) -> int:
    """``newsbot clusters --explain ID``: each article, the story it was compared with, the
    features and the score that decided it."""
    from bot.pipeline.dedup.explain import format_explain
    from bot.pipeline.store import open_database
    from bot.pipeline.store.clusters import cluster_decisions, get_cluster

    db = open_database(_load(args).storage.path)
    cluster = get_cluster(db, args.explain)
    if cluster is None:
        raise NewsbotError(f"no cluster {args.explain}")
    print(format_explain(cluster, cluster_decisions(db, args.explain)))
    return 0


def cmd_subscribers(args: argparse.Namespace) -> int:
    """Chats with their state, tags, times and delivery journal."""
    from bot.pipeline.store import open_database
    from bot.pipeline.store.deliveries import subscriber_report
    from bot.pipeline.telegram.report import subscribers_table

    config = _load(args)
    print(subscribers_table(subscriber_report(open_database(config.storage.path))))
    return 0


# -- parser --------------------------------------------------------------------------------------


def _version() -> str:
    """The installed package's version (pyproject.toml), else the source tree's."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsbot")
    except PackageNotFoundError:
        return "0.1.0 (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="Poll news feeds, fold copies of one story, tag it, send Telegram digests.",
    )
    parser.add_argument(
        "--config", metavar="PATH",
        help="config file (default: $NEWSBOT_CONFIG, else ./config.toml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.add_argument("--version", action="version", version=f"newsbot {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(
        name: str, handler: Handler, help_text: str, epilog: str | None = None
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=epilog)
        p.set_defaults(handler=handler)
        return p

    add("check", cmd_check, "validate the config file and summarise it")
    p = add("init", cmd_init, "write a starter config.toml (the documented example); never overwrites")
    p.add_argument("path", nargs="?", metavar="PATH",
                   help="where to write it (default: --config, $NEWSBOT_CONFIG, else ./config.toml)")
    add("run", cmd_run, "poll feeds, send digests and answer Telegram commands (needs the bot token)")
    p = add("poll", cmd_poll, "poll the feeds (--once: now, then print a per-feed table)", POLL_EPILOG)
    p.add_argument("--once", action="store_true", help="poll every enabled feed once now and exit")
    p.add_argument("--feed", action="append", metavar="NAME", help="only this feed (repeatable)")
    p = add("feeds", cmd_feeds, "per-feed state (no ACTION), or change the feed list: "
            "import, export, add, remove")
    actions = p.add_subparsers(dest="feeds_action", metavar="ACTION")

    def action(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        a = actions.add_parser(name, help=help_text, description=help_text)
        a.set_defaults(handler=handler)
        return a

    a = action("import", cmd_feeds_import, "add the feeds of an OPML file to the config")
    a.add_argument("file", metavar="FILE.opml")
    a.add_argument("--dry-run", action="store_true", help="print what would be added; change nothing")
    a = action("export", cmd_feeds_export, "print the configured feeds as OPML 2.0")
    a.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    a = action("add", cmd_feeds_add, "check a feed (or a page advertising one) and add it to the config")
    a.add_argument("url", metavar="URL")
    a.add_argument("--name", metavar="NAME", help="feed name (default: the feed's own title)")
    a.add_argument("--tags", metavar="a,b", help="tag ids added to every article of this feed")
    a = action("remove", cmd_feeds_remove, "remove a feed from the config")
    a.add_argument("name", metavar="NAME")
    p = add("export", cmd_export, "print stored articles as JSON lines or CSV")
    p.add_argument("--since", metavar="DURATION", help="only articles fetched in this window (24h, 7d)")
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl",
                   help="jsonl (default: every value verbatim) or csv, where a cell starting with "
                        "= + - @, a tab or a CR gets a leading ' so no spreadsheet runs it as a formula")
    p = add("demo", cmd_demo, "run the whole pipeline offline on the bundled sample feeds")
    p.add_argument("--keep", metavar="DIR", help="keep the demo database in DIR")
    add("tags", cmd_tags, "configured tags with the articles stored over the last 24 h and 7 days")
    p = add("explain", cmd_explain, "print each tag of one article with the text that matched")
    p.add_argument("article_id", type=_sqlite_int, metavar="ARTICLE_ID")
    p = add("retag", cmd_retag, "re-tag stored articles with the tags of the current config")
    p.add_argument("--since", metavar="DURATION", default="30d", help="window to re-tag (default 30d)")
    p = add("digest", cmd_digest, "print the digest a chat would receive now (with --dry-run)")
    p.add_argument("--chat", type=_sqlite_int, required=True, metavar="ID",
                   help="chat id, see: newsbot subscribers")
    p.add_argument("--dry-run", action="store_true", help="print it as text; send and record nothing")
    add("subscribers", cmd_subscribers, "list subscribed chats with their state, tags and times")
    add("health", cmd_health, "ask the running newsbot's /healthz ([metrics] listen): exit 0 if healthy")
    p = add("backup", cmd_backup, "copy the database to PATH while newsbot runs (checked, atomic)")
    p.add_argument("path", metavar="PATH", help="the backup file to write")
    p.add_argument("--force", action="store_true", help="replace PATH if it exists")
    p = add("clusters", cmd_clusters,
            "story clusters, largest first: id, title, counts, first seen, sources, article ids")
    p.add_argument("--since", metavar="DURATION", default="24h", help="appeared or grew in this window")
    p.add_argument("--min-sources", type=_count, default=1, metavar="N",
                   help="at least N distinct sources")
    p.add_argument("--limit", type=_count, default=30, metavar="N",
                   help="at most N clusters (default 30)")
    p.add_argument("--explain", type=_sqlite_int, metavar="ID",
                   help="for each article of cluster ID: the story it was compared with, the features "
                        "and the score that decided it")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.handler(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except NewsbotError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:
        # A damaged, full or locked database met mid-command (`export` half printed): one line.
        from bot.pipeline.store.health import as_storage_error

        error = as_storage_error(exc, getattr(args, "db_path", "the database"))
        if error is None:
            raise
        print(f"newsbot: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `newsbot export | head`: the reader went away; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
