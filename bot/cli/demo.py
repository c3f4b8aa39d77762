"""`newsbot demo`: the whole pipeline, offline, on the sample feeds shipped in the package
(``data/samples/`` in the repo, see :mod:`bot.cli.packaged`).

A static HTTP server on 127.0.0.1 serves the sample files, so the demo goes through the real
fetcher (conditional GET included), parser, tagger, store and dedup into a throw-away database,
then prints what was ingested, the story clusters, and the digest a new subscriber would get.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlite_utils import Database

from bot.cli.packaged import example_config_text, samples_dir
from bot.cli.reports import poll_table
from bot.config import Config, StorageConfig, parse_config
from bot.errors import NewsbotError
from bot.pipeline.dedup.report import format_cluster
from bot.pipeline.poll import poll_once
from bot.pipeline.store import DbExecutor
from bot.pipeline.store.clusters import cluster_tags, list_clusters

PLACEHOLDER = "http://127.0.0.1:0/"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve ``directory`` over HTTP on 127.0.0.1; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def demo_config(base_url: str, db_path: Path) -> Config:
    """The sample feeds' config, pointed at the local server, with the shipped tag taxonomy."""
    demo_toml = samples_dir() / "demo.toml"
    text = demo_toml.read_text(encoding="utf-8").replace(PLACEHOLDER, base_url)
    config = parse_config(text, demo_toml)
    taxonomy = parse_config(example_config_text(), db_path.parent / "config.example.toml")
    return dataclasses.replace(
        config, tags=taxonomy.tags, storage=StorageConfig(path=db_path, retention_days=3650)
    )


def run_demo(keep: str | None = None) -> int:
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="newsbot-demo-"))
    db_path = workdir / "demo.db"
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        db_path.unlink(missing_ok=True)
    except OSError as exc:
        raise NewsbotError(f"cannot keep the demo database in {workdir}: {exc.strerror or exc}") from None
    try:
        with serve_directory(samples_dir()) as base_url:
            config = demo_config(base_url, db_path)
            executor = DbExecutor(db_path)
            try:
                outcomes = asyncio.run(poll_once(config, executor))
                print("== Ingest: one poll of the bundled sample feeds ==")
                print(poll_table(outcomes))
                print()
                print(executor.call_sync(demo_report, config))
                print()
                print(executor.call_sync(digest_preview, config))
            finally:
                executor.close()
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if keep:
        print(f"\nDatabase kept at {db_path}")
    return 0


def demo_report(db: Database, config: Config) -> str:
    """Every cluster, largest first, as ``newsbot clusters`` prints it, with its tags."""
    lines = ["== Story clusters (largest first) =="]
    for c in list_clusters(db, since=0.0, min_sources=1, limit=1000):
        lines.extend(format_cluster(c, cluster_tags(db, c["id"])))
    return "\n".join(lines)


def digest_preview(db: Database, config: Config) -> str:
    """The digest a new subscriber (all tags, default times) would receive right after the poll."""
    from bot.pipeline.telegram.delivery import preview_new_subscriber

    header = "== The digest a new subscriber would receive (rendered for the terminal) =="
    return header + "\n" + preview_new_subscriber(db, config, time.time())
