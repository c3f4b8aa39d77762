"""Fetcher against a real HTTP server on 127.0.0.1 (tests/feedserver.py): no mocks."""

from __future__ import annotations

import asyncio
import gzip
import socket
import zlib
from email.utils import formatdate

import pytest

from bot.config.models import PollingConfig
from bot.errors import FetchError
from bot.pipeline.fetch.fetcher import Fetcher, parse_retry_after
from tests.feedserver import FeedServer

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
FAST = PollingConfig(timeout=0.3, connect_timeout=0.3, max_bytes=64 * 1024,
                     user_agent="newsbot-test/1.0 (+https://example.org/bot)")


async def fetch(url: str, polling: PollingConfig = FAST, **kwargs: str | None):
    async with Fetcher(polling) as fetcher:
        return await fetcher.fetch(url, **kwargs)


async def fetch_error(url: str, polling: PollingConfig = FAST, **kwargs: str | None) -> FetchError:
    with pytest.raises(FetchError) as info:
        await fetch(url, polling, **kwargs)
    assert info.value.url == url
    return info.value


# -- success, headers, conditional GET ----------------------------------------------------------


async def test_ok_returns_body_headers_and_sends_user_agent_and_accept(feed_server: FeedServer):
    feed_server.route("/feed.xml", RSS, etag='"abc"', last_modified="Wed, 23 Oct 2024 07:00:00 GMT")
    result = await fetch(feed_server.url("/feed.xml"))
    assert result.status == 200 and result.body == RSS and not result.not_modified
    assert result.etag == '"abc"' and result.last_modified == "Wed, 23 Oct 2024 07:00:00 GMT"
    assert result.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert result.final_url == feed_server.url("/feed.xml") and result.permanent_url is None
    assert result.elapsed > 0
    sent = feed_server.last_headers("/feed.xml")
    assert sent["User-Agent"] == FAST.user_agent
    assert "application/rss+xml" in sent["Accept"] and "application/atom+xml" in sent["Accept"]
    assert "gzip" in sent["Accept-Encoding"]
    assert "If-None-Match" not in sent and "If-Modified-Since" not in sent


async def test_etag_gives_304_on_second_fetch(feed_server: FeedServer):
    feed_server.route("/feed.xml", RSS, etag='"v1"')
    async with Fetcher(FAST) as fetcher:
        first = await fetcher.fetch(feed_server.url("/feed.xml"))
        second = await fetcher.fetch(feed_server.url("/feed.xml"), etag=first.etag)
    assert second.status == 304 and second.not_modified and second.body == b""
    assert second.etag == '"v1"'
    assert feed_server.last_headers("/feed.xml")["If-None-Match"] == '"v1"'
    # the feed changes: a new ETag, the old one no longer matches
    feed_server.route("/feed.xml", RSS + b"<!-- new -->", etag='"v2"')
    third = await fetch(feed_server.url("/feed.xml"), etag='"v1"')
    assert third.status == 200 and third.etag == '"v2"'


async def test_last_modified_gives_304_and_keeps_validators(feed_server: FeedServer):
    stamp = "Wed, 23 Oct 2024 07:00:00 GMT"
    feed_server.route("/feed.xml", RSS, last_modified=stamp)
    first = await fetch(feed_server.url("/feed.xml"))
    second = await fetch(feed_server.url("/feed.xml"), last_modified=first.last_modified, etag=None)
    assert second.not_modified and second.last_modified == stamp
    assert feed_server.last_headers("/feed.xml")["If-Modified-Since"] == stamp
    assert feed_server.hits("/feed.xml") == 2


async def test_gzip_and_deflate_bodies_are_decoded(feed_server: FeedServer):
    big = RSS.replace(b"<title>T</title>", b"<title>" + b"x" * 20000 + b"</title>")
    feed_server.route("/gz", big, gzip=True)
    feed_server.route("/deflate", zlib.compress(big), headers={"Content-Encoding": "deflate"})
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_body = raw.compress(big) + raw.flush()
    feed_server.route("/raw-deflate", raw_body, headers={"Content-Encoding": "deflate"})
    for path in ("/gz", "/deflate", "/raw-deflate"):
        assert (await fetch(feed_server.url(path))).body == big, path


async def test_corrupt_gzip_is_a_clear_error(feed_server: FeedServer):
    feed_server.route("/bad.gz", b"\x1f\x8b\x08\x00garbage-not-gzip", headers={"Content-Encoding": "gzip"})
    error = await fetch_error(feed_server.url("/bad.gz"))
    assert "cannot decode gzip body" in str(error)


# -- time limits ----------------------------------------------------------------------------------


async def test_response_slower_than_timeout(feed_server: FeedServer):
    feed_server.route("/slow", RSS, delay=3)
    error = await fetch_error(feed_server.url("/slow"))
    assert str(error) == "timed out after 0.3s"


