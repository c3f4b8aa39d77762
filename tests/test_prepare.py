"""Parsing in worker processes: the same articles as in a thread, errors named, a dead worker
costs nothing but a retry, and the pool follows config reloads."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import load_config
from bot.errors import ParseError
from bot.models import FetchResult
from bot.pipeline.parse.prepare import Preparer, Stages, prepare_articles, shutdown_workers, worker_pids

from .helpers import rss, write_config

REAL = Path(__file__).parent / "data" / "feeds-real"


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> Stages:
    config = load_config(Path(__file__).resolve().parent.parent / "config.example.toml")
    return Stages.from_config(config)


def fetched(body: bytes, url: str = "https://www.bbc.co.uk/news/world/rss.xml") -> FetchResult:
    return FetchResult(url=url, status=200, body=body, final_url=url,
                       headers={"content-type": "application/rss+xml"})


def as_records(parsed) -> list[tuple]:
    return [(a.guid, a.title, a.link, a.summary, a.published_at, sorted(a.tags.items()))
            for a in parsed.articles]


async def test_workers_give_what_a_thread_gives(stages: Stages) -> None:
    feed = stages.config.feeds[0]
    for name in ("bbc-news-world-rss.xml", "lemonde-une-rss-2018.xml", "dw-english-all-rss1-rdf.xml"):
        result = fetched((REAL / name).read_bytes())
        in_thread = await Preparer(0).prepare(result, feed, stages, 1_790_000_000.0)
        in_worker = await Preparer(2).prepare(result, feed, stages, 1_790_000_000.0)
        assert as_records(in_worker) == as_records(in_thread)
        assert in_worker.title == in_thread.title and len(in_worker.articles) >= 10
    assert any(a.tags for a in in_worker.articles)        # the tagger ran in the worker


async def test_a_broken_body_is_a_parse_error_naming_the_feed(stages: Stages) -> None:
    feed = stages.config.feeds[0]
    with pytest.raises(ParseError) as err:
        await Preparer(2).prepare(fetched(b"<html><body>not a feed</body></html>", "https://x.example/f"),
                                  feed, stages, 0.0)
    assert err.value.url == "https://x.example/f"
    assert str(err.value) == "not a feed: got text/html"     # the worker's message, intact


async def test_workers_follow_new_tags(stages: Stages, tmp_path: Path) -> None:
    """After a reload the workers tag with the new taxonomy (the spec travels with each job)."""
    body = rss([("1", "Zanzibar votes on a new constitution")]).encode()
    feed = stages.config.feeds[0]
    before = await Preparer(2).prepare(fetched(body), feed, stages, 0.0)
    assert "zanzibar" not in before.articles[0].tags
    cfg = write_config(tmp_path, {"f": "https://x.example/f"},
                       extra='[tags.zanzibar]\nkeywords = ["Zanzibar"]\n')
    after = await Preparer(2).prepare(fetched(body), feed, Stages.from_config(load_config(cfg)), 0.0)
    assert after.articles[0].tags == {"zanzibar": "Zanzibar"}


def big_feed(entries: int) -> bytes:
    """Slow to parse (a second or so): many entries with long HTML summaries."""
    text = "<p>" + "Les dirigeants européens se retrouvent à Bruxelles pour le budget. " * 60 + "</p>"
    items = "".join(
        f"<item><title>Story {i} about the summit</title><link>https://n.example/{i}</link>"
        f"<guid>g{i}</guid><description><![CDATA[{text}]]></description></item>" for i in range(entries)
    )
    return f'<rss version="2.0"><channel><title>Big</title>{items}</channel></rss>'.encode()


async def test_a_killed_worker_costs_only_a_retry(stages: Stages) -> None:
    """SIGKILL every parse worker while they parse: each feed they held is parsed again in a
    process of its own, and the pool after that is a fresh one."""
    feed = replace(stages.config.feeds[0], tags=())
    preparer = Preparer(2)
    await preparer.prepare(fetched(rss([("w", "warm up")]).encode()), feed, stages, 0.0)   # pool up
    body = big_feed(1000)
    expected = len((await Preparer(0).prepare(fetched(body), feed, stages, 0.0)).articles)
    jobs = [asyncio.create_task(preparer.prepare(fetched(body), feed, stages, 0.0)) for _ in range(2)]
    await asyncio.sleep(0.3)                          # both workers are busy parsing now
    workers = worker_pids()
    assert workers and not any(job.done() for job in jobs)
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    results = await asyncio.gather(*jobs)
    assert not set(workers) & {p.pid for p in multiprocessing.active_children()}
    assert [len(r.articles) for r in results] == [expected, expected] and expected >= 1000
    again = await preparer.prepare(fetched(rss([("a", "after")]).encode()), feed, stages, 0.0)
    assert [a.title for a in again.articles] == ["after"]


def test_shutdown_workers_stops_the_processes(stages: Stages) -> None:
    asyncio.run(Preparer(2).prepare(fetched(rss([("s", "x")]).encode()), stages.config.feeds[0], stages, 0.0))
    workers = worker_pids()
    assert workers
    shutdown_workers()
    assert worker_pids() == []
    assert not set(workers) & {p.pid for p in multiprocessing.active_children()}


def test_prepare_articles_is_pure_and_direct(stages: Stages) -> None:
    parsed = prepare_articles(fetched(rss([("p", "NATO summit opens")]).encode()), stages.config.feeds[0],
                              stages.cleaner, stages.tagger, 0.0)
    assert "nato" in parsed.articles[0].tags


CHILD = """
import asyncio, os, sys
from pathlib import Path
from bot.config import load_config
from bot.models import FetchResult
from bot.pipeline.parse.prepare import Preparer, Stages, worker_pids

async def main():
    stages = Stages.from_config(load_config(Path(sys.argv[1])))
    result = FetchResult(url="https://x.example/", status=200, body=sys.argv[2].encode())
    await Preparer(2).prepare(result, stages.config.feeds[0], stages, 0.0)
    print(" ".join(map(str, worker_pids())), flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_workers_exit_when_the_bot_is_killed(tmp_path: Path) -> None:
    """SIGKILL gives the pool no chance to stop its workers: they notice and exit by themselves."""
    import subprocess
    import sys

    cfg = write_config(tmp_path, {"f": "https://x.example/f"})
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(cfg), rss([("k", "killed")])],
                             stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in child.stdout.readline().split()]
        assert pids                       # the pool starts workers as jobs need them
    finally:
        child.kill()
        child.wait()
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in _state(p)]
    assert alive == []


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except (OSError, IndexError):
        return "Z"
