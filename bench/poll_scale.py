"""One full poll cycle of many feeds over real HTTP, then a second cycle where all answer 304.

A feed server runs in a separate process (so it does not share the bot's GIL) on several
loopback addresses (127.0.0.2, 127.0.0.3, ...: Linux routes all of 127/8 to lo), like feeds
spread over many sites, and adds a fixed latency to every response. The bot side is the real
path of `bot.pipeline.poll.poll_once` (fetch → parse + tag in worker processes → store, then the
dedup backlog decided) into a real SQLite file, with the default polling settings; the poll
cycle and the dedup that follows are timed apart.

Run: .venv/bin/python bench/poll_scale.py [--feeds 1000] [--entries 50] [--latency 0.2] [--hosts 50]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import random
import resource
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import sentence, vocabulary  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.pipeline.fetch.fetcher import Fetcher  # noqa: E402
from bot.pipeline.parse.prepare import Stages  # noqa: E402
from bot.pipeline.poll import Pipeline  # noqa: E402
from bot.pipeline.store import DbExecutor  # noqa: E402


def feed_body(n: int, entries: int, rare: list[str]) -> bytes:
    rng = random.Random(n)
    base = datetime(2026, 11, 20, tzinfo=UTC)
    items = []
    for i in range(entries):
        date = format_datetime(base - timedelta(minutes=n % 600 + i * 5))
        items.append(
            f"<item><title>{sentence(rng, rare, rng.randint(6, 12)).capitalize()}</title>"
            f"<link>https://site{n}.example/a/{i}?utm_source=rss</link><guid>s{n}-{i}</guid>"
            f"<pubDate>{date}</pubDate><description><![CDATA[<p>{sentence(rng, rare, 50)}</p>]]>"
            "</description></item>"
        )
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Site {n}</title><link>https://site{n}.example/</link>"
            + "".join(items) + "</channel></rss>").encode()


def serve(hosts: list[str], port: int, feeds: int, entries: int, latency: float, ready) -> None:
    """The feed server process: aiohttp on every host, ETag → 304, fixed added latency."""
    from aiohttp import web

    rare = vocabulary(random.Random(7))
    bodies = {n: feed_body(n, entries, rare) for n in range(feeds)}
    etags = {n: '"' + hashlib.md5(b).hexdigest() + '"' for n, b in bodies.items()}

    async def handle(request: web.Request) -> web.Response:
        await asyncio.sleep(latency)
        n = int(request.match_info["n"])
        if request.headers.get("If-None-Match") == etags[n]:
            return web.Response(status=304, headers={"ETag": etags[n]})
        return web.Response(body=bodies[n], content_type="application/rss+xml",
                            headers={"ETag": etags[n]})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}.xml", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for host in hosts:
            await web.TCPSite(runner, host, port, backlog=2048).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def config_text(db: Path, urls: list[str]) -> str:
    feeds = "".join(f'[[feeds]]\nname = "feed {i}"\nurl = "{u}"\n' for i, u in enumerate(urls))
    return f'[storage]\npath = "{db}"\n{feeds}'


async def cycle(config, executor) -> tuple[float, float, list]:
    """What ``poll_once`` does, timed in two parts: every feed polled (fetched, parsed, tagged,
    stored), then the dedup backlog those articles left decided."""
    async with Fetcher(config.polling) as fetcher:
        pipeline = Pipeline(Stages.from_config(config), executor, fetcher)
        await pipeline.sync_feeds()
        started = time.perf_counter()
        outcomes = await pipeline.poll_many(config.feeds, force=True)
        polled = time.perf_counter() - started
    started = time.perf_counter()
    await pipeline.dedup.drain()
    return polled, time.perf_counter() - started, outcomes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--entries", type=int, default=50)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--hosts", type=int, default=50)
    args = ap.parse_args()
    hosts = [f"127.0.0.{2 + i}" for i in range(args.hosts)]
    port = free_port(hosts[0])
    ready = multiprocessing.Event()
    server = multiprocessing.Process(
        target=serve, args=(hosts, port, args.feeds, args.entries, args.latency, ready), daemon=True
    )
    server.start()
    if not ready.wait(120):
        raise SystemExit("feed server did not start")
    urls = [f"http://{hosts[i % len(hosts)]}:{port}/feed/{i}.xml" for i in range(args.feeds)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db_path = Path(tmp) / "scale.db"
            config = parse_config(config_text(db_path, urls), Path(tmp) / "config.toml")
            executor = DbExecutor(db_path)
            try:
                first, decide1, outcomes1 = asyncio.run(cycle(config, executor))
                second, _, outcomes2 = asyncio.run(cycle(config, executor))
            finally:
                executor.close()
            size = db_path.stat().st_size
    finally:
        server.terminate()
    new = sum(o.new for o in outcomes1)
    errors1 = [o for o in outcomes1 if o.status == "error"]
    not_modified = sum(o.status == "not-modified" for o in outcomes2)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"feeds: {args.feeds} × {args.entries} entries, {args.hosts} hosts, "
          f"{args.latency * 1000:.0f} ms added latency, concurrency {config.polling.concurrency} "
          f"({config.polling.per_host_concurrency} per host)")
    print(f"cycle 1 (full)  : {first:6.2f} s, {new} new articles stored, {len(errors1)} errors, "
          f"{new / first:.0f} articles/s ({config.polling.parse_processes} parse processes)")
    print(f"  then dedup    : {decide1:6.2f} s to decide them all ({new / decide1:.0f} articles/s); "
          f"all decided {first + decide1:.1f} s after the cycle started")
    if errors1:
        print("  first errors:", "; ".join(f"{o.feed}: {o.error}" for o in errors1[:3]))
    print(f"cycle 2 (304)   : {second:6.2f} s, {not_modified}/{args.feeds} not modified")
    print(f"peak RSS        : {peak_mb:.0f} MB; database {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