async def test_hanging_server_times_out(feed_server: FeedServer):
    feed_server.hang("/hang")
    error = await fetch_error(feed_server.url("/hang"))
    assert "timed out after 0.3s" in str(error)


async def test_drip_server_hits_total_deadline_not_read_timeout(feed_server: FeedServer):
    # 20 bytes/s: every read returns well within the read timeout, only the deadline stops it
    feed_server.drip("/drip", RSS * 10, bytes_per_second=20)
    polling = PollingConfig(timeout=0.4, connect_timeout=0.3, max_bytes=64 * 1024)
    error = await fetch_error(feed_server.url("/drip"), polling)
    assert str(error) == "timed out after 0.4s"


async def test_drip_that_finishes_in_time_is_fine(feed_server: FeedServer):
    feed_server.drip("/drip", RSS, bytes_per_second=2000)
    assert (await fetch(feed_server.url("/drip"))).body == RSS


# -- size limits ----------------------------------------------------------------------------------


async def test_body_over_max_bytes_by_content_length(feed_server: FeedServer):
    feed_server.route("/big", b"x" * (FAST.max_bytes + 1))
    error = await fetch_error(feed_server.url("/big"))
    assert str(error).startswith(f"response larger than {FAST.max_bytes} bytes")


async def test_body_over_max_bytes_without_content_length_is_cut_while_streaming(feed_server: FeedServer):
    feed_server.route("/big", b"x" * (FAST.max_bytes * 4), chunked=True)
    error = await fetch_error(feed_server.url("/big"))
    assert str(error) == f"response larger than {FAST.max_bytes} bytes"


async def test_gzip_bomb_is_stopped_by_the_decoded_size_cap(feed_server: FeedServer):
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024), compresslevel=9)   # ~50 KB that inflate to 50 MB
    assert len(bomb) < FAST.max_bytes
    feed_server.route("/bomb", bomb, headers={"Content-Encoding": "gzip"}, chunked=True)
    error = await fetch_error(feed_server.url("/bomb"))
    assert str(error) == f"response larger than {FAST.max_bytes} bytes once decompressed"


async def test_empty_200_is_an_error(feed_server: FeedServer):
    feed_server.route("/empty", b"")
    error = await fetch_error(feed_server.url("/empty"))
    assert str(error) == "empty response" and error.status == 200


# -- redirects ------------------------------------------------------------------------------------


async def test_permanent_redirect_is_followed_and_reported(feed_server: FeedServer):
    feed_server.route("/new.xml", RSS)
    feed_server.redirect("/old.xml", "/new.xml", status=301)
    result = await fetch(feed_server.url("/old.xml"))
    assert result.body == RSS
    assert result.url == feed_server.url("/old.xml")
    assert result.final_url == feed_server.url("/new.xml")
    assert result.permanent_url == feed_server.url("/new.xml")


async def test_temporary_redirect_is_not_remembered(feed_server: FeedServer):
    feed_server.route("/new.xml", RSS)
    feed_server.redirect("/tmp.xml", "/new.xml", status=302)
    feed_server.redirect("/perm-then-tmp.xml", "/tmp.xml", status=308)
    result = await fetch(feed_server.url("/tmp.xml"))
    assert result.final_url == feed_server.url("/new.xml") and result.permanent_url is None
    chained = await fetch(feed_server.url("/perm-then-tmp.xml"))
    assert chained.permanent_url == feed_server.url("/tmp.xml")   # only the permanent hop counts


async def test_redirect_loop_is_named(feed_server: FeedServer):
    feed_server.redirect("/a", "/b")
    feed_server.redirect("/b", "/a")
    error = await fetch_error(feed_server.url("/a"))
    a, b = feed_server.url("/a"), feed_server.url("/b")
    assert str(error) == f"too many redirects (loop: {a} → {b} → {a})"
    assert feed_server.hits("/a") == 1 and feed_server.hits("/b") == 1


async def test_more_than_five_redirects(feed_server: FeedServer):
    for i in range(6):
        feed_server.redirect(f"/r{i}", f"/r{i + 1}", status=302)
    feed_server.route("/r6", RSS)
    feed_server.route("/ok5", RSS)
    error = await fetch_error(feed_server.url("/r0"))
    assert str(error).startswith("too many redirects (more than 5")
    # exactly five hops is still fine
    assert (await fetch(feed_server.url("/r1"))).body == RSS


async def test_redirect_to_non_http_scheme_is_refused(feed_server: FeedServer):
    feed_server.redirect("/evil", "file:///etc/passwd")
    error = await fetch_error(feed_server.url("/evil"))
    assert "unsupported URL 'file:///etc/passwd'" in str(error)


# -- HTTP errors ----------------------------------------------------------------------------------


async def test_404_and_500_then_recovery(feed_server: FeedServer):
    url = feed_server.url("/feed.xml")
    error = await fetch_error(url)                     # no route yet: the server's 404
    assert str(error) == "HTTP 404 Not Found" and error.status == 404 and error.retry_after is None
    feed_server.route("/feed.xml", "<h1>oops</h1>", status=500, content_type="text/html")
    error = await fetch_error(url)
    assert str(error) == "HTTP 500 Internal Server Error" and error.status == 500
    feed_server.route("/feed.xml", RSS)                # the site is fixed
    assert (await fetch(url)).body == RSS


async def test_429_with_retry_after_seconds(feed_server: FeedServer):
    feed_server.route("/feed.xml", "slow down", status=429, headers={"Retry-After": "120"})
    error = await fetch_error(feed_server.url("/feed.xml"))
    assert str(error) == "HTTP 429 Too Many Requests"
    assert error.status == 429 and error.retry_after == 120.0


async def test_503_with_retry_after_http_date(feed_server: FeedServer):
    import time

    when = formatdate(time.time() + 3600, usegmt=True)
    feed_server.route("/feed.xml", "maintenance", status=503, headers={"Retry-After": when})
    error = await fetch_error(feed_server.url("/feed.xml"))
    assert error.status == 503 and error.retry_after is not None
    assert 3500 < error.retry_after <= 3600


def test_parse_retry_after_forms():
    assert parse_retry_after("30", 0.0) == 30.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 0.0) == 100.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 1000.0) == 0.0   # in the past
    assert parse_retry_after("soon", 0.0) is None
    assert parse_retry_after(None, 0.0) is None


# -- network failures -----------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_connection_refused():
    url = f"http://127.0.0.1:{_closed_port()}/feed.xml"
    error = await fetch_error(url)
    assert str(error).startswith("connection refused")


async def test_unresolvable_host():
    url = "http://no-such-host.invalid/feed.xml"      # .invalid never resolves (RFC 2606)
    error = await fetch_error(url)
    assert str(error) in ("cannot resolve host no-such-host.invalid", "timed out after 0.3s")


async def test_server_closing_the_connection(feed_server: FeedServer):
    feed_server.reset("/reset")
    error = await fetch_error(feed_server.url("/reset"))
    assert str(error).startswith("server broke the connection")


async def test_non_http_url_is_refused_without_a_request():
    error = await fetch_error("ftp://example.org/feed.xml")
    assert "only http and https" in str(error)


async def test_using_a_closed_fetcher_is_a_programming_error():
    fetcher = Fetcher(FAST)
    with pytest.raises(RuntimeError):
        await fetcher.fetch("http://127.0.0.1/")


# -- concurrency ----------------------------------------------------------------------------------


async def test_per_host_concurrency_is_limited(feed_server: FeedServer):
    feed_server.route("/slow", RSS, delay=0.1)
    polling = PollingConfig(timeout=5, connect_timeout=1, concurrency=10, per_host_concurrency=2)
    async with Fetcher(polling) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(feed_server.url(f"/slow?n={i}")) for i in range(6)))
    assert all(r.body == RSS for r in results)
    assert feed_server.max_in_flight == 2


async def test_global_concurrency_spans_hosts(feed_server: FeedServer):
    feed_server.route("/slow", RSS, delay=0.1)
    polling = PollingConfig(timeout=5, connect_timeout=1, concurrency=1, per_host_concurrency=4)
    local = feed_server.url("/slow")
    other_host = local.replace("127.0.0.1", "localhost")   # a second host name, same server
    async with Fetcher(polling) as fetcher:
        await asyncio.gather(*(fetcher.fetch(u) for u in (local, other_host, local, other_host)))
    assert feed_server.max_in_flight == 1


async def test_one_hanging_feed_does_not_block_others(feed_server: FeedServer):
    feed_server.hang("/hang")
    feed_server.route("/ok", RSS)
    # a generous deadline so the quick fetch surely finishes first, even on a loaded machine
    polling = PollingConfig(timeout=1.0, connect_timeout=1.0, concurrency=4, per_host_concurrency=4)
    async with Fetcher(polling) as fetcher:
        hanging = asyncio.ensure_future(fetcher.fetch(feed_server.url("/hang")))
        ok = await fetcher.fetch(feed_server.url("/ok"))
        assert ok.body == RSS and not hanging.done()
        with pytest.raises(FetchError):
            await hanging


async def test_routes_can_be_replaced_while_running_from_sync_code():
    with FeedServer() as server:
        server.route("/f", "one")
        import httpx

        assert httpx.get(server.url("/f")).text == "one"
        server.route("/f", "two")
        assert httpx.get(server.url("/f")).text == "two"
        assert server.hits("/f") == 2
